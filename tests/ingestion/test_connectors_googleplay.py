"""Google Play reviews end to end against a local server speaking Google's token endpoint and the
Developer API's ``reviews.list`` wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ingestion.connectors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorPermanentError,
    ConnectorRateLimited,
    ItemKind,
    MalformedPageError,
    get_connector,
)
from ingestion.connectors.googleplay import GooglePlayReviewsConnector
from ingestion.connectors.wire import iso_utc
from ingestion.services import do_pull_source
from listening.mentions.models import Mention, QuarantinedItem, Source, SourceKind
from listening.replies.models import ReplyPair
from tests.conftest import Tenant
from tests.ingestion.servers.googleplay_api import (
    BASE_TIME,
    CLIENT_EMAIL,
    OTHER_KEY,
    PACKAGE,
    PRIVATE_KEY,
    REVIEWS_PATH,
    GooglePlayApi,
    key_file,
    make_review,
    moment,
    stamp,
)
from tests.ingestion.servers.harness import Response, serve
from tests.ingestion.servers.support import FakeClock, drain, make_http

ALL_IDS = {f"gp:review-{n}" for n in range(25)} | {"gp:review-3:reply"}


@pytest.fixture
def play() -> Iterator[GooglePlayApi]:
    api = GooglePlayApi()
    # 25 reviews, one a minute (review-24 the newest); review-3 has the developer's answer, the
    # newest stamp of all. Served odd ones first: Google documents no order.
    reviews = [
        make_review(n, f"review {n} of the acme app", age=60 * (25 - n), rating=1 + n % 5) for n in range(25)
    ]
    reviews[3] = make_review(
        3, "Crashes on start", age=60 * 22, rating=1, reply="Fixed in 3.2.2, sorry!", reply_age=10
    )
    api.reviews = reviews[1::2] + reviews[0::2]
    with serve(api) as running:
        yield running


def credentials(api: GooglePlayApi, *, key: rsa.RSAPrivateKey = PRIVATE_KEY) -> dict[str, str]:
    return {"service_account_json": key_file(f"{api.base_url}/token", key=key)}


def connector(
    api: GooglePlayApi, clock: FakeClock, *, secrets: dict[str, str] | None = None, **config: object
) -> GooglePlayReviewsConnector:
    settings = {
        "package_name": PACKAGE,
        "app_name": "Acme",
        "max_results": 10,
        "base_url": api.base_url,
        **config,
    }
    return GooglePlayReviewsConnector(settings, secrets or credentials(api), http=make_http(clock))


def test_pages_through_the_listing_with_one_token_from_a_signed_assertion(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    pages, cursor = drain(connector(play, clock), None)
    assert len(pages) == 3 and {item.external_id for p in pages for item in p.items} == ALL_IDS
    assert cursor == {"since": iso_utc(moment(BASE_TIME - 10))}  # the reply, the newest stamp
    assert play.tokens_issued == 1  # once per pull, not per page
    (claims,) = play.claims
    assert claims["iss"] == CLIENT_EMAIL and claims["iat"] == int(clock.now().timestamp())
    listing = play.requests_to(REVIEWS_PATH)
    assert "token" not in listing[0].query and listing[0].query["maxResults"] == "10"
    assert listing[1].query["token"] and listing[0].headers["authorization"].startswith("Bearer ")


def test_review_fields_rating_and_the_developer_reply_as_the_agent(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    pages, _ = drain(connector(play, clock), None)
    by_id = {item.external_id: item for p in pages for item in p.items}
    review, reply = by_id["gp:review-3"], by_id["gp:review-3:reply"]
    assert review.kind is ItemKind.REVIEW and review.text == "Crashes on start"
    assert review.extra["rating"] == 1 and review.extra["app_version"] == "3.2.1"
    assert review.extra["device"] == "klte" and review.extra["store"] == "google_play"
    assert review.published_at == moment(BASE_TIME - 60 * 22, 500_000_000)
    assert (review.channel, review.author.name, review.language) == ("Acme (Google Play)", "User 3", "en")
    assert (review.author_role, review.conversation_id, review.in_reply_to) == ("customer", "gp:review-3", "")
    assert review.url == f"https://play.google.com/store/apps/details?id={PACKAGE}&reviewId=gp%3Areview-3"
    assert reply.text == "Fixed in 3.2.2, sorry!" and reply.published_at == moment(BASE_TIME - 10)
    assert (reply.author_role, reply.in_reply_to, reply.conversation_id) == (
        "agent",
        "gp:review-3",
        "gp:review-3",
    )
    assert reply.channel == review.channel and "rating" not in reply.extra and reply.author.name == "Acme"


def test_a_title_and_body_come_apart_and_translation_is_asked_for(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    translated = make_review(7, "Great app\tBut the sync is slow", age=5)
    translated["comments"][0]["userComment"] |= {
        "originalText": "Tolle App\tAber langsam",
        "reviewerLanguage": "de",
    }
    play.reviews = [translated]
    (item,) = connector(play, clock, translation_language="en").fetch_page(None).items
    assert item.text == "Great app\n\nBut the sync is slow" and item.extra["title"] == "Great app"
    assert item.language == "en" and item.extra["original_text"] == "Tolle App\tAber langsam"
    assert play.requests_to(REVIEWS_PATH)[0].query["translationLanguage"] == "en"


def test_the_next_sweep_reads_every_page_and_keeps_only_what_is_new(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    _, cursor = drain(connector(play, clock), None)
    play.reviews.append(make_review(99, "brand new", age=-30))
    position = next(i for i, r in enumerate(play.reviews) if r["reviewId"] == "gp:review-5")
    play.reviews[position] = make_review(
        5, "review 5 of the acme app", age=60 * 20, reply="Thanks!", reply_age=-20
    )
    pages, again = drain(connector(play, clock), cursor)
    assert len(pages) == 3  # the order is undocumented: no stop at the first review seen
    # The seam (stamped exactly ``since``) comes again; storage, idempotent on the id, drops it.
    assert {i.external_id for p in pages for i in p.items} == {
        "gp:review-99",
        "gp:review-5:reply",
        "gp:review-3:reply",
    }
    assert again == {"since": iso_utc(moment(BASE_TIME + 30, 500_000_000))}


def test_an_app_without_recent_reviews_answers_an_empty_document(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    play.reviews = []
    pages, cursor = drain(connector(play, clock), {"since": "2026-11-18T00:00:00Z"})
    assert [len(p.items) for p in pages] == [0] and cursor == {"since": "2026-11-18T00:00:00Z"}


def test_429_and_5xx_are_retried_and_a_long_quota_wait_raises(play: GooglePlayApi, clock: FakeClock) -> None:
    play.script(REVIEWS_PATH, Response.json({"error": {"code": 429}}, 429, {"Retry-After": "3"}))
    play.script(REVIEWS_PATH, Response.json({"error": {"code": 503}}, 503))
    play.script("/token", Response.json({"error": "internal_failure"}, 500))
    assert len(connector(play, clock).fetch_page(None).items) == 11
    assert len(clock.sleeps) == 3 and 3.0 in clock.sleeps
    play.script(REVIEWS_PATH, Response.json({"error": {"code": 429}}, 429, {"Retry-After": "3600"}))
    with pytest.raises(ConnectorRateLimited) as caught:
        connector(play, clock).fetch_page(None)
    assert caught.value.resume_at is not None


def test_a_key_google_does_not_know_is_refused_clearly_without_retry(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    with pytest.raises(ConnectorAuthError, match="Reply to reviews") as caught:
        connector(play, clock, secrets=credentials(play, key=OTHER_KEY)).fetch_page(None)
    assert "invalid_grant: Invalid JWT Signature." in str(caught.value) and caught.value.status == 400
    assert len(play.requests) == 1 and play.requests[0].path == "/token"


def test_an_expired_token_and_a_missing_permission_are_auth_errors(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    with pytest.raises(ConnectorAuthError, match="invalid authentication credentials"):
        connector(play, clock, secrets={"access_token": "ya29.expired"}).fetch_page(None)
    assert len(play.requests) == 1
    play.script(
        REVIEWS_PATH,
        Response.json({"error": {"code": 403, "message": "The caller does not have permission"}}, 403),
    )
    with pytest.raises(ConnectorAuthError, match="does not have permission") as caught:
        connector(play, clock).fetch_page(None)
    assert caught.value.status == 403


def test_an_unknown_package_is_not_retried(play: GooglePlayApi, clock: FakeClock) -> None:
    with pytest.raises(ConnectorPermanentError, match="404"):
        connector(play, clock, package_name="com.acme.other").fetch_page(None)
    assert len(play.requests_to("/androidpublisher")) == 1


def test_bad_reviews_are_skipped_and_a_broken_page_is_malformed(
    play: GooglePlayApi, clock: FakeClock
) -> None:
    bad_rating = make_review(1, "seven stars", rating=7)
    play.reviews = [
        make_review(0, "fine"),
        bad_rating,
        {
            "reviewId": "gp:reply-only",
            "comments": [{"developerComment": {"text": "hi", "lastModified": stamp(1)}}],
        },
        make_review(2, "odd stamp")
        | {
            "comments": [{"userComment": {"text": "x", "starRating": 3, "lastModified": {"seconds": "soon"}}}]
        },
    ]
    page = connector(play, clock).fetch_page(None)
    assert [i.external_id for i in page.items] == ["gp:review-0"]
    assert [s.external_id for s in page.skipped] == ["gp:review-1", "gp:reply-only", "gp:review-2"]
    assert "starRating" in page.skipped[0].reason and "no user comment" in page.skipped[1].reason
    play.script(REVIEWS_PATH, Response.json({"reviews": "nope"}))
    with pytest.raises(MalformedPageError):
        connector(play, clock).fetch_page(None)
    play.script(REVIEWS_PATH, Response.raw("<html>oops</html>"))
    with pytest.raises(MalformedPageError):
        connector(play, clock).fetch_page(None)


_GOOD = {"package_name": PACKAGE}
_BAD_PEM = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("config", "secrets", "message"),
    [
        ({}, {"access_token": "t"}, "package_name"),
        ({"package_name": "acme"}, {"access_token": "t"}, "package_name"),
        (_GOOD | {"max_results": 500}, {"access_token": "t"}, "max_results"),
        (_GOOD, {}, "either service_account_json or access_token"),
        (_GOOD, {"access_token": "t", "service_account_json": "{}"}, "either service_account_json"),
        (_GOOD, {"service_account_json": "TOPSECRETMATERIAL"}, "not JSON"),
        (_GOOD, {"service_account_json": json.dumps({"type": "service_account"})}, "client_email"),
        (
            _GOOD,
            {
                "service_account_json": json.dumps(
                    {"type": "service_account", "client_email": "a@b", "private_key": _BAD_PEM}
                )
            },
            "not an unencrypted PEM key",
        ),
    ],
)
def test_config_and_key_errors_are_clear_and_never_quote_the_secret(
    config: dict, secrets: dict, message: str
) -> None:
    with pytest.raises(ConnectorConfigError, match=message) as caught:
        GooglePlayReviewsConnector(config, secrets).validate_config()
    assert "TOPSECRET" not in str(caught.value)


def test_a_key_file_may_not_send_its_assertion_over_plain_http() -> None:
    secrets = {"service_account_json": key_file("http://example.com/token")}
    with pytest.raises(ConnectorConfigError, match="token_uri"):
        GooglePlayReviewsConnector(_GOOD, secrets).validate_config()


@pytest.mark.django_db
def test_pull_stores_reviews_with_rating_and_pairs_the_developer_reply(
    alice: Tenant, play: GooglePlayApi, django_capture_on_commit_callbacks: Any
) -> None:
    assert get_connector("google_play_reviews") is GooglePlayReviewsConnector
    source = Source.objects.create(
        organization=alice.org,
        name="Google Play",
        kind=SourceKind.REVIEW,
        connector="google_play_reviews",
        config={"package_name": PACKAGE, "app_name": "Acme", "base_url": play.base_url},
        credentials=credentials(play),
    )
    with django_capture_on_commit_callbacks(execute=True):  # pairs are recorded after the commit
        result = do_pull_source(source.pk)
    assert (result.stored, result.exhausted) == (26, True)
    review = Mention.objects.get(source=source, external_id="gp:review-3")
    assert review.rating == 1 and review.channel == "Acme (Google Play)" and review.author_role == "customer"
    reply = Mention.objects.get(source=source, external_id="gp:review-3:reply")
    assert (reply.author_role, reply.in_reply_to, reply.rating) == ("agent", "gp:review-3", None)
    pair = ReplyPair.objects.get(source=source)
    assert (pair.customer_mention_id, pair.agent_mention_id) == (review.pk, reply.pk)
    source.refresh_from_db()
    assert source.cursor == {"since": iso_utc(moment(BASE_TIME - 10))}
    play.script(REVIEWS_PATH, Response.json({"reviews": {"not": "a list"}}))
    assert "malformed" in do_pull_source(source.pk).error
    assert QuarantinedItem.objects.filter(source=source).exists()
    source.refresh_from_db()
    assert source.cursor == {"since": iso_utc(moment(BASE_TIME - 10))}
    Source.objects.filter(pk=source.pk).update(credentials=credentials(play, key=OTHER_KEY))
    do_pull_source(source.pk)
    source.refresh_from_db()
    assert "Reply to reviews" in source.last_error and "PRIVATE KEY" not in source.last_error


@pytest.mark.django_db
def test_the_sources_api_takes_a_key_file_and_refuses_a_broken_one_with_a_400(alice: Tenant) -> None:
    client = alice.client()
    body = {
        "name": "Play",
        "kind": "review",
        "connector": "google_play_reviews",
        "config": {"package_name": PACKAGE},
        "credentials": {"service_account_json": key_file("https://oauth2.googleapis.com/token")},
    }
    created = client.post("/api/v1/sources/", body, format="json")
    assert created.status_code == 201, created.content
    assert "PRIVATE KEY" not in client.get(f"/api/v1/sources/{created.json()['id']}/").content.decode()
    broken = body | {"name": "Play 2", "credentials": {"service_account_json": '{"type": "service_account"}'}}
    refused = client.post("/api/v1/sources/", broken, format="json")
    assert refused.status_code == 400 and "client_email" in refused.content.decode()
