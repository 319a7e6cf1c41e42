"""The reviews call of a Trustpilot-style business-units API, and its page envelope.

Request::

    GET {base_url}/v1/business-units/{business_unit_id}/reviews
        ?page=1&perPage=100&orderBy=createdat.asc[&startDateTime=2024-05-01T00:00:00Z][&language=en]
    apikey: <api key>

``page`` counts from 1; ``perPage`` is 1..100; ``startDateTime`` is inclusive. Answer::

    {"reviews": [<review>...],
     "links": [{"href": "...?page=2&perPage=100", "method": "GET", "rel": "next-page"}, ...]}

A ``next-page`` link means more pages follow; its absence marks the last one. (The link is read for
its presence only: the next request is built from our own base URL, so a response can never send
the API key to another host.) Errors: 401/403 for a bad key, 404 for an unknown business unit,
429 with ``Retry-After`` when rate limited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ingestion.connectors.base import GetJson, RateLimitInfo
from ingestion.connectors.wire import WireModel, parse_envelope


class Link(WireModel):
    href: str = ""
    method: str = "GET"
    rel: str


class ReviewsEnvelope(WireModel):
    reviews: list[Any]
    links: list[Link] = []

    @property
    def has_next_page(self) -> bool:
        return any(link.rel == "next-page" for link in self.links)


@dataclass(frozen=True)
class ReviewsResult:
    envelope: ReviewsEnvelope
    rate_limit: RateLimitInfo | None


class TrustpilotClient:
    def __init__(self, get_json: GetJson, *, base_url: str, business_unit_id: str, api_key: str) -> None:
        self._get_json = get_json
        self._url = f"{base_url}/v1/business-units/{quote(business_unit_id, safe='')}/reviews"
        self._headers = {"apikey": api_key}

    def reviews(
        self, *, page: int, per_page: int, start: datetime | None, language: str | None
    ) -> ReviewsResult:
        params: dict[str, str | int] = {"page": page, "perPage": per_page, "orderBy": "createdat.asc"}
        if start is not None:
            params["startDateTime"] = start.isoformat().replace("+00:00", "Z")
        if language:
            params["language"] = language
        response = self._get_json(self._url, params=params, headers=self._headers)
        envelope = parse_envelope(ReviewsEnvelope, response, api="the reviews API")
        return ReviewsResult(envelope=envelope, rate_limit=response.rate_limit)
