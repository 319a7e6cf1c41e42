"""Zendesk tickets connector end to end against a local server speaking the Zendesk wire format."""

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
)
from ingestion.connectors.zendesk import ZendeskTicketsConnector
from ingestion.connectors.zendesk.connector import ZendeskConfig
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.support import FakeClock, drain, make_http
from tests.ingestion.servers.zendesk_api import (
    API_TOKEN,
    BASE_TS,
    EMAIL,
    EXPORT_PATH,
    OAUTH_TOKEN,
    ZendeskApi,
)

CUSTOMER, OTHER_CUSTOMER, AGENT, ADMIN = 501, 502, 900, 901


@pytest.fixture
def desk() -> Iterator[ZendeskApi]:
    api = ZendeskApi(comments_per_page=2)
    with serve(api) as running:
        running.add_user(CUSTOMER, "Jane Customer", "end-user", locale="de-DE")
        running.add_user(OTHER_CUSTOMER, "Omar", "end-user")
        running.add_user(AGENT, "Alex Agent", "agent")
        running.add_user(ADMIN, "Ada Admin", "admin")
        for n in range(1, 6):  # tickets 1..5, one conversation each
            running.add_ticket(
                n, requester_id=CUSTOMER, subject=f"Order {n} missing", at=n * 100, assignee_id=AGENT
            )
            running.add_comment(n, CUSTOMER, f"My order {n} never arrived.", at=n * 100)
            running.add_comment(n, AGENT, "Sorry! I have re-sent it.", at=n * 100 + 10)
            running.add_comment(n, AGENT, "internal: carrier lost it", at=n * 100 + 11, public=False)
            running.add_comment(n, CUSTOMER, "Thanks, got it.", at=n * 100 + 20)
        yield running


def connector(api: ZendeskApi, clock: FakeClock, **config: object) -> ZendeskTicketsConnector:
    settings = {"base_url": api.base_url, "per_page": 2, "start_time": BASE_TS, **config}
    return ZendeskTicketsConnector(settings, {"email": EMAIL, "api_token": API_TOKEN}, http=make_http(clock))


def test_exports_every_ticket_until_end_of_stream(desk: ZendeskApi, clock: FakeClock) -> None:
    pages, cursor = drain(connector(desk, clock), None)
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [p.exhausted for p in pages] == [False, False, True]
    assert [i.external_id for p in pages for i in p.items] == ["1", "2", "3", "4", "5"]
    assert set(cursor) == {"cursor"}
    exports = desk.requests_to(EXPORT_PATH)
    assert exports[0].query["start_time"] == str(BASE_TS) and "cursor" not in exports[0].query
    assert all("cursor" in r.query for r in exports[1:])
    assert all(r.query["exclude_deleted"] == "true" and r.query["per_page"] == "2" for r in exports)


def test_a_ticket_keeps_who_said_what(desk: ZendeskApi, clock: FakeClock) -> None:
    item = connector(desk, clock).fetch_page(None).items[0]
    assert item.kind is ItemKind.SUPPORT
    assert item.text == "My order 1 never arrived.\n\nThanks, got it."
    turns = item.extra["turns"]
    assert [(t["role"], t["public"], t["body"]) for t in turns] == [
        ("customer", True, "My order 1 never arrived."),
        ("agent", True, "Sorry! I have re-sent it."),
        ("agent", False, "internal: carrier lost it"),
        ("customer", True, "Thanks, got it."),
    ]
    assert [t["author_id"] for t in turns] == [CUSTOMER, AGENT, AGENT, CUSTOMER]
    assert item.extra["ticket_id"] == 1 and item.extra["subject"] == "Order 1 missing"
    assert item.extra["channel"] == "email" and item.extra["assignee_id"] == AGENT
    assert item.author.id == str(CUSTOMER) and item.author.name == "Jane Customer"
    assert item.language == "de"
    assert item.published_at == datetime.fromtimestamp(BASE_TS + 100, UTC)
    assert item.url == f"{desk.base_url}/agent/tickets/1"
    assert item.raw["ticket"]["id"] == 1 and len(item.raw["comments"]) == 4
    # Four comments at two a page: the connector followed next_page with users side-loaded.
    comment_requests = desk.requests_to("/api/v2/tickets/1/comments.json")
    assert [r.query.get("page") for r in comment_requests] == [None, "2"]
    assert all(r.query["include"] == "users" for r in comment_requests)


def test_roles_of_admins_and_unlisted_authors(desk: ZendeskApi, clock: FakeClock) -> None:
    desk.add_ticket(9, requester_id=777, subject="Who is who", at=900)
    desk.add_comment(9, 777, "I am the requester, not side-loaded", at=900)  # user 777 unknown
    desk.add_comment(9, ADMIN, "Admin answering", at=901)
    desk.add_comment(9, 778, "Someone else entirely", at=902)
    pages, _ = drain(connector(desk, clock, start_time=BASE_TS + 900), None)
    (item,) = [i for p in pages for i in p.items]
    assert [t["role"] for t in item.extra["turns"]] == ["customer", "agent", "unknown"]
    assert item.text == "I am the requester, not side-loaded"
    assert item.author.name == ""


def test_an_updated_ticket_comes_again_with_the_new_turn(desk: ZendeskApi, clock: FakeClock) -> None:
    _, cursor = drain(connector(desk, clock), None)
    desk.add_comment(2, CUSTOMER, "Actually it broke on day one.", at=10_000)
    pages, cursor_after = drain(connector(desk, clock), cursor)
    (item,) = [i for p in pages for i in p.items]
    assert item.external_id == "2"
    assert item.extra["turns"][-1]["body"] == "Actually it broke on day one."
    assert item.text.endswith("Actually it broke on day one.")
    # Nothing new since: an empty, exhausted page.
    page = connector(desk, clock).fetch_page(cursor_after)
    assert page.items == [] and page.exhausted


def test_resumes_from_a_stored_cursor_without_repeating(desk: ZendeskApi, clock: FakeClock) -> None:
    first = connector(desk, clock).fetch_page(None)
    pages, _ = drain(connector(desk, clock), first.next_cursor)
    assert [i.external_id for p in pages for i in p.items] == ["3", "4", "5"]


def test_oauth_token_is_sent_as_bearer(desk: ZendeskApi, clock: FakeClock) -> None:
    oauth = ZendeskTicketsConnector(
        {"base_url": desk.base_url, "start_time": BASE_TS},
        {"oauth_token": OAUTH_TOKEN},
        http=make_http(clock),
    )
    pages, _ = drain(oauth, None)
    assert len([i for p in pages for i in p.items]) == 5
    assert desk.requests[0].headers["authorization"] == f"Bearer {OAUTH_TOKEN}"


def test_bad_credentials_give_a_clear_message(desk: ZendeskApi, clock: FakeClock) -> None:
    bad = ZendeskTicketsConnector(
        {"base_url": desk.base_url}, {"email": EMAIL, "api_token": "revoked"}, http=make_http(clock)
    )
    with pytest.raises(ConnectorAuthError) as caught:
        bad.fetch_page(None)
    message = str(caught.value)
    assert message.startswith(
        "Zendesk refused the credentials (HTTP 401). Check the source's email and API token"
    )
    assert message.endswith("The API said: Couldn't authenticate you")
    assert "revoked" not in message
    assert len(desk.requests) == 1


def test_rate_limited_export_waits_for_retry_after(desk: ZendeskApi, clock: FakeClock) -> None:
    desk.script(EXPORT_PATH, Response.json({"error": "TooManyRequests"}, 429, {"Retry-After": "45"}))
    page = connector(desk, clock).fetch_page(None)
    assert len(page.items) == 2
    assert clock.sleeps == [45.0]


def test_rate_limited_comments_fail_the_whole_page(desk: ZendeskApi, clock: FakeClock) -> None:
    desk.script("/api/v2/tickets/2/comments.json", Response.json({}, 429, {"Retry-After": "600"}))
    with pytest.raises(ConnectorRateLimited):
        connector(desk, clock).fetch_page(None)


def test_a_deleted_ticket_is_skipped_and_the_rest_come_through(desk: ZendeskApi, clock: FakeClock) -> None:
    desk.script("/api/v2/tickets/1/comments.json", Response.json({"error": "RecordNotFound"}, 404))
    page = connector(desk, clock).fetch_page(None)
    assert [i.external_id for i in page.items] == ["2"]
    (skipped,) = page.skipped
    assert skipped.external_id == "1" and skipped.index == 0
    assert skipped.reason.startswith("ticket 1: comments unavailable: HTTP 404")
    assert len(desk.requests_to("/api/v2/tickets/1/comments.json")) == 1  # a 404 is not retried


def test_malformed_comments_skip_only_their_ticket(desk: ZendeskApi, clock: FakeClock) -> None:
    desk.script("/api/v2/tickets/2/comments.json", Response.raw('{"comments": "nope"}'))
    page = connector(desk, clock).fetch_page(None)
    assert [i.external_id for i in page.items] == ["1"]
    assert "comments: Input should be a valid list" in page.skipped[0].reason


def test_bad_tickets_and_comments_are_skipped_with_reasons(desk: ZendeskApi, clock: FakeClock) -> None:
    desk.raw_tickets.append((BASE_TS + 50, 40, {"id": "forty", "requester_id": CUSTOMER}))
    desk.raw_tickets.append((BASE_TS + 51, 41, ["not", "a", "ticket"]))
    desk.add_ticket(42, requester_id=CUSTOMER, subject="bad comment", at=52)
    desk.add_comment(42, CUSTOMER, "fine", at=52)
    desk.comments[42].append({"id": 1, "author_id": CUSTOMER, "body": "no date", "public": True})
    desk.add_ticket(43, requester_id=CUSTOMER, subject="outbound", at=53)
    desk.add_comment(43, AGENT, "We noticed an issue with your account.", at=53)
    page = connector(desk, clock, per_page=10).fetch_page(None)
    assert [i.external_id for i in page.items] == ["1", "2", "3", "4", "5"]
    reasons = {s.index: s.reason for s in page.skipped}
    assert reasons[0].startswith("id: Input should be a valid integer")
    assert "valid dictionary" in reasons[1]
    assert reasons[2] == "ticket 42: comment 1 is malformed: created_at: Field required"
    assert reasons[3] == "ticket 43 has no public customer turn"
    assert page.skipped[0].external_id == "forty"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"tickets": [], "end_of_stream": tru', "not valid JSON"),
        ('{"tickets": [], "after_cursor": "x"}', "end_of_stream: Field required"),
        ('{"tickets": null, "end_of_stream": true}', "tickets: Input should be a valid list"),
        ('{"tickets": [], "end_of_stream": "false"}', "end_of_stream: Input should be a valid boolean"),
        ('{"tickets": [], "end_of_stream": false}', "gives no after_cursor"),
    ],
)
def test_malformed_export_pages(desk: ZendeskApi, clock: FakeClock, body: str, reason: str) -> None:
    desk.script(EXPORT_PATH, Response.raw(body))
    with pytest.raises(MalformedPageError, match=reason):
        connector(desk, clock).fetch_page({"cursor": "MTc5MDAwMDEwMC4wfHwxfA=="})
    assert len(desk.requests) == 1


def test_a_next_page_on_another_host_is_refused(desk: ZendeskApi, clock: FakeClock) -> None:
    body = {
        "comments": [],
        "users": [],
        "next_page": "https://evil.example/api/v2/tickets/1/comments.json?page=2",
    }
    desk.script("/api/v2/tickets/1/comments.json", Response.json(body))
    page = connector(desk, clock).fetch_page(None)
    assert "another host" in page.skipped[0].reason
    assert [i.external_id for i in page.items] == ["2"]


def test_an_invalid_cursor_answered_400_is_permanent(desk: ZendeskApi, clock: FakeClock) -> None:
    with pytest.raises(ConnectorPermanentError, match="invalid cursor"):
        connector(desk, clock).fetch_page({"cursor": "%%%"})
    assert len(desk.requests) == 1


@pytest.mark.parametrize(
    ("config", "credentials", "message"),
    [
        ({}, {"oauth_token": "t"}, "invalid Zendesk config: Value error, give either subdomain or base_url"),
        ({"subdomain": "acme"}, {"email": "a:b@c.d", "api_token": "t"}, "email: String should match pattern"),
        ({"subdomain": "a", "base_url": "https://a.zendesk.com"}, {"oauth_token": "t"}, "either subdomain"),
        ({"subdomain": "Bad Name!"}, {"oauth_token": "t"}, "subdomain: String should match pattern"),
        (
            {"subdomain": "acme", "per_page": 5000},
            {"oauth_token": "t"},
            "per_page: Input should be less than",
        ),
        ({"subdomain": "acme"}, {"email": "a@b.c"}, "give either email and api_token, or oauth_token"),
        ({"subdomain": "acme"}, {"email": "a@b", "api_token": "t", "oauth_token": "o"}, "give either email"),
    ],
)
def test_config_errors(config: dict, credentials: dict, message: str) -> None:
    with pytest.raises(ConnectorConfigError, match=message):
        ZendeskTicketsConnector(config, credentials).validate_config()


def test_subdomain_builds_the_zendesk_url() -> None:
    ZendeskTicketsConnector({"subdomain": "acme"}, {"oauth_token": "t"}).validate_config()
    assert ZendeskConfig.model_validate({"subdomain": "acme"}).url == "https://acme.zendesk.com"
