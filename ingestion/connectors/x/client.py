"""The X API v2 recent-search call and its page envelope.

``GET {base_url}/2/tweets/search/recent`` with ``Authorization: Bearer <token>`` and the query
parameters ``query``, ``max_results`` (10..100), ``since_id``, ``next_token``, ``tweet.fields``,
``expansions=author_id`` and ``user.fields``. The answer::

    {"data": [<tweet>...], "includes": {"users": [<user>...]},
     "meta": {"result_count": 2, "newest_id": "...", "oldest_id": "...", "next_token": "..."},
     "errors": [...]}                       # partial errors, e.g. an author that is suspended

``data``/``includes`` are absent when ``result_count`` is 0; ``next_token`` is absent on the last
page. Rate limits come as ``x-rate-limit-limit/remaining/reset`` (reset in epoch seconds) and 429.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from ingestion.connectors.base import GetJson, RateLimitInfo
from ingestion.connectors.wire import WireModel, malformed_page, parse_envelope

SEARCH_PATH = "/2/tweets/search/recent"
TWEET_FIELDS = "created_at,public_metrics,lang,author_id,conversation_id,entities,referenced_tweets"
USER_FIELDS = "username,name,verified,public_metrics"


class Meta(WireModel):
    result_count: int = Field(ge=0)
    newest_id: str | None = None
    oldest_id: str | None = None
    next_token: str | None = None


class Includes(WireModel):
    users: list[Any] = []


class SearchEnvelope(WireModel):
    data: list[Any] = []
    includes: Includes = Includes()
    meta: Meta
    errors: list[Any] = []


@dataclass(frozen=True)
class SearchResult:
    envelope: SearchEnvelope
    rate_limit: RateLimitInfo | None


class XClient:
    def __init__(self, get_json: GetJson, *, base_url: str, bearer_token: str) -> None:
        self._get_json = get_json
        self._url = base_url + SEARCH_PATH
        self._headers = {"Authorization": f"Bearer {bearer_token}"}

    def search_recent(
        self, *, query: str, max_results: int, since_id: str | None, next_token: str | None
    ) -> SearchResult:
        params: dict[str, str | int] = {
            "query": query,
            "max_results": max_results,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        if next_token:
            params["next_token"] = next_token
        response = self._get_json(self._url, params=params, headers=self._headers)
        envelope = parse_envelope(SearchEnvelope, response, api="X recent search")
        if envelope.meta.result_count > 0 and not envelope.data:
            raise malformed_page(
                f"X recent search reported {envelope.meta.result_count} results but sent no data", response
            )
        return SearchResult(envelope=envelope, rate_limit=response.rate_limit)
