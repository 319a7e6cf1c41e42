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
from ingestion.connectors.wire import WireModel, malformed_page, parse_envelope

TOKEN_PATH = "/api/v1/access_token"  # noqa: S105 (a path, not a secret)


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
    """``token`` is ``Connector.access_token`` bound to the app's grant: asked once per pull."""

    def __init__(self, get_json: GetJson, token: Callable[[], str], *, base_url: str) -> None:
        self._get_json = get_json
        self._token = token
        self._base_url = base_url

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
        headers = {"Authorization": f"bearer {self._token()}"}
        response = self._get_json(f"{self._base_url}{prefix}/{what}", params=params, headers=headers)
        envelope = parse_envelope(Listing, response, api="Reddit listing")
        if envelope.data.dist is not None and envelope.data.dist > 0 and not envelope.data.children:
            raise malformed_page(
                f"Reddit listing reported {envelope.data.dist} items but sent none", response
            )
        return ListingResult(listing=envelope.data, rate_limit=response.rate_limit)
