"""A fake App Store customer-reviews feed (``/{country}/rss/customerreviews/page=N/id=APP/
sortby=mostrecent/json``) in Apple's JSON layout: labels everywhere, 50 reviews a page newest first,
pages 1..10 (another page number is a 400, as Apple answers), a single review as an object, and the
app's own entry first on page 1 as the older layout has it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.ingestion.servers.harness import FakeApi, Request, Response

APP_ID = "284882215"
NEWEST = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_PATH = re.compile(r"^/([a-z]{2})/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$")
PER_PAGE = 50


def make_review(
    n: int, text: str, *, rating: int = 4, hours_ago: int = 0, version: str = "3.2.1"
) -> dict[str, Any]:
    moment = (NEWEST - timedelta(hours=hours_ago)).astimezone(UTC).isoformat().replace("+00:00", "-00:00")
    return {
        "author": {
            "uri": {"label": f"https://itunes.apple.com/us/reviews/id{n}"},
            "name": {"label": f"user{n}"},
            "label": "",
        },
        "updated": {"label": moment},
        "im:rating": {"label": str(rating)},
        "im:version": {"label": version},
        "id": {"label": str(10_000_000 + n)},
        "title": {"label": f"Review {n}"},
        "content": {"label": text, "attributes": {"type": "text"}},
        "link": {
            "attributes": {
                "rel": "related",
                "href": f"https://itunes.apple.com/us/review?id={APP_ID}&type=Purple%20Software",
            }
        },
        "im:voteSum": {"label": "1"},
        "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
        "im:voteCount": {"label": "2"},
    }


class AppStoreApi(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.reviews: dict[str, list[Any]] = {"us": []}  # per country, newest first

    def handle(self, request: Request) -> Response:
        match = _PATH.match(request.path)
        if match is None or match.group(3) != APP_ID:
            return Response.raw("<html>Not Found</html>", 404, {"Content-Type": "text/html"})
        country, page = match.group(1), int(match.group(2))
        if not 1 <= page <= 10:
            return Response.json({"error": "CustomerReviews RSS page depth is limited to 10"}, 400)
        window = self.reviews.get(country, [])[(page - 1) * PER_PAGE : page * PER_PAGE]
        feed: dict[str, Any] = {
            "author": {"name": {"label": "iTunes Store"}, "uri": {"label": "http://www.apple.com/itunes/"}},
            "updated": {"label": "2026-11-20T04:00:00-07:00"},
            "id": {
                "label": f"https://itunes.apple.com/{country}/rss/customerreviews/page={page}/id={APP_ID}/json"
            },
            "link": [
                {"attributes": {"rel": "alternate", "type": "text/html", "href": "https://itunes.apple.com/"}}
            ],
        }
        if window:
            entries = list(window)
            if page == 1:
                entries.insert(0, {"im:name": {"label": "Acme"}, "id": {"label": APP_ID}})
            feed["entry"] = entries[0] if len(entries) == 1 else entries
        return Response.json({"feed": feed}, 200, {"Content-Type": "text/javascript; charset=utf-8"})
