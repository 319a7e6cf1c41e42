"""App Store reviews end to end against a local server speaking the customer-reviews JSON feed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ingestion.connectors import ConnectorConfigError, ConnectorPermanentError, ItemKind, MalformedPageError
from ingestion.connectors.appstore import AppStoreReviewsConnector
from ingestion.services import do_pull_source
from listening.mentions.models import Mention, Source, SourceKind
from tests.conftest import Tenant
from tests.ingestion.servers.appstore_api import APP_ID, NEWEST, AppStoreApi, make_review
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.support import FakeClock, drain, make_http


@pytest.fixture
def store() -> Iterator[AppStoreApi]:
    api = AppStoreApi()
    api.reviews["us"] = [
        make_review(n, f"acme app review {n}", hours_ago=n, rating=1 + n % 5) for n in range(120)
    ]
    api.reviews["gb"] = [make_review(900, "only one", hours_ago=1)]
    with serve(api) as running:
        yield running


def connector(api: AppStoreApi, clock: FakeClock, **config: object) -> AppStoreReviewsConnector:
    settings = {"app_id": APP_ID, "app_name": "Acme", "base_url": api.base_url, **config}
    return AppStoreReviewsConnector(settings, {}, http=make_http(clock))


def test_sweeps_the_pages_newest_first_and_keeps_rating_version_territory(
    store: AppStoreApi, clock: FakeClock
) -> None:
    pages, cursor = drain(connector(store, clock), None)
    assert [len(p.items) for p in pages] == [50, 50, 20, 0]  # the app's own entry is no review
    item = pages[0].items[0]
    assert item.kind is ItemKind.REVIEW and item.external_id == "10000000"
    assert item.text == "Review 0\n\nacme app review 0" and item.published_at == NEWEST
    assert (
        item.extra["rating"] == 1 and item.extra["app_version"] == "3.2.1" and item.extra["territory"] == "US"
    )
    assert item.channel == "Acme (US)" and item.author.name == "user0"
    assert cursor == {"since": "2026-11-20T12:00:00Z"}


def test_the_next_sweep_stops_at_what_it_has_seen(store: AppStoreApi, clock: FakeClock) -> None:
    _, cursor = drain(connector(store, clock), None)
    store.reviews["us"].insert(0, make_review(500, "brand new", hours_ago=-1))
    pages, again = drain(connector(store, clock), cursor)
    assert len(pages) == 1 and pages[0].items[0].external_id == "10000500"
    assert again == {"since": datetime(2026, 11, 20, 13, 0, tzinfo=UTC).isoformat().replace("+00:00", "Z")}


def test_a_single_review_comes_as_an_object(store: AppStoreApi, clock: FakeClock) -> None:
    pages, _ = drain(connector(store, clock, country="gb"), None)
    assert [i.channel for p in pages for i in p.items] == ["Acme (GB)"]


def test_bad_reviews_are_skipped_and_a_broken_feed_is_malformed(store: AppStoreApi, clock: FakeClock) -> None:
    bad = make_review(1, "x") | {"im:rating": {"label": "five"}}
    store.reviews["us"] = [make_review(0, "fine"), bad, {"id": {"label": "3"}}]
    page = connector(store, clock).fetch_page(None)
    assert [i.external_id for i in page.items] == ["10000000"] and len(page.skipped) == 2
    assert "rating" in page.skipped[0].reason
    store.script("/us/", Response.json({"feed": {"entry": "nope"}}))
    with pytest.raises(MalformedPageError):
        connector(store, clock).fetch_page(None)


def test_unknown_app_is_not_retried_and_5xx_is(store: AppStoreApi, clock: FakeClock) -> None:
    with pytest.raises(ConnectorPermanentError, match="404"):
        connector(store, clock, app_id="1").fetch_page(None)
    assert len(store.requests) == 1
    store.script("/us/", Response.json({}, 502), times=2)
    store.script("/us/", Response.json({"feed": {}}, delay=1.0))
    slow = AppStoreReviewsConnector(
        {"app_id": APP_ID, "base_url": store.base_url}, {}, http=make_http(clock, read_timeout=0.2)
    )
    assert len(slow.fetch_page(None).items) == 50


@pytest.mark.parametrize(
    ("config", "message"),
    [({}, "app_id"), ({"app_id": "abc"}, "app_id"), ({"app_id": "1", "country": "USA"}, "country")],
)
def test_config_errors_are_clear(config: dict, message: str) -> None:
    with pytest.raises(ConnectorConfigError, match=message):
        AppStoreReviewsConnector(config, {}).validate_config()


@pytest.mark.django_db
def test_pull_stores_reviews_with_rating(alice: Tenant, store: AppStoreApi) -> None:
    source = Source.objects.create(
        organization=alice.org,
        name="App Store US",
        kind=SourceKind.REVIEW,
        connector="app_store_reviews",
        config={"app_id": APP_ID, "app_name": "Acme", "base_url": store.base_url},
    )
    result = do_pull_source(source.pk)
    assert result.stored == 120 and result.exhausted
    mention = Mention.objects.get(source=source, external_id="10000002")
    assert mention.rating == 3 and mention.channel == "Acme (US)" and mention.extra["territory"] == "US"
