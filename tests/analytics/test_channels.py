"""Share of voice by channel and by source kind in comparisons, and the channel facet of the
mention list, over HTTP on the hand-built fixture."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from listening.mentions.models import Mention, SourceKind
from tests.analytics.factories import Fixture, build_fixture
from tests.conftest import Tenant
from tests.security.openapi import assert_documented, openapi

WINDOW = {"from": "2026-01-10T00:00:00Z", "to": "2026-01-20T00:00:00Z"}
START, END = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC)


@pytest.fixture
def fx(alice: Tenant) -> Fixture:
    fx = build_fixture(alice)
    # A's five window mentions: three in r/acme, two on a news site; B's two: one each.
    a = list(
        Mention.objects.filter(
            brand_mentions__brand=fx.brand, published_at__gte=START, published_at__lt=END
        ).order_by("id")
    )
    b = list(Mention.objects.filter(brand_mentions__brand=fx.rival).order_by("id"))
    assert (len(a), len(b)) == (5, 2)
    Mention.objects.filter(pk__in=[m.pk for m in a[:3]] + [b[0].pk]).update(channel="r/acme")
    Mention.objects.filter(pk__in=[m.pk for m in a[3:]] + [b[1].pk]).update(
        channel="news.example.com", kind=SourceKind.NEWS
    )
    return fx


def _compare(fx: Fixture, **params: str) -> dict:
    response = fx.tenant.client().get(
        "/api/v1/comparisons/", {"brands": f"{fx.brand.pk},{fx.rival.pk}", **WINDOW, **params}
    )
    assert response.status_code == 200, response.content
    assert_documented("GET", "/api/v1/comparisons/", response.json())
    return response.json()


def test_share_of_voice_by_channel(fx: Fixture) -> None:
    groups = _compare(fx, group_by="channel")["groups"]
    a, b = str(fx.brand.pk), str(fx.rival.pk)
    by_place = {(g["kind"], g["channel"]): g for g in groups}
    reddit = by_place[(str(SourceKind.SOCIAL), "r/acme")]
    assert reddit["total"] == 4 and reddit["mentions"] == {a: 3, b: 1}
    assert reddit["share"][a] == pytest.approx(0.75)
    news = by_place[(str(SourceKind.NEWS), "news.example.com")]
    assert news["mentions"] == {a: 2, b: 1} and news["share"][b] == pytest.approx(1 / 3)
    assert [g["total"] for g in groups] == sorted((g["total"] for g in groups), reverse=True)


def test_share_of_voice_by_source_kind_and_without_grouping(fx: Fixture) -> None:
    groups = _compare(fx, group_by="source_kind")["groups"]
    assert {g["kind"]: g["total"] for g in groups} == {"social": 4, "news": 3}
    assert "groups" not in _compare(fx)


def test_an_unknown_group_by_is_a_clear_400(fx: Fixture) -> None:
    response = fx.tenant.client().get(
        "/api/v1/comparisons/", {"brands": str(fx.brand.pk), **WINDOW, "group_by": "weather"}
    )
    assert response.status_code == 400 and "group_by" in response.content.decode()


def test_mention_list_filters_by_channel_and_source_kind(fx: Fixture) -> None:
    client = fx.tenant.client()
    body = client.get("/api/v1/mentions/", {"channel": "r/acme"}).json()
    assert {m["channel"] for m in body["results"]} == {"r/acme"} and len(body["results"]) == 4
    schema = openapi()
    parameters = {p["name"] for p in schema["paths"]["/api/v1/mentions/"]["get"]["parameters"]}
    assert {"channel", "source_kind"} <= parameters
    assert "channel" in schema["components"]["schemas"]["Mention"]["properties"]
    news = client.get("/api/v1/mentions/", {"source_kind": "news"}).json()["results"]
    assert len(news) == 3 and {m["kind"] for m in news} == {"news"}
    assert client.get("/api/v1/mentions/", {"source_kind": "fax"}).status_code == 400
