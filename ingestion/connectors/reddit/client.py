"""Reddit's OAuth API: the application-only token and the listing calls, and their envelopes.

Token (https://github.com/reddit-archive/reddit/wiki/OAuth2, "Application Only OAuth")::

    POST {auth_url}/api/v1/access_token      HTTP Basic client_id:client_secret
         grant_type=client_credentials
    -> {"access_token": "...", "token_type": "bearer", "expires_in": 86400, "scope": "*"}

A refused client answers 401; some refusals come as 200 with ``{"error": "invalid_grant"}``.

Listings, with ``Authorization: bearer <token>`` and a descriptive ``User-Agent`` (Reddit throttles
generic ones)::

    GET {base_url}/r/{subreddit}/new?limit=100&after=t3_x&raw_json=1        posts, newest first
    GET {base_url}/r/{subreddit}/comments?limit=100&after=t1_y&raw_json=1   comments, newest first
    GET {base_url}/search?q=...&sort=new&limit=100&after=...&raw_json=1      (or /r/{sub}/search
                                                                            with restrict_sr=1)
    -> {"kind": "Listing", "data": {"after": "t3_..." | null, "before": null, "dist": 25,
                                    "children": [{"kind": "t3" | "t1", "data": {...}}, ...]}}

``raw_json=1`` turns off Reddit's legacy HTML escaping of ``&``, ``<``, ``>`` in text. Rate limits
come as ``X-Ratelimit-Used``, ``X-Ratelimit-Remaining`` (may be fractional) and
``X-Ratelimit-Reset`` (seconds until the window resets); past them Reddit answers 429.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from ingestion.connectors.base import GetJson, RateLimitInfo
from ingestion.connectors.errors import ConnectorAuthError
from ingestion.connectors.wire import WireModel, malformed_page, parse_envelope

TOKEN_PATH = "/api/v1/access_token"  # noqa: S105 (a path, not a secret)


class TokenAnswer(WireModel):
    access_token: str | None = None
    token_type: str = "bearer"  # noqa: S105
    expires_in: int | None = None
    error: str | None = None


class ListingData(WireModel):
    after: str | None = None
    before: str | None = None
    dist: int | None = Field(default=None, ge=0)
    children: list[Any]


class Listing(WireModel):
    kind: Literal["Listing"]
    data: ListingData


@dataclass(frozen=True)
class ListingResult:
    listing: ListingData
    rate_limit: RateLimitInfo | None


class RedditClient:
    """One per pull: the token is asked for once, on the first listing call."""

    def __init__(
        self,
        get_json: GetJson,
        post_form: GetJson,
        *,
        base_url: str,
        auth_url: str,
        client_id: str,
        client_secret: str,
        refused: Callable[[int, str], ConnectorAuthError],
    ) -> None:
        self._get_json = get_json
        self._post_form = post_form
        self._base_url = base_url
        self._auth_url = auth_url
        self._client = (client_id, client_secret)
        self._refused = refused  # Connector.auth_error
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            response = self._post_form(
                self._auth_url + TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=self._client
            )
            answer = parse_envelope(TokenAnswer, response, api="Reddit's token endpoint")
            if answer.error or not answer.access_token:
                raise self._refused(response.status, answer.error or "no access_token")
            self._token = answer.access_token
        return self._token

    def listing(
        self,
        *,
        subreddit: str | None,
        what: Literal["new", "comments", "search"],
        query: str | None,
        limit: int,
        after: str | None,
    ) -> ListingResult:
        prefix = f"/r/{quote(subreddit, safe='')}" if subreddit else ""
        params: dict[str, str | int] = {"limit": limit, "raw_json": 1}
        if what == "search":
            params.update({"q": query or "", "sort": "new", "type": "link"})
            if subreddit:
                params["restrict_sr"] = 1
        if after:
            params["after"] = after
        headers = {"Authorization": f"bearer {self.token()}"}
        response = self._get_json(f"{self._base_url}{prefix}/{what}", params=params, headers=headers)
        envelope = parse_envelope(Listing, response, api="Reddit listing")
        if envelope.data.dist is not None and envelope.data.dist > 0 and not envelope.data.children:
            raise malformed_page(
                f"Reddit listing reported {envelope.data.dist} items but sent none", response
            )
        return ListingResult(listing=envelope.data, rate_limit=response.rate_limit)
