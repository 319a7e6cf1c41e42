"""A fake Zendesk Support API: the cursor-based incremental ticket export and ticket comments with
side-loaded users, in Zendesk's wire format.

Tickets are exported in (updated_at, id) order; a cursor is an opaque token for the last position
given, ``after_cursor`` is returned on every page (also the last, to resume from later) and
``end_of_stream`` tells when the export has caught up. Comments are paged ``comments_per_page`` at
a time with an absolute ``next_page`` URL. Auth: Basic ``{email}/token:{token}`` or Bearer OAuth.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.ingestion.servers.harness import FakeApi, Request, Response

EMAIL = "ops@acme.test"
API_TOKEN = "test-zendesk-token"
OAUTH_TOKEN = "test-oauth-token"
EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
BASE_TS = 1_790_000_000  # 2026-09-21


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZendeskApi(FakeApi):
    def __init__(self, *, comments_per_page: int = 100) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.raw_tickets: list[tuple[int, int, Any]] = []  # (updated_ts, id, object) for malformed ones
        self.comments: dict[int, list[Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.comments_per_page = comments_per_page
        self._next_comment_id = 1000

    def add_user(self, user_id: int, name: str, role: str, locale: str = "en-US") -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": name,
            "role": role,
            "locale": locale,
            "email": f"u{user_id}@x.test",
        }

    def add_ticket(
        self, ticket_id: int, *, requester_id: int, subject: str, at: int, assignee_id: int | None = None
    ) -> None:
        self.tickets[ticket_id] = {
            "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
            "id": ticket_id,
            "subject": subject,
            "description": "",
            "status": "open",
            "priority": "normal",
            "type": "question",
            "requester_id": requester_id,
            "submitter_id": requester_id,
            "assignee_id": assignee_id,
            "created_at": _iso(BASE_TS + at),
            "updated_at": _iso(BASE_TS + at),
            "generated_timestamp": BASE_TS + at,
            "tags": ["demo"],
            "via": {"channel": "email", "source": {}},
            "satisfaction_rating": None,
        }
        self.comments[ticket_id] = []

    def add_comment(self, ticket_id: int, author_id: int, body: str, *, at: int, public: bool = True) -> None:
        """Adds a comment and, as Zendesk does, bumps the ticket's update time (it is exported again)."""
        self._next_comment_id += 1
        self.comments[ticket_id].append(
            {
                "id": self._next_comment_id,
                "type": "Comment",
                "author_id": author_id,
                "body": body,
                "html_body": f"<p>{body}</p>",
                "plain_body": body,
                "public": public,
                "created_at": _iso(BASE_TS + at),
                "via": {"channel": "email"},
                "attachments": [],
            }
        )
        ticket = self.tickets[ticket_id]
        if ticket["description"] == "":
            ticket["description"] = body
        if BASE_TS + at > ticket["generated_timestamp"]:
            ticket["updated_at"] = _iso(BASE_TS + at)
            ticket["generated_timestamp"] = BASE_TS + at

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header == f"Bearer {OAUTH_TOKEN}":
            return True
        expected = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
        return header == f"Basic {expected}"

    def handle(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response.json({"error": "Couldn't authenticate you"}, 401)
        if request.path == EXPORT_PATH:
            return self._export(request.query)
        prefix, suffix = "/api/v2/tickets/", "/comments.json"
        if request.path.startswith(prefix) and request.path.endswith(suffix):
            ticket_id = request.path[len(prefix) : -len(suffix)]
            if ticket_id.isdigit() and int(ticket_id) in self.comments:
                return self._comments(int(ticket_id), request.query)
        return Response.json({"error": "RecordNotFound", "description": "Not found"}, 404)

    def _export(self, query: dict[str, str]) -> Response:
        per_page = int(query.get("per_page", "1000"))
        rows = sorted(
            [(t["generated_timestamp"], t["id"], t) for t in self.tickets.values()]
            + [(ts, tid, obj) for ts, tid, obj in self.raw_tickets],
            key=lambda row: (row[0], row[1]),
        )
        if "cursor" in query:
            position = _decode_cursor(query["cursor"])
            if position is None:
                return Response.json(
                    {"error": "InvalidPaginationParameter", "description": "invalid cursor"}, 400
                )
            rows = [row for row in rows if (row[0], row[1]) > position]
        elif "start_time" in query and query["start_time"].isdigit():
            rows = [row for row in rows if row[0] >= int(query["start_time"])]
            position = (int(query["start_time"]) - 1, 0)
        else:
            return Response.json(
                {"error": "InvalidValue", "description": "start_time or cursor is required"}, 400
            )
        window = rows[:per_page]
        if window:
            position = (window[-1][0], window[-1][1])
        after = _encode_cursor(position)
        body = {
            "tickets": [row[2] for row in window],
            "after_cursor": after,
            "after_url": f"{self.base_url}{EXPORT_PATH}?{urlencode({'cursor': after})}",
            "before_cursor": None,
            "before_url": None,
            "end_of_stream": len(rows) <= per_page,
        }
        return Response.json(body, 200, {"x-rate-limit": "10", "x-rate-limit-remaining": "9"})

    def _comments(self, ticket_id: int, query: dict[str, str]) -> Response:
        page = int(query.get("page", "1"))
        everything = self.comments[ticket_id]
        window = everything[(page - 1) * self.comments_per_page : page * self.comments_per_page]
        body: dict[str, Any] = {
            "comments": window,
            "next_page": None,
            "previous_page": None,
            "count": len(everything),
        }
        if page * self.comments_per_page < len(everything):
            params = {"page": page + 1, **({"include": query["include"]} if "include" in query else {})}
            body["next_page"] = (
                f"{self.base_url}/api/v2/tickets/{ticket_id}/comments.json?{urlencode(params)}"
            )
        if query.get("include") == "users":
            authors = {c.get("author_id") for c in window if isinstance(c, dict)}
            body["users"] = [self.users[a] for a in sorted(a for a in authors if a in self.users)]
        return Response.json(body)


def _encode_cursor(position: tuple[int, int]) -> str:
    return base64.b64encode(f"{position[0]}.0||{position[1]}|".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        ts, _, rest = base64.b64decode(cursor, validate=True).decode().partition("||")
        return int(float(ts)), int(rest.rstrip("|"))
    except ValueError:
        return None
