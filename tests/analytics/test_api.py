"""Campaign metrics and comparisons over HTTP, with exact numbers on the hand-built fixture."""

from __future__ import annotations

import pytest

from tests.analytics.factories import Fixture, build_fixture
from tests.conftest import Tenant
from tests.security.openapi import assert_documented

WINDOW = {"from": "2026-01-10T00:00:00Z", "to": "2026-01-20T00:00:00Z"}


@pytest.fixture
def fx(alice: Tenant) -> Fixture:
    return build_fixture(alice)


def _compare(fx: Fixture, **params: str) -> dict:
    response = fx.tenant.client().get(
        "/api/v1/comparisons/", {"brands": f"{fx.brand.pk},{fx.rival.pk}", **WINDOW, **params}
    )
    assert response.status_code == 200, response.content
    assert_documented("GET", "/api/v1/comparisons/", response.json())
    return response.json()


def test_comparison_share_of_voice_and_net_sentiment(fx: Fixture) -> None:
    body = _compare(fx)
    a, b = body["brands"]
    # A: 5 mentions (2 pos, 1 neg, 1 neu, 1 unscored), engagement 10+5+1+0+4 = 20; B: 2 mentions, 20.
    assert (a["volume"], b["volume"]) == (5, 2)
    assert a["sentiment"] == {"positive": 2, "neutral": 1, "negative": 1, "unscored": 1}
    assert a["net_sentiment"] == pytest.approx(1 / 3, abs=1e-4)
    assert b["net_sentiment"] == 0.0
    assert a["share_of_voice"] == {"mentions": pytest.approx(5 / 7, abs=1e-4), "engagement": 0.5}
    assert b["share_of_voice"]["mentions"] == pytest.approx(2 / 7, abs=1e-4)
    # u1, u2, u3; the anonymous mention is nobody that can be counted.
    assert (a["unique_authors"], b["unique_authors"]) == (3, 2)
    assert len(a["series"]["volume"]) == 10 and sum(a["series"]["volume"]) == 5
    assert body["buckets"][0] == "2026-01-10T00:00:00Z" and len(body["buckets"]) == 10
    assert a["series"]["net_sentiment"][:3] == [1.0, -1.0, None]
    # "shoes" is in every A mention and no B mention: A's leading theme; "boots" is B's.
    assert a["themes"]["leads"][0]["term"] == "shoes"
    assert b["themes"]["leads"][0]["term"] == "boots"
    assert a["themes"]["lags"][0]["term"] == "boots"
    assert body["range"]["clamped"] is False


def test_campaign_metrics_exact(fx: Fixture) -> None:
    response = fx.tenant.client().get(f"/api/v1/campaigns/{fx.campaign.pk}/metrics/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_documented("GET", "/api/v1/campaigns/{id}/metrics/", body)
    # Default range: the campaign window (it ended before now).
    assert body["range"]["from"].startswith("2026-01-10") and body["range"]["to"].startswith("2026-01-20")
    assert body["volume"] == 4 and body["engagement"] == 16 and body["unique_authors"] == 3
    assert body["sentiment"] == {"positive": 2, "neutral": 1, "negative": 1, "unscored": 0}
    assert body["net_sentiment"] == pytest.approx(1 / 3, abs=1e-4)
    m1, m2, m3, m4 = (m.pk for m in fx.builder.created[:4])
    # Each term with the newest mentions that contain it.
    assert body["top_hashtags"] == [{"term": "#launch", "mentions": 3, "examples": [m3, m2, m1]}]
    assert body["top_terms"][0] == {"term": "shoes", "mentions": 4, "examples": [m4, m3, m2]}
    # Against the brand's baseline (where "shoes" was in 2 of 2 mentions) only #launch rose.
    assert body["emerging_themes"][0]["term"] == "#launch"
    assert body["emerging_themes"][0]["rise"] == 0.75
    brand_lift = body["lift"]["brand"]
    # Brand: 5 mentions over 10 days vs 2 over 5 days -> 0.5 / 0.4 per day; net 1/3 vs 0.
    assert brand_lift["window"]["volume_per_day"] == 0.5
    assert brand_lift["baseline"]["volume_per_day"] == 0.4
    assert brand_lift["volume_lift"] == 1.25
    assert brand_lift["net_sentiment_change"] == pytest.approx(1 / 3, abs=1e-4)
    # The campaign has no mentions in its baseline: no ratio to give.
    assert body["lift"]["campaign"]["volume_lift"] is None
    assert body["series"]["volume"] == [2, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert body["series"]["engagement"][:3] == [15, 1, 0]


def test_hourly_series_counts_authors_per_hour(fx: Fixture) -> None:
    response = fx.tenant.client().get(
        f"/api/v1/campaigns/{fx.campaign.pk}/metrics/",
        {"interval": "hour", "from": "2026-01-10T09:00:00Z", "to": "2026-01-10T12:00:00Z"},
    )
    assert response.status_code == 200
    series = response.json()["series"]
    assert series["volume"] == [2, 0, 0] and series["unique_authors"] == [2, 0, 0]


def test_empty_range_is_zeros_not_an_error(fx: Fixture) -> None:
    body = _compare(fx, **{"from": "2025-03-01T00:00:00Z", "to": "2025-03-03T00:00:00Z"})
    for brand in body["brands"]:
        assert brand["volume"] == 0 and brand["net_sentiment"] is None
        assert brand["share_of_voice"] == {"mentions": None, "engagement": None}
        assert brand["series"]["volume"] == [0, 0]
    metrics = fx.tenant.client().get(
        f"/api/v1/campaigns/{fx.campaign.pk}/metrics/", {"from": "2025-03-01", "to": "2025-03-01"}
    )
    assert (
        metrics.status_code == 200
        and metrics.json()["volume"] == 0
        and metrics.json()["series"]["volume"] == []
    )


@pytest.mark.parametrize("path", ["campaign", "comparison"])
def test_from_after_to_is_400(fx: Fixture, path: str) -> None:
    params = {"from": "2026-01-20T00:00:00Z", "to": "2026-01-10T00:00:00Z"}
    if path == "campaign":
        response = fx.tenant.client().get(f"/api/v1/campaigns/{fx.campaign.pk}/metrics/", params)
    else:
        response = fx.tenant.client().get("/api/v1/comparisons/", {"brands": str(fx.brand.pk), **params})
    assert response.status_code == 400 and "from" in response.json()


def test_huge_ranges_are_clamped_and_say_so(fx: Fixture) -> None:
    hourly = fx.tenant.client().get(
        f"/api/v1/campaigns/{fx.campaign.pk}/metrics/",
        {"interval": "hour", "from": "2020-01-01T00:00:00Z", "to": "2026-01-20T00:00:00Z"},
    )
    assert hourly.status_code == 200
    info = hourly.json()["range"]
    assert info["clamped"] is True and info["max_buckets"] == 744
    assert info["from"].startswith("2025-12-20") and info["requested_from"].startswith("2020-01-01")
    assert len(hourly.json()["series"]["volume"]) == 744 and len(hourly.json()["buckets"]) == 744
    daily = _compare(fx, **{"from": "2000-01-01T00:00:00Z", "interval": "day"})
    assert daily["range"]["clamped"] is True and len(daily["brands"][0]["series"]["volume"]) == 731


@pytest.mark.parametrize(
    ("brands", "status"),
    [("abc", 400), ("", 400), (",".join(str(i) for i in range(1, 30)), 400), ("999999999", 404)],
)
def test_bad_brand_lists(fx: Fixture, brands: str, status: int) -> None:
    assert fx.tenant.client().get("/api/v1/comparisons/", {"brands": brands}).status_code == status


def test_foreign_brands_and_campaigns_are_404(fx: Fixture, bob: Tenant) -> None:
    mixed = f"{bob.brand.pk},{fx.brand.pk}"
    assert bob.client().get("/api/v1/comparisons/", {"brands": mixed}).status_code == 404
    assert bob.client().get(f"/api/v1/campaigns/{fx.campaign.pk}/metrics/").status_code == 404
    assert bob.client().get(f"/api/v1/brands/{fx.brand.pk}/topics/").status_code == 404
    assert bob.client().get(f"/api/v1/brands/{fx.brand.pk}/affinities/").status_code == 404


def test_bad_parameters_are_400(fx: Fixture) -> None:
    client = fx.tenant.client()
    url = f"/api/v1/campaigns/{fx.campaign.pk}/metrics/"
    assert client.get(url, {"interval": "week"}).status_code == 400
    assert client.get(url, {"from": "yesterday"}).status_code == 400
    assert client.get(f"/api/v1/brands/{fx.brand.pk}/topics/", {"k": "1"}).status_code == 400


def test_unique_authors_is_null_where_no_author_is_known(fx: Fixture) -> None:
    """Reviews and imports without authors: unknown, not as many authors as mentions."""
    from listening.brands.models import Brand
    from tests.analytics.factories import Builder

    anonymous = Brand.objects.create(organization=fx.tenant.org, name="Anon", query="anon")
    builder = Builder(fx.tenant, counter=500)
    for day in ("2026-01-10T10:00:00", "2026-01-10T11:00:00", "2026-01-12T10:00:00"):
        builder.mention(day, sentiment="positive", text="anon review", brands=(anonymous,))
    builder.roll_up()
    response = fx.tenant.client().get(
        "/api/v1/comparisons/", {"brands": f"{anonymous.pk},{fx.rival.pk}", **WINDOW}
    )
    assert response.status_code == 200
    assert_documented("GET", "/api/v1/comparisons/", response.json())
    anon, rival = response.json()["brands"]
    assert anon["volume"] == 3 and anon["unique_authors"] is None
    assert anon["series"]["unique_authors"][:3] == [None, 0, None]  # null where there were mentions
    assert rival["unique_authors"] == 2
