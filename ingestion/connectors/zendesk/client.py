"""Zendesk Support calls: the cursor-based incremental ticket export and ticket comments.

Export::

    GET {base_url}/api/v2/incremental/tickets/cursor.json?start_time=<epoch s>&per_page=100
    GET {base_url}/api/v2/incremental/tickets/cursor.json?cursor=<after_cursor>&per_page=100

(both with ``exclude_deleted=true``)

    {"tickets": [<ticket>...], "after_cursor": "MTU3NjYxMzUzOS4wfHw0Njd8", "after_url": "...",
     "before_cursor": null, "before_url": null, "end_of_stream": false}

``end_of_stream`` is true once the export has caught up with the present; its ``after_cursor`` is
where the next pull resumes. Comments::

    GET {base_url}/api/v2/tickets/{id}/comments.json?include=users
    {"comments": [<comment>...], "users": [<user>...], "next_page": null | "<url>", "count": 3}

Authentication: HTTP Basic ``{email}/token:{api_token}``, or ``Authorization: Bearer <oauth token>``.
Rate limits: 429 with ``Retry-After`` (seconds). A ``next_page`` on another host than ``base_url``
is refused (it would receive our credentials).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ingestion.connectors.base import GetJson, RateLimitInfo
from ingestion.connectors.errors import MalformedPageError
from ingestion.connectors.wire import WireModel, malformed_page, parse_envelope

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
COMMENTS_PATH = "/api/v2/tickets/{id}/comments.json"
MAX_COMMENT_PAGES = 50  # 5,000 comments at Zendesk's 100 a page: beyond that it is not a conversation


class ExportEnvelope(WireModel):
    tickets: list[Any]
    after_cursor: str | None = None
    after_url: str | None = None
    end_of_stream: bool


class CommentsEnvelope(WireModel):
    comments: list[Any]
    users: list[Any] = []
    next_page: str | None = None


@dataclass(frozen=True)
class ExportResult:
    envelope: ExportEnvelope
    rate_limit: RateLimitInfo | None


@dataclass(frozen=True)
class Conversation:
    comments: list[Any]
    users: list[Any]


class ZendeskClient:
    def __init__(
        self,
        get_json: GetJson,
        *,
        base_url: str,
        auth: tuple[str, str] | None,
        headers: dict[str, str],
    ) -> None:
        self._get_json = get_json
        self._base_url = base_url
        self._origin = urlsplit(base_url)[:2]
        self._auth = auth
        self._headers = headers

    def export_tickets(self, *, cursor: str | None, start_time: int, per_page: int) -> ExportResult:
        params: dict[str, str | int] = {"per_page": per_page, "exclude_deleted": "true"}
        if cursor:
            params["cursor"] = cursor
        else:
            params["start_time"] = start_time
        response = self._get_json(
            self._base_url + EXPORT_PATH, params=params, headers=self._headers, auth=self._auth
        )
        envelope = parse_envelope(ExportEnvelope, response, api="Zendesk ticket export")
        if not envelope.end_of_stream and not envelope.after_cursor:
            raise malformed_page(
                "Zendesk ticket export says more follows but gives no after_cursor", response
            )
        return ExportResult(envelope=envelope, rate_limit=response.rate_limit)

    def conversation(self, ticket_id: int) -> Conversation:
        """All comments of a ticket with their side-loaded authors, following ``next_page``."""
        url: str | None = self._base_url + COMMENTS_PATH.format(id=ticket_id)
        params: dict[str, str | int] | None = {"include": "users"}
        comments: list[Any] = []
        users: list[Any] = []
        for _ in range(MAX_COMMENT_PAGES):
            if url is None:
                break
            response = self._get_json(url, params=params, headers=self._headers, auth=self._auth)
            envelope = parse_envelope(
                CommentsEnvelope, response, api=f"Zendesk comments of ticket {ticket_id}"
            )
            comments.extend(envelope.comments)
            users.extend(envelope.users)
            url, params = envelope.next_page, None  # next_page carries its own query string
            if url is not None and urlsplit(url)[:2] != self._origin:
                raise malformed_page(
                    f"Zendesk comments of ticket {ticket_id} point to another host for their next page",
                    response,
                )
        else:
            if url is not None:
                raise MalformedPageError(
                    f"Zendesk comments of ticket {ticket_id} run past {MAX_COMMENT_PAGES} pages", url=url
                )
        return Conversation(comments=comments, users=users)
