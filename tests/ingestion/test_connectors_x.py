"""X recent search connector end to end against a local server speaking the X API v2 wire format."""

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
    iter_pages,
)
from ingestion.connectors.x import XRecentSearchConnector
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.support import FakeClock, drain, make_http
from tests.ingestion.servers.x_api import BEARER, SEARCH_PATH, XApi, make_tweet, make_user

FIRST_ID = 1_860_000_000_000_000_000


@pytest.fixture
def x_api() -> Iterator[XApi]:
    api = XApi()
    api.add_user(make_user("11", "acme_fan", "Acme Fan", followers=1200))
    api.add_user(make_user("12", "grumpy", "Grumpy Customer"))
    # 25 posts, newest first by id; authors alternate.
    api.add_tweets(
        *(
            make_tweet(
                FIRST_ID + n, f"post {n} about #acme", "11" if n % 2 else "12", minutes_ago=25 - n, likes=n
            )
            for n in range(25)
        )
    )
    with serve(api) as running:
        yield running


def connector(api: XApi, clock: FakeClock, **config: object) -> XRecentSearchConnector:
    settings = {"query": "#acme -is:retweet", "max_results": 10, "base_url": api.base_url, **config}
    return XRecentSearchConnector(settings, {"bearer_token": BEARER}, http=make_http(clock))


def test_pages_through_a_sweep_until_exhausted(x_api: XApi, clock: FakeClock) -> None:
    pages, cursor = drain(connector(x_api, clock), None)
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [p.exhausted for p in pages] == [False, False, True]
    ids = [item.external_id for page in pages for item in page.items]
    assert ids == [str(FIRST_ID + n) for n in reversed(range(25))]
    # The next sweep asks only for what is newer than the newest post of this one.
    assert cursor == {"since_id": str(FIRST_ID + 24)}
    # Paging kept the query and since_id, and walked next_token.
    requests = x_api.requests_to(SEARCH_PATH)
    assert "next_token" not in requests[0].query
    assert requests[1].query["next_token"] and requests[2].query["next_token"]
    assert all(r.query["query"] == "#acme -is:retweet" for r in requests)


def test_items_carry_author_metrics_and_fields(x_api: XApi, clock: FakeClock) -> None:
    page = connector(x_api, clock).fetch_page(None)
    item = page.items[0]  # FIRST_ID + 24, by author 12
    assert item.kind is ItemKind.SOCIAL
    assert item.text == "post 24 about #acme"
    assert item.author.id == "12" and item.author.handle == "grumpy" and item.author.name == "Grumpy Customer"
    assert item.published_at == datetime(2026, 11, 20, 11, 59, tzinfo=UTC)
    assert item.url == f"https://x.com/grumpy/status/{FIRST_ID + 24}"
    assert item.engagement == {"likes": 24, "reposts": 1, "replies": 2, "quotes": 0, "views": 100}
    assert item.language == "en"
    assert item.extra["conversation_id"] == str(FIRST_ID + 24)
    assert item.extra["entities"]["hashtags"][0]["tag"] == "acme"
    assert item.raw["id"] == str(FIRST_ID + 24)
    fan = page.items[1]
    assert fan.author.handle == "acme_fan" and fan.extra["author_followers"] == 1200
    request = x_api.requests[0]
    assert request.headers["authorization"] == f"Bearer {BEARER}"
    assert request.query["expansions"] == "author_id"
    assert {"created_at", "public_metrics", "lang", "author_id", "conversation_id", "entities"} <= set(
        request.query["tweet.fields"].split(",")
    )
    assert {"username", "name", "verified", "public_metrics"} <= set(request.query["user.fields"].split(","))


def test_rate_limit_headers_come_with_the_page(x_api: XApi, clock: FakeClock) -> None:
    page = connector(x_api, clock).fetch_page(None)
    assert page.rate_limit is not None
    assert page.rate_limit.limit == 450 and page.rate_limit.remaining == 449
    assert page.rate_limit.reset_at is not None and page.rate_limit.reset_at > clock.now()


def test_next_sweep_fetches_only_newer_posts(x_api: XApi, clock: FakeClock) -> None:
    _, cursor = drain(connector(x_api, clock), None)
    x_api.add_tweets(
        make_tweet(FIRST_ID + 100, "new #acme post", "11"), make_tweet(FIRST_ID + 101, "newer", "12")
    )
    pages, cursor = drain(connector(x_api, clock), cursor)
    assert [i.external_id for p in pages for i in p.items] == [str(FIRST_ID + 101), str(FIRST_ID + 100)]
    assert x_api.requests[-1].query["since_id"] == str(FIRST_ID + 24)
    assert cursor == {"since_id": str(FIRST_ID + 101)}
    # Nothing new: an empty, exhausted page that keeps the cursor.
    page = connector(x_api, clock).fetch_page(cursor)
    assert page.items == [] and page.exhausted and page.next_cursor == cursor


def test_a_sweep_resumes_from_a_stored_mid_sweep_cursor(x_api: XApi, clock: FakeClock) -> None:
    first = connector(x_api, clock).fetch_page(None)
    assert first.next_cursor["newest_id"] == str(FIRST_ID + 24)
    # The worker died after storing page 1; a new connector instance carries on from the cursor.
    pages, cursor = drain(connector(x_api, clock), first.next_cursor)
    ids = [i.external_id for p in [first, *pages] for i in p.items]
    assert len(ids) == len(set(ids)) == 25
    assert cursor == {"since_id": str(FIRST_ID + 24)}


def test_iter_pages_stops_at_the_page_budget_and_resumes(x_api: XApi, clock: FakeClock) -> None:
    pages = list(iter_pages(connector(x_api, clock), None, max_pages=2))
    assert [len(p.items) for p in pages] == [10, 10] and not pages[-1].exhausted
    rest = list(iter_pages(connector(x_api, clock), pages[-1].next_cursor, max_pages=10))
    assert [len(p.items) for p in rest] == [5] and rest[-1].exhausted


def test_iter_pages_stops_when_the_rate_limit_window_is_used_up(x_api: XApi, clock: FakeClock) -> None:
    x_api.remaining = 2  # the next answer says 1 left, the one after 0
    pages = list(iter_pages(connector(x_api, clock), None, max_pages=10))
    assert len(pages) == 2
    assert pages[-1].rate_limit is not None and pages[-1].rate_limit.resume_at is not None


def test_an_empty_stored_cursor_is_a_first_pull(x_api: XApi, clock: FakeClock) -> None:
    page = connector(x_api, clock).fetch_page({})  # Source.cursor defaults to {}
    assert len(page.items) == 10
    assert "since_id" not in x_api.requests[0].query


def test_a_slow_page_times_out_and_is_fetched_again(x_api: XApi, clock: FakeClock) -> None:
    x_api.script(SEARCH_PATH, Response.json({"meta": {"result_count": 0}}, delay=1.0))
    slow = XRecentSearchConnector(
        {"query": "acme", "max_results": 10, "base_url": x_api.base_url},
        {"bearer_token": BEARER},
        http=make_http(clock, read_timeout=0.2),
    )
    page = slow.fetch_page(None)
    assert len(page.items) == 10
    assert len(x_api.requests) == 2


def test_server_errors_are_retried_then_the_page_comes(x_api: XApi, clock: FakeClock) -> None:
    x_api.script(SEARCH_PATH, Response.json({"title": "Service Unavailable"}, 503), times=2)
    page = connector(x_api, clock).fetch_page(None)
    assert len(page.items) == 10
    assert len(x_api.requests) == 3
    assert len(clock.sleeps) == 2


def test_429_waits_for_the_reset_then_continues(x_api: XApi, clock: FakeClock) -> None:
    reset = int(clock.now().timestamp()) + 30
    headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    x_api.script(SEARCH_PATH, Response.json({"title": "Too Many Requests", "status": 429}, 429, headers))
    page = connector(x_api, clock).fetch_page(None)
    assert len(page.items) == 10
    assert len(clock.sleeps) == 1 and 29 <= clock.sleeps[0] <= 30


def test_a_long_rate_limit_window_raises_with_the_resume_time(x_api: XApi, clock: FakeClock) -> None:
    reset = int(clock.now().timestamp()) + 900
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    x_api.script(SEARCH_PATH, Response.json({"title": "Too Many Requests"}, 429, headers))
    with pytest.raises(ConnectorRateLimited) as caught:
        connector(x_api, clock).fetch_page({"since_id": str(FIRST_ID)})
    assert caught.value.resume_at == datetime.fromtimestamp(reset, UTC)
    assert len(x_api.requests) == 1


def test_bad_bearer_token_gives_a_clear_message(x_api: XApi, clock: FakeClock) -> None:
    bad = XRecentSearchConnector(
        {"query": "acme", "base_url": x_api.base_url}, {"bearer_token": "expired"}, http=make_http(clock)
    )
    with pytest.raises(ConnectorAuthError) as caught:
        bad.fetch_page(None)
    message = str(caught.value)
    assert message.startswith("X recent search refused the credentials (HTTP 401).")
    assert "bearer token" in message and "Unauthorized" in message
    assert "expired" not in message  # the secret itself never lands in last_error
    assert len(x_api.requests) == 1


def test_an_invalid_request_is_not_retried(x_api: XApi, clock: FakeClock) -> None:
    with pytest.raises(ConnectorPermanentError, match="not valid") as caught:
        connector(x_api, clock).fetch_page({"since_id": str(FIRST_ID), "next_token": "garbage"})
    assert caught.value.status == 400
    assert len(x_api.requests) == 1


def test_an_unknown_endpoint_is_not_retried(x_api: XApi, clock: FakeClock) -> None:
    with pytest.raises(ConnectorPermanentError) as caught:
        connector(x_api, clock, base_url=x_api.base_url + "/nope").fetch_page(None)
    assert caught.value.status == 404
    assert len(x_api.requests) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"data": [', "not valid JSON"),
        ('{"data": "tweets", "meta": {"result_count": 1}}', "data: Input should be a valid list"),
        ('{"data": [{"id": "1"}]}', "meta: Field required"),
        ('{"meta": {"result_count": "10"}}', "meta.result_count: Input should be a valid integer"),
        ('{"meta": {"result_count": 3}}', "reported 3 results but sent no data"),
        ("[1, 2, 3]", "Input should be a valid dictionary"),
    ],
    ids=[
        "invalid-json",
        "data-not-a-list",
        "meta-missing",
        "count-a-string",
        "count-without-data",
        "not-an-object",
    ],
)
def test_a_malformed_page_raises_with_the_body_for_quarantine(
    x_api: XApi, clock: FakeClock, body: str, reason: str
) -> None:
    x_api.script(SEARCH_PATH, Response.raw(body))
    cursor = {"since_id": str(FIRST_ID)}
    with pytest.raises(MalformedPageError, match=reason) as caught:
        connector(x_api, clock).fetch_page(cursor)
    assert caught.value.body
    assert len(x_api.requests) == 1  # a malformed page is not retried


def test_bad_posts_are_skipped_with_a_reason_and_good_ones_come_through(
    x_api: XApi, clock: FakeClock
) -> None:
    x_api.tweets.clear()
    good = make_tweet(FIRST_ID + 9, "fine post", "11")
    no_text = {k: v for k, v in make_tweet(FIRST_ID + 8, "x", "11").items() if k != "text"}
    int_id = {**make_tweet(FIRST_ID + 7, "numeric id", "11"), "id": FIRST_ID + 7}
    naive_date = {**make_tweet(FIRST_ID + 6, "no zone", "11"), "created_at": "2026-11-20T10:00:00"}
    negative_likes = make_tweet(FIRST_ID + 5, "weird metrics", "11")
    negative_likes["public_metrics"]["like_count"] = -3
    x_api.tweets.extend([good, no_text, int_id, naive_date, negative_likes, "not an object"])
    page = connector(x_api, clock).fetch_page(None)
    assert [i.external_id for i in page.items] == [str(FIRST_ID + 9)]
    reasons = {s.index: s.reason for s in page.skipped}
    assert reasons[1] == "text: Field required"
    assert reasons[2].startswith("id: Input should be a valid string")
    assert "no UTC offset" in reasons[3]
    assert reasons[4].startswith("public_metrics.like_count: Input should be greater than or equal to 0")
    assert "valid dictionary" in reasons[5]
    assert page.skipped[0].external_id == str(FIRST_ID + 8)
    assert page.skipped[0].raw == no_text
    assert page.exhausted


def test_an_unknown_author_keeps_the_bare_id(x_api: XApi, clock: FakeClock) -> None:
    x_api.tweets.clear()
    x_api.add_tweets(make_tweet(FIRST_ID + 1, "from a suspended account", "999"))
    item = connector(x_api, clock).fetch_page(None).items[0]
    assert item.author.id == "999" and item.author.handle == ""
    assert item.url == f"https://x.com/i/web/status/{FIRST_ID + 1}"


@pytest.mark.parametrize(
    ("config", "credentials", "message"),
    [
        ({}, {"bearer_token": "t"}, "invalid X recent search config: query: Field required"),
        ({"query": "  "}, {"bearer_token": "t"}, "query: String should have at least 1 character"),
        ({"query": "a", "max_results": 500}, {"bearer_token": "t"}, "max_results: Input should be less than"),
        (
            {"query": "a", "max_results": "50"},
            {"bearer_token": "t"},
            "max_results: Input should be a valid integer",
        ),
        ({"query": "a", "qeury": "b"}, {"bearer_token": "t"}, "qeury: Extra inputs are not permitted"),
        (
            {"query": "a", "base_url": "http://api.x.com"},
            {"bearer_token": "t"},
            "base_url: Value error, must use https",
        ),
        ({"query": "a", "base_url": "ftp://x"}, {"bearer_token": "t"}, "must be an absolute http(s) URL"),
        ({"query": "a"}, {}, "invalid X recent search credentials: bearer_token: Field required"),
        ({"query": "a"}, {"bearer_token": "abc\r\nX-Evil: 1"}, "bearer_token: String should match pattern"),
    ],
)
def test_config_errors_are_clear(config: dict, credentials: dict, message: str) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        XRecentSearchConnector(config, credentials).validate_config()
    assert message in str(caught.value)
    assert "X-Evil" not in str(caught.value)  # values, secrets above all, never echo back


def test_a_corrupt_stored_cursor_is_a_config_error_without_a_request(x_api: XApi, clock: FakeClock) -> None:
    with pytest.raises(ConnectorConfigError, match="invalid stored X recent search cursor: since_id"):
        connector(x_api, clock).fetch_page({"since_id": "12; DROP TABLE"})
    assert x_api.requests == []


def test_conversations_keep_the_thread_and_the_brand_is_the_agent(x_api: XApi, clock: FakeClock) -> None:
    x_api.tweets = []
    x_api.add_user(make_user("99", "AcmeSupport", "Acme Support"))
    question = make_tweet(FIRST_ID + 100, "my #acme order never came", "12", minutes_ago=5)
    answer = make_tweet(FIRST_ID + 101, "@grumpy sorry! DM us #acme", "99", minutes_ago=3)
    answer["conversation_id"] = question["id"]
    answer["referenced_tweets"] = [{"type": "replied_to", "id": question["id"]}]
    alone = make_tweet(FIRST_ID + 102, "nice #acme jacket", "11", minutes_ago=1)
    alone["public_metrics"]["reply_count"] = 0
    x_api.add_tweets(question, answer, alone)
    items = {
        i.external_id: i for i in connector(x_api, clock, brand_handle="@acmesupport").fetch_page(None).items
    }
    reply, asked, lone = items[answer["id"]], items[question["id"]], items[alone["id"]]
    assert (reply.conversation_id, reply.in_reply_to, reply.author_role) == (
        question["id"],
        question["id"],
        "agent",
    )
    assert (asked.conversation_id, asked.in_reply_to, asked.author_role) == (question["id"], "", "customer")
    assert lone.author_role == ""  # not in a conversation
    # Without a brand handle nobody is labelled, but the thread structure stays.
    plain = {i.external_id: i for i in connector(x_api, clock).fetch_page(None).items}
    assert plain[answer["id"]].author_role == "" and plain[answer["id"]].in_reply_to == question["id"]
    requested = x_api.requests_to(SEARCH_PATH)[0].query["tweet.fields"].split(",")
    assert {"conversation_id", "referenced_tweets"} <= set(requested)
