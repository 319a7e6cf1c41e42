"""The App Store customer-reviews feed call and its envelope.

Request (public, no key)::

    GET {base_url}/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json

``page`` is 1..10 (Apple serves at most 10 pages of 50 reviews, newest first). Answer::

    {"feed": {"id": {"label": "..."}, "updated": {"label": "2026-11-20T04:00:00-07:00"},
              "link": [{"attributes": {"rel": "alternate" | "first" | "last" | "next" ..., "href": ...}}],
              "entry": [<review>...] | <review>}}        # one review comes as an object, not a list

A page past the last has no ``entry``. Apple sends no rate-limit headers; it answers 429 or 403
when pushed too hard (403 here is not a credentials problem: the feed has none), and 400/404 for an
unknown app or country.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ingestion.connectors.base import GetJson, RateLimitInfo
from ingestion.connectors.wire import WireModel, parse_envelope

MAX_PAGE = 10


class Feed(WireModel):
    entry: list[Any] | dict[str, Any] = []


class FeedEnvelope(WireModel):
    feed: Feed


@dataclass(frozen=True)
class ReviewsPage:
    entries: list[Any]
    rate_limit: RateLimitInfo | None


class AppStoreClient:
    def __init__(self, get_json: GetJson, *, base_url: str, app_id: str, country: str) -> None:
        self._get_json = get_json
        self._base = f"{base_url}/{quote(country, safe='')}/rss/customerreviews"
        self._app_id = quote(app_id, safe="")

    def reviews(self, page: int) -> ReviewsPage:
        url = f"{self._base}/page={page}/id={self._app_id}/sortby=mostrecent/json"
        response = self._get_json(url)
        envelope = parse_envelope(FeedEnvelope, response, api="the App Store reviews feed")
        entry = envelope.feed.entry
        entries = [entry] if isinstance(entry, dict) else list(entry)
        return ReviewsPage(entries=entries, rate_limit=response.rate_limit)
