from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from listening.mentions.models import Mention, SourceKind
from tests.conftest import Tenant


def test_brand_crud_and_competitors(alice: Tenant) -> None:
    client = alice.client()
    created = client.post(
        "/api/v1/brands/",
        {"name": "Initech", "query": "initech", "competitors": [alice.brand.pk]},
        format="json",
    )
    assert created.status_code == 201, created.content
    brand_id = created.json()["id"]
    assert created.json()["competitors"] == [alice.brand.pk]
    assert (
        client.patch(f"/api/v1/brands/{brand_id}/", {"competitors": [brand_id]}, format="json").status_code
        == 400
    )
    duplicate = client.post("/api/v1/brands/", {"name": "Initech", "query": "x"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    assert client.delete(f"/api/v1/brands/{brand_id}/").status_code == 204


def test_campaign_validates_dates_and_defaults_baseline(alice: Tenant) -> None:
    client = alice.client()
    bad = client.post(
        "/api/v1/campaigns/",
        {
            "brand": alice.brand.pk,
            "name": "Backwards",
            "query": "x",
            "starts_at": "2026-05-02T00:00:00Z",
            "ends_at": "2026-05-01T00:00:00Z",
        },
        format="json",
    )
    assert bad.status_code == 400 and "ends_at" in bad.json()
    good = client.post(
        "/api/v1/campaigns/",
        {
            "brand": alice.brand.pk,
            "name": "Spring",
            "query": "#spring",
            "starts_at": "2026-05-01T00:00:00Z",
            "ends_at": "2026-05-11T00:00:00Z",
        },
        format="json",
    )
    assert good.status_code == 201
    assert good.json()["baseline_starts_at"] == "2026-04-21T00:00:00Z"
    assert good.json()["baseline_ends_at"] == "2026-05-01T00:00:00Z"
    # a campaign so long that an equal baseline before it would start before year 1
    ancient = client.post(
        "/api/v1/campaigns/",
        {
            "brand": alice.brand.pk,
            "name": "Forever",
            "query": "x",
            "starts_at": "0320-09-09T11:35:00Z",
            "ends_at": "8416-01-08T20:31:27Z",
        },
        format="json",
    )
    assert ancient.status_code == 400 and "baseline_starts_at" in ancient.json()


def test_source_credentials_are_write_only_and_bounded(alice: Tenant) -> None:
    client = alice.client()
    created = client.post(
        "/api/v1/sources/",
        {"name": "X", "kind": "social", "connector": "push", "credentials": {"bearer_token": "s3cret"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert "credentials" not in created.json() and created.json()["has_credentials"] is True
    assert "s3cret" not in client.get(f"/api/v1/sources/{created.json()['id']}/").content.decode()
    huge = client.post(
        "/api/v1/sources/", {"name": "Y", "kind": "social", "config": {"q": "x" * 20_000}}, format="json"
    )
    assert huge.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"name": ',
        "[]",
        '{"name": 5, "query": {"a": 1}}',
        '{"name": "' + "n" * 5000 + '", "query": "q"}',
    ],
)
def test_malformed_bodies_are_4xx_with_a_message(alice: Tenant, body: str) -> None:
    response = alice.client().generic("POST", "/api/v1/brands/", body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()


def _mentions(tenant: Tenant, count: int) -> None:
    now = timezone.now()
    Mention.objects.bulk_create(
        Mention(
            organization=tenant.org,
            source=tenant.source,
            external_id=f"bulk-{i}",
            kind=SourceKind.SOCIAL,
            text=f"post {i}",
            clean_text=f"post {i}",
            language="en" if i % 2 else "fr",
            sentiment="positive" if i % 3 else "negative",
            published_at=now - timedelta(minutes=i),
        )
        for i in range(count)
    )


def test_pagination_is_clamped_and_walks_every_row(alice: Tenant, settings: object) -> None:
    settings.API_MAX_PAGE_SIZE = 5  # type: ignore[attr-defined]
    _mentions(alice, 12)
    client = alice.client()
    seen: list[int] = []
    url: str | None = "/api/v1/mentions/?page_size=1000"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 5
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 13  # 12 + the fixture's mention


def test_mention_filters(alice: Tenant) -> None:
    _mentions(alice, 6)
    client = alice.client()
    assert len(client.get("/api/v1/mentions/", {"language": "fr"}).json()["results"]) == 3
    assert len(client.get("/api/v1/mentions/", {"sentiment": "negative"}).json()["results"]) == 2
    assert len(client.get("/api/v1/mentions/", {"brand": alice.brand.pk}).json()["results"]) == 1
    assert len(client.get("/api/v1/mentions/", {"q": "POST 3"}).json()["results"]) == 1
    since = (timezone.now() - timedelta(minutes=2, seconds=30)).isoformat()
    assert (
        len(client.get("/api/v1/mentions/", {"since": since, "source_kind": "social"}).json()["results"]) == 3
    )
    # the same moment with an offset PostgreSQL would refuse (beyond ±15:59): compared in UTC
    far_offset = datetime.fromisoformat(since).astimezone(dt_timezone(-timedelta(hours=16, minutes=29)))
    assert len(client.get("/api/v1/mentions/", {"since": far_offset.isoformat()}).json()["results"]) == 3
    for bad in (
        {"since": "yesterday"},
        {"since": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
        {"sentiment": "angry"},
        {"brand": "x"},
        {"brand": "1.5"},
        {"cursor": "garbage"},
    ):
        assert client.get("/api/v1/mentions/", bad).status_code in (400, 404), bad


def test_mention_detail_carries_matches(alice: Tenant) -> None:
    body = alice.client().get(f"/api/v1/mentions/{alice.mention.pk}/").json()
    assert body["brands"] == [alice.brand.pk] and body["campaigns"] == [alice.campaign.pk]
    assert body["author"] == {"id": "", "handle": "", "name": ""}


def test_rate_limit_answers_429_with_retry_after(alice: Tenant, bob: Tenant, settings: object) -> None:
    settings.API_RATE_LIMIT = "3/min"  # type: ignore[attr-defined]
    client = alice.client()
    statuses = [client.get("/api/v1/brands/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/brands/")
    # Sliding window: three requests counted in this minute-window still weigh 3 * (1 - t/60) in
    # the next one, so a fourth fits 20 s into it: at most 60 + 20 s away, depending on the clock.
    assert limited.status_code == 429 and 0 < int(limited["Retry-After"]) <= 80
    # the limit is per organization: org B is unaffected
    assert bob.client().get("/api/v1/brands/").status_code == 200


def test_schema_and_docs_are_served(client: object, db: None) -> None:
    schema = client.get("/api/schema/")  # type: ignore[attr-defined]
    assert schema.status_code == 200 and b"/api/v1/brands/" in schema.content
    assert client.get("/api/docs/").status_code == 200  # type: ignore[attr-defined]
    assert client.get("/healthz").status_code == 200  # type: ignore[attr-defined]
    metrics = client.get("/metrics").content  # type: ignore[attr-defined]
    assert b"django_http_requests" in metrics and b"listening_dead_letters" in metrics
