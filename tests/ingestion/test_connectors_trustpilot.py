"""Reviews connector end to end against a local server speaking the Trustpilot-style wire format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ingestion.connectors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorPermanentError,
    ConnectorTransientError,
    ItemKind,
    MalformedPageError,
)
from ingestion.connectors.trustpilot import TrustpilotReviewsConnector
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.support import FakeClock, drain, make_http
from tests.ingestion.servers.trustpilot_api import API_KEY, BUSINESS_UNIT, TrustpilotApi, make_review


@pytest.fixture
def reviews_api() -> Iterator[TrustpilotApi]:
    api = TrustpilotApi()
    api.reviews.extend(make_review(f"r{n:02d}", day=n, stars=1 + n % 5) for n in range(12))
    with serve(api) as running:
        yield running


def connector(api: TrustpilotApi, clock: FakeClock, **config: object) -> TrustpilotReviewsConnector:
    settings = {"business_unit_id": BUSINESS_UNIT, "per_page": 5, "base_url": api.base_url, **config}
    return TrustpilotReviewsConnector(settings, {"api_key": API_KEY}, http=make_http(clock, max_attempts=3))


def test_pages_oldest_first_until_exhausted(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    pages, cursor = drain(connector(reviews_api, clock), None)
    assert [len(p.items) for p in pages] == [5, 5, 2]
    assert [p.exhausted for p in pages] == [False, False, True]
    assert [i.external_id for p in pages for i in p.items] == [f"r{n:02d}" for n in range(12)]
    assert cursor == {"start": "2026-10-12T09:00:00Z", "page": 1}
    requests = reviews_api.requests
    assert [r.query["page"] for r in requests] == ["1", "2", "3"]
    assert all(r.query["orderBy"] == "createdat.asc" and r.query["perPage"] == "5" for r in requests)
    assert all(r.headers["apikey"] == API_KEY for r in requests)
    assert "startDateTime" not in requests[0].query


def test_review_fields(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    reviews_api.reviews[:] = [
        make_review("abc", day=0, stars=2, title="Never again", text="Parcel lost twice."),
        make_review("def", day=1, stars=5, title="Great", text="Great service, fast."),
    ]
    reviews_api.reviews[0]["companyReply"] = {"text": "Sorry!", "createdAt": "2026-10-02T10:00:00Z"}
    first, second = connector(reviews_api, clock).fetch_page(None).items
    assert first.kind is ItemKind.REVIEW
    assert first.text == "Never again\n\nParcel lost twice."
    assert first.extra["rating"] == 2 and first.extra["title"] == "Never again"
    assert first.extra["body"] == "Parcel lost twice."
    assert first.extra["company_reply"] == {"text": "Sorry!", "created_at": "2026-10-02T10:00:00+00:00"}
    assert first.author.name == "Reviewer abc" and first.author.id == "c-abc"
    assert first.published_at == datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    assert first.url == "https://www.trustpilot.com/reviews/abc"
    assert first.engagement == {"likes": 1}
    assert first.language == "en"
    # A title that merely opens the body is not repeated.
    assert second.text == "Great service, fast."


def test_next_sweep_starts_at_the_high_water_mark(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    _, cursor = drain(connector(reviews_api, clock), None)
    reviews_api.reviews.append(make_review("new", day=20))
    pages, cursor = drain(connector(reviews_api, clock), cursor)
    # The newest old review is re-read (the filter is inclusive); storage drops it by id.
    assert [i.external_id for p in pages for i in p.items] == ["r11", "new"]
    assert reviews_api.requests[-1].query["startDateTime"] == "2026-10-12T09:00:00Z"
    assert cursor == {"start": "2026-10-21T09:00:00Z", "page": 1}


def test_resumes_mid_sweep_from_a_stored_cursor(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    first = connector(reviews_api, clock).fetch_page(None)
    assert first.next_cursor == {"start": None, "page": 2, "high_water": "2026-10-05T09:00:00Z"}
    pages, cursor = drain(connector(reviews_api, clock), first.next_cursor)
    assert [i.external_id for p in pages for i in p.items] == [f"r{n:02d}" for n in range(5, 12)]
    assert cursor["start"] == "2026-10-12T09:00:00Z"


def test_config_start_bounds_the_first_sweep(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    pages, _ = drain(connector(reviews_api, clock, start="2026-10-10T00:00:00Z"), None)
    assert [i.external_id for p in pages for i in p.items] == ["r09", "r10", "r11"]


def test_bad_reviews_are_skipped_and_good_ones_kept(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    stars_text = {**make_review("s1", day=1), "stars": "five"}
    stars_range = {**make_review("s2", day=2), "stars": 9}
    no_date = {k: v for k, v in make_review("s3", day=3).items() if k != "createdAt"}
    bad_date = {**make_review("s4", day=4), "createdAt": "yesterday"}
    empty = make_review("s5", day=5, title=" ", text="")
    reviews_api.reviews[:] = [make_review("ok", day=0), stars_text, stars_range, no_date, bad_date, empty]
    page = connector(reviews_api, clock, per_page=10).fetch_page(None)
    assert [i.external_id for i in page.items] == ["ok"]
    reasons = {s.external_id: s.reason for s in page.skipped}
    assert reasons["s1"] == "stars: Input should be a valid integer"
    assert reasons["s2"] == "stars: Input should be less than or equal to 5"
    assert reasons["s3"] == "createdAt: Field required"
    assert "not an ISO 8601 timestamp" in reasons["s4"]
    assert reasons["s5"] == "review has neither title nor text"


def test_bad_api_key_gives_a_clear_message(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    bad = TrustpilotReviewsConnector(
        {"business_unit_id": BUSINESS_UNIT, "base_url": reviews_api.base_url},
        {"api_key": "wrong"},
        http=make_http(clock),
    )
    with pytest.raises(ConnectorAuthError) as caught:
        bad.fetch_page(None)
    assert str(caught.value) == (
        "Reviews API refused the credentials (HTTP 401). Check the source's API key: it must be an "
        "active key of the application that has access to this business unit. The API said: Invalid ApiKey"
    )
    assert len(reviews_api.requests) == 1


def test_unknown_business_unit_is_permanent(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    with pytest.raises(ConnectorPermanentError, match="Business unit not found") as caught:
        connector(reviews_api, clock, business_unit_id="nope").fetch_page(None)
    assert caught.value.status == 404
    assert len(reviews_api.requests) == 1


def test_rate_limit_then_success(reviews_api: TrustpilotApi, clock: FakeClock) -> None:
    path = reviews_api.path
    reviews_api.script(path, Response.json({"message": "Too many requests"}, 429, {"Retry-After": "3"}))
    reviews_api.script(path, Response.raw("<html>Bad gateway</html>", 502))
    page = connector(reviews_api, clock).fetch_page(None)
    assert len(page.items) == 5
    assert len(reviews_api.requests) == 3
    assert clock.sleeps[0] == 3.0 and len(clock.sleeps) == 2


def test_5xx_that_outlasts_retries_leaves_the_cursor_alone(
    reviews_api: TrustpilotApi, clock: FakeClock
) -> None:
    reviews_api.script(reviews_api.path, Response.raw("oops", 500), times=3)
    with pytest.raises(ConnectorTransientError, match="after 3 attempts"):
        connector(reviews_api, clock).fetch_page({"start": None, "page": 2})
    assert len(reviews_api.requests) == 3


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"reviews": [', "not valid JSON"),
        ('{"links": []}', "reviews: Field required"),
        ('{"reviews": {"0": {}}}', "reviews: Input should be a valid list"),
        ('{"reviews": [], "links": [{"href": "x"}]}', r"links\.0\.rel: Field required"),
    ],
)
def test_malformed_pages(reviews_api: TrustpilotApi, clock: FakeClock, body: str, reason: str) -> None:
    reviews_api.script(reviews_api.path, Response.raw(body))
    with pytest.raises(MalformedPageError, match=reason):
        connector(reviews_api, clock).fetch_page(None)


def test_an_empty_page_with_a_next_link_still_ends_the_sweep(
    reviews_api: TrustpilotApi, clock: FakeClock
) -> None:
    body = {
        "reviews": [],
        "links": [{"href": "https://elsewhere/?page=9", "method": "GET", "rel": "next-page"}],
    }
    reviews_api.script(reviews_api.path, Response.json(body))
    page = connector(reviews_api, clock).fetch_page({"start": "2026-10-01T00:00:00Z", "page": 4})
    assert page.exhausted and page.next_cursor == {"start": "2026-10-01T00:00:00Z", "page": 1}


@pytest.mark.parametrize(
    ("config", "credentials", "message"),
    [
        ({}, {"api_key": "k"}, "business_unit_id: Field required"),
        (
            {"business_unit_id": "b", "per_page": 0},
            {"api_key": "k"},
            "per_page: Input should be greater than",
        ),
        ({"business_unit_id": "b", "language": "English"}, {"api_key": "k"}, "language: String should match"),
        ({"business_unit_id": "b", "start": "last week"}, {"api_key": "k"}, "start: Value error"),
        ({"business_unit_id": "b"}, {"api_key": ""}, "api_key: String should have at least 1 character"),
    ],
)
def test_config_errors(config: dict, credentials: dict, message: str) -> None:
    with pytest.raises(ConnectorConfigError, match=message):
        TrustpilotReviewsConnector(config, credentials).validate_config()
