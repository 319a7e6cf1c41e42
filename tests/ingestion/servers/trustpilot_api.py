"""A fake Trustpilot-style business-unit reviews API (the wire format documented in
``ingestion.connectors.trustpilot.client``): ``apikey`` header, ``page``/``perPage``/``orderBy``/
``startDateTime`` (inclusive), ``links`` with ``next-page``; Apigee-style 401 for a bad key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.ingestion.servers.harness import FakeApi, Request, Response

API_KEY = "test-api-key"
BUSINESS_UNIT = "46d6a890000064000500e0c3"


def make_review(
    review_id: str, *, day: int, stars: int = 4, title: str = "Good", text: str = "Works well."
) -> dict[str, Any]:
    created = datetime(2026, 10, 1, 9, 0, tzinfo=UTC) + timedelta(days=day)
    return {
        "links": [
            {"href": f"https://api.trustpilot.com/v1/reviews/{review_id}", "method": "GET", "rel": "reviews"}
        ],
        "id": review_id,
        "consumer": {
            "id": f"c-{review_id}",
            "displayName": f"Reviewer {review_id}",
            "displayLocation": "Leeds, GB",
        },
        "stars": stars,
        "title": title,
        "text": text,
        "language": "en",
        "createdAt": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updatedAt": None,
        "isVerified": True,
        "numberOfLikes": 1,
        "status": "active",
        "companyReply": None,
    }


class TrustpilotApi(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.reviews: list[Any] = []

    @property
    def path(self) -> str:
        return f"/v1/business-units/{BUSINESS_UNIT}/reviews"

    def handle(self, request: Request) -> Response:
        if request.headers.get("apikey") != API_KEY:
            fault = {
                "fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}
            }
            return Response.json(fault, 401)
        if request.path != self.path:
            return Response.json({"message": "Business unit not found", "errorCode": 404}, 404)
        q = request.query
        try:
            page = int(q.get("page", "1"))
            per_page = int(q.get("perPage", "20"))
            start = datetime.fromisoformat(q["startDateTime"]) if "startDateTime" in q else None
        except ValueError:
            return Response.json({"message": "Invalid parameter", "errorCode": 400}, 400)
        if (
            page < 1
            or not 1 <= per_page <= 100
            or q.get("orderBy", "createdat.desc")
            not in {
                "createdat.asc",
                "createdat.desc",
            }
        ):
            return Response.json({"message": "Invalid parameter", "errorCode": 400}, 400)

        def created(review: Any) -> str:
            return review.get("createdAt") or "" if isinstance(review, dict) else ""

        chosen = [
            r
            for r in self.reviews
            if start is None or not created(r) or created(r) >= start.strftime("%Y-%m-%dT%H:%M:%SZ")
        ]
        chosen.sort(key=lambda r: (created(r), str(r.get("id")) if isinstance(r, dict) else ""))
        if q.get("orderBy") == "createdat.desc":
            chosen.reverse()
        window = chosen[(page - 1) * per_page : page * per_page]
        links = []
        base = {k: v for k, v in q.items() if k != "page"}
        if page * per_page < len(chosen):
            href = f"{self.base_url}{self.path}?{urlencode({**base, 'page': page + 1})}"
            links.append({"href": href, "method": "GET", "rel": "next-page"})
        if page > 1:
            href = f"{self.base_url}{self.path}?{urlencode({**base, 'page': page - 1})}"
            links.append({"href": href, "method": "GET", "rel": "prev-page"})
        return Response.json({"reviews": window, "links": links}, 200, {"ratelimit-remaining": "99"})
