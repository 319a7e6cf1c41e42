"""Reddit connector end to end against a local server speaking Reddit's OAuth API wire format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ingestion.connectors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorPermanentError,
    ConnectorRateLimited,
    ItemKind,
    MalformedPageError,
    get_connector,
)
from ingestion.connectors.reddit import RedditConnector
from ingestion.services import do_pull_source
from listening.mentions.models import Mention, QuarantinedItem, Source, SourceKind
from tests.conftest import Tenant
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.reddit_api import (
    BASE_TIME,
    CLIENT_ID,
    CLIENT_SECRET,
    RedditApi,
    make_comment,
    make_post,
)
from tests.ingestion.servers.support import FakeClock, drain, make_http


@pytest.fixture
def reddit() -> Iterator[RedditApi]:
    api = RedditApi()
    # 25 posts in r/acme, one a minute, p24 the newest; a thread of comments under p24.
    api.add(*(make_post(f"p{n}", f"post {n} about acme", age=60 * (25 - n), score=n - 3) for n in range(25)))
    api.add(
        make_comment("c1", "first reply", parent="t3_p24", link="t3_p24", age=30),
        make_comment("c2", "a reply to the reply", parent="t1_c1", link="t3_p24", age=20),
        make_post("o1", "elsewhere acme", sub="other", age=10),
    )
    with serve(api) as running:
        yield running


def connector(
    api: RedditApi, clock: FakeClock, *, secret: str = CLIENT_SECRET, **config: object
) -> RedditConnector:
    settings = {
        "subreddit": "acme",
        "limit": 10,
        "base_url": api.base_url,
        "auth_url": api.base_url,
        **config,
    }
    return RedditConnector(settings, {"client_id": CLIENT_ID, "client_secret": secret}, http=make_http(clock))


def test_pages_a_subreddit_through_after_with_one_token(reddit: RedditApi, clock: FakeClock) -> None:
    pages, cursor = drain(connector(reddit, clock), None)
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [item.external_id for p in pages for item in p.items] == [f"t3_p{n}" for n in reversed(range(25))]
    assert cursor == {"since": BASE_TIME - 60}
    assert reddit.tokens_issued == 1  # asked once per pull, not per page
    listing = reddit.requests_to("/r/acme/new")
    assert "after" not in listing[0].query and listing[1].query["after"] == "t3_p15"


def test_post_fields_score_and_channel(reddit: RedditApi, clock: FakeClock) -> None:
    item = connector(reddit, clock).fetch_page(None).items[0]
    assert item.kind is ItemKind.SOCIAL and item.text == "post 24 about acme"
    assert item.channel == "r/acme" and item.conversation_id == "t3_p24" and item.in_reply_to == ""
    assert item.author.handle == "user_p24" and item.author.id == "t2_p24"
    assert item.published_at == datetime.fromtimestamp(BASE_TIME - 60, UTC)
    assert item.url == "https://www.reddit.com/r/acme/comments/p24/slug/"
    assert item.engagement == {"likes": 21, "replies": 0} and item.extra["score"] == 21
    negative = next(i for i in drain(connector(reddit, clock), None)[0][-1].items if i.external_id == "t3_p0")
    assert negative.engagement["likes"] == 0 and negative.extra["score"] == -3


def test_comments_keep_the_thread_structure(reddit: RedditApi, clock: FakeClock) -> None:
    pages, _ = drain(connector(reddit, clock, listing="comments"), None)
    by_id = {item.external_id: item for p in pages for item in p.items}
    assert set(by_id) == {"t1_c1", "t1_c2"}
    assert by_id["t1_c2"].in_reply_to == "t1_c1" and by_id["t1_c1"].in_reply_to == "t3_p24"
    assert {i.conversation_id for i in by_id.values()} == {"t3_p24"}


def test_search_restricted_to_the_subreddit_or_site_wide(reddit: RedditApi, clock: FakeClock) -> None:
    inside = drain(connector(reddit, clock, query="acme"), None)[0]
    assert sum(len(p.items) for p in inside) == 25
    assert reddit.requests_to("/r/acme/search")[0].query["restrict_sr"] == "1"
    everywhere = drain(connector(reddit, clock, subreddit=None, query="elsewhere"), None)[0]
    assert [i.channel for p in everywhere for i in p.items] == ["r/other"]


def test_next_sweep_stops_at_what_it_has_seen(reddit: RedditApi, clock: FakeClock) -> None:
    _, cursor = drain(connector(reddit, clock), None)
    reddit.add(make_post("n1", "a newer acme post", age=0))
    before = len(reddit.requests_to("/r/acme/new"))
    pages, again = drain(connector(reddit, clock), cursor)
    assert len(reddit.requests_to("/r/acme/new")) - before == 1  # met the old mark on page one
    assert pages[0].items[0].external_id == "t3_n1" and again == {"since": BASE_TIME}


def test_rate_limit_headers_come_with_the_page(reddit: RedditApi, clock: FakeClock) -> None:
    reddit.remaining = 1
    page = connector(reddit, clock).fetch_page(None)
    assert page.rate_limit is not None and page.rate_limit.remaining == 0 and page.rate_limit.limit == 1
    assert page.rate_limit.resume_at is not None  # used up: the pull reschedules at the reset


def test_429_waits_for_the_reset_then_continues(reddit: RedditApi, clock: FakeClock) -> None:
    reddit.script(
        "/r/acme/new",
        Response.json({"message": "Too Many Requests", "error": 429}, 429, {"X-Ratelimit-Reset": "7"}),
    )
    page = connector(reddit, clock).fetch_page(None)
    assert len(page.items) == 10 and clock.sleeps == [7.0]


def test_a_long_429_raises_with_the_resume_time(reddit: RedditApi, clock: FakeClock) -> None:
    reddit.script("/r/acme/new", Response.json({"error": 429}, 429, {"X-Ratelimit-Reset": "500"}))
    with pytest.raises(ConnectorRateLimited) as caught:
        connector(reddit, clock).fetch_page(None)
    assert caught.value.resume_at is not None and clock.sleeps == []


def test_server_errors_are_retried_and_slow_pages_refetched(reddit: RedditApi, clock: FakeClock) -> None:
    reddit.script("/r/acme/new", Response.json({"error": 503}, 503), times=2)
    assert len(connector(reddit, clock).fetch_page(None).items) == 10
    reddit.script("/r/acme/new", Response.json({"kind": "Listing"}, delay=1.0))
    slow = RedditConnector(
        {"subreddit": "acme", "limit": 10, "base_url": reddit.base_url, "auth_url": reddit.base_url},
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        http=make_http(clock, read_timeout=0.2),
    )
    assert len(slow.fetch_page(None).items) == 10


def test_bad_credentials_are_refused_with_a_clear_message_and_no_retry(
    reddit: RedditApi, clock: FakeClock
) -> None:
    with pytest.raises(ConnectorAuthError, match="client id and secret"):
        connector(reddit, clock, secret="wrong").fetch_page(None)
    assert len(reddit.requests) == 1


def test_other_4xx_are_not_retried(reddit: RedditApi, clock: FakeClock) -> None:
    reddit.script("/r/acme/new", Response.json({"message": "Forbidden", "reason": "private"}, 404))
    with pytest.raises(ConnectorPermanentError):
        connector(reddit, clock).fetch_page(None)
    assert len(reddit.requests_to("/r/acme/new")) == 1


def test_a_malformed_listing_raises_for_quarantine(reddit: RedditApi, clock: FakeClock) -> None:
    reddit.script("/r/acme/new", Response.json({"kind": "Listing", "data": {"after": None}}))
    with pytest.raises(MalformedPageError, match="children") as caught:
        connector(reddit, clock).fetch_page(None)
    assert '"Listing"' in caught.value.body


def test_bad_children_are_skipped_with_a_reason(reddit: RedditApi, clock: FakeClock) -> None:
    reddit.things = [
        make_post("g1", "good acme post", age=1),
        {
            "kind": "t3",
            "data": {"id": "b1", "name": "t3_b1", "subreddit": "acme", "created_utc": "yesterday"},
        },
        make_post("g2", "[removed]", age=2) | {"kind": "bogus"},
    ]
    page = connector(reddit, clock).fetch_page(None)
    assert [i.external_id for i in page.items] == ["t3_g1"]
    assert len(page.skipped) == 2 and "created_utc" in page.skipped[0].reason


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "name a subreddit, a query, or both"),
        ({"subreddit": "no spaces"}, "subreddit"),
        ({"subreddit": "acme", "query": "x", "listing": "comments"}, "search finds posts only"),
        ({"subreddit": "acme", "base_url": "http://example.com"}, "https"),
    ],
)
def test_config_errors_are_clear(config: dict, message: str) -> None:
    with pytest.raises(ConnectorConfigError, match=message):
        RedditConnector(config, {"client_id": "a", "client_secret": "b"}).validate_config()


@pytest.mark.django_db
def test_pull_stores_threads_through_the_loader(alice: Tenant, reddit: RedditApi) -> None:
    assert get_connector("reddit") is RedditConnector
    source = Source.objects.create(
        organization=alice.org,
        name="r/acme comments",
        kind=SourceKind.SOCIAL,
        connector="reddit",
        config={
            "subreddit": "acme",
            "listing": "comments",
            "base_url": reddit.base_url,
            "auth_url": reddit.base_url,
        },
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    result = do_pull_source(source.pk)
    assert (result.stored, result.exhausted) == (2, True)
    reply = Mention.objects.get(source=source, external_id="t1_c2")
    assert (reply.channel, reply.conversation_id, reply.in_reply_to) == ("r/acme", "t3_p24", "t1_c1")
    source.refresh_from_db()
    assert source.cursor == {"since": BASE_TIME - 20}
    reddit.script("/r/acme/comments", Response.raw("<html>oops</html>"))
    assert "malformed" in do_pull_source(source.pk).error
    assert QuarantinedItem.objects.filter(source=source).exists()
    source.refresh_from_db()
    assert source.cursor == {"since": BASE_TIME - 20}
    Source.objects.filter(pk=source.pk).update(credentials={"client_id": CLIENT_ID, "client_secret": "nope"})
    do_pull_source(source.pk)
    source.refresh_from_db()
    assert "client id and secret" in source.last_error
