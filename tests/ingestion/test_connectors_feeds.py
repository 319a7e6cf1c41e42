"""RSS and Atom feeds end to end against a local site serving real feed XML with HTTP validators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ingestion.connectors import (
    ConnectorConfigError,
    ConnectorPermanentError,
    ConnectorRateLimited,
    ItemKind,
    MalformedPageError,
)
from ingestion.connectors.feeds import FeedConnector
from ingestion.services import do_pull_source
from listening.mentions.models import Mention, QuarantinedItem, Source, SourceKind
from tests.conftest import Tenant
from tests.ingestion.servers.feed_api import CHANGED, Entry, FeedSite, make_entry
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.support import FakeClock, make_http


@pytest.fixture
def site() -> Iterator[FeedSite]:
    api = FeedSite()
    api.add(*(make_entry(n, f"Acme story {n}", hours_ago=n) for n in range(5)))
    with serve(api) as running:
        yield running


def feed(site: FeedSite, clock: FakeClock, path: str = "/rss.xml", **config: object) -> FeedConnector:
    return FeedConnector({"url": site.base_url + path, **config}, {}, http=make_http(clock))


@pytest.mark.parametrize(
    ("path", "channel"), [("/rss.xml", "news.example.com"), ("/atom.xml", "blog.example.org")]
)
def test_rss_and_atom_entries_become_news_items(
    site: FeedSite, clock: FakeClock, path: str, channel: str
) -> None:
    page = feed(site, clock, path).fetch_page(None)
    assert page.exhausted and len(page.items) == 5
    item = page.items[0]
    assert item.kind is ItemKind.NEWS and item.external_id == "https://news.example.com/a/0"
    assert item.text == "Acme story 0\n\nStory 0.\nSecond paragraph & more."  # HTML cleaned to paragraphs
    assert item.published_at == CHANGED and item.published_at.tzinfo is not None
    assert item.channel == channel and item.url == "https://news.example.com/a/0"
    assert item.author.name == "Staff writer" and item.extra["dated_by"] == "published"


def test_conditional_get_sends_the_validators_back(site: FeedSite, clock: FakeClock) -> None:
    first = feed(site, clock).fetch_page(None)
    assert first.next_cursor["etag"] == '"v1"'
    unchanged = feed(site, clock).fetch_page(first.next_cursor)
    assert unchanged.items == [] and unchanged.exhausted and unchanged.next_cursor == first.next_cursor
    assert site.requests[-1].headers["if-none-match"] == '"v1"'
    assert site.requests[-1].headers["if-modified-since"] == first.next_cursor["modified"]
    site.add(make_entry(9, "Acme breaking news"))
    changed = feed(site, clock).fetch_page(first.next_cursor)
    assert changed.next_cursor["etag"] == '"v2"'
    assert changed.items[0].external_id == "https://news.example.com/a/9"


def test_if_modified_since_alone_is_honoured(site: FeedSite, clock: FakeClock) -> None:
    first = feed(site, clock).fetch_page(None)
    again = feed(site, clock).fetch_page({"modified": first.next_cursor["modified"]})
    assert again.items == [] and "if-none-match" not in site.requests[-1].headers


def test_entries_are_deduplicated_by_guid_then_link(site: FeedSite, clock: FakeClock) -> None:
    site.entries = [
        Entry("g1", "One", "<p>a</p>", CHANGED),
        Entry("g1", "One again", "<p>b</p>", CHANGED),
        Entry("", "Linked only", "<p>c</p>", None, link="https://news.example.com/linked"),
        Entry("", "", "", CHANGED),
    ]
    page = feed(site, clock).fetch_page(None)
    assert [i.external_id for i in page.items] == ["g1", "https://news.example.com/linked"]
    assert page.items[1].extra["dated_by"] == "fetched" and page.items[1].published_at == clock.now()
    assert len(page.skipped) == 1 and "neither title nor text" in page.skipped[0].reason


def test_dates_in_other_zones_are_normalised_to_utc(site: FeedSite, clock: FakeClock) -> None:
    site.entries = []
    site.script(
        "/rss.xml",
        Response(
            200,
            (
                b"<rss version='2.0'><channel><title>t</title><link>https://x.example/</link>"
                b"<item><title>Acme</title><guid>z1</guid>"
                b"<pubDate>Fri, 20 Nov 2026 14:00:00 +0200</pubDate></item></channel></rss>"
            ),
            {"Content-Type": "application/rss+xml"},
        ),
    )
    item = feed(site, clock).fetch_page(None).items[0]
    assert item.published_at == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_an_html_page_instead_of_a_feed_is_malformed(site: FeedSite, clock: FakeClock) -> None:
    site.script(
        "/rss.xml",
        Response(200, b"<html><body>Cloudflare says hi</body></html>", {"Content-Type": "text/html"}),
    )
    with pytest.raises(MalformedPageError, match="did not answer an RSS or Atom feed") as caught:
        feed(site, clock).fetch_page(None)
    assert "Cloudflare" in caught.value.body


def test_server_errors_are_retried_slow_answers_refetched_and_404_is_not(
    site: FeedSite, clock: FakeClock
) -> None:
    site.script("/rss.xml", Response(503, b"busy"), times=2)
    assert len(feed(site, clock).fetch_page(None).items) == 5
    site.script("/rss.xml", Response(200, b"", delay=1.0))
    slow = FeedConnector({"url": site.base_url + "/rss.xml"}, {}, http=make_http(clock, read_timeout=0.2))
    assert len(slow.fetch_page(None).items) == 5
    with pytest.raises(ConnectorPermanentError, match="404"):
        feed(site, clock, "/gone.xml").fetch_page(None)
    assert len(site.requests_to("/gone.xml")) == 1
    site.script("/rss.xml", Response(429, b"slow down", {"Retry-After": "3"}), times=4)
    with pytest.raises(ConnectorRateLimited):
        feed(site, clock).fetch_page(None)
    assert clock.sleeps[-3:] == [3.0, 3.0, 3.0]  # the server's Retry-After, honoured


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "url"),
        ({"url": "ftp://x.example/feed"}, "http"),
        ({"url": "https://u:p@x.example/f"}, "user info"),
    ],
)
def test_config_errors_are_clear(config: dict, message: str) -> None:
    with pytest.raises(ConnectorConfigError, match=message):
        FeedConnector(config, {}).validate_config()


@pytest.mark.django_db
def test_pull_stores_once_then_costs_a_304(alice: Tenant, site: FeedSite) -> None:
    source = Source.objects.create(
        organization=alice.org,
        name="Example News",
        kind=SourceKind.NEWS,
        connector="rss",
        config={"url": site.base_url + "/rss.xml"},
    )
    assert do_pull_source(source.pk).stored == 5
    source.refresh_from_db()
    assert source.cursor["etag"] == '"v1"'
    assert {m.channel for m in Mention.objects.filter(source=source)} == {"news.example.com"}
    assert do_pull_source(source.pk).stored == 0
    site.add(make_entry(7, "Acme again"))
    again = do_pull_source(source.pk)
    assert (again.stored, again.duplicates) == (1, 5)  # the old entries come again, stored once
    site.script("/rss.xml", Response(200, b"<html>maintenance</html>", {"Content-Type": "text/html"}))
    assert "malformed" in do_pull_source(source.pk).error
    assert QuarantinedItem.objects.filter(source=source).exists()
    source.refresh_from_db()
    assert source.cursor["etag"] == '"v2"'
