"""Dashboard answers cost a constant number of SQL statements: more brands, more buckets or longer
ranges read more rows, never more statements (each statement is a round trip, and under load the
round trips were what grew)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from listening.brands.models import Brand
from tests.analytics.factories import Fixture, build_fixture
from tests.conftest import Tenant


@pytest.fixture
def fx(alice: Tenant) -> Fixture:
    return build_fixture(alice)


def _statements(fx: Fixture, path: str, params: dict[str, str]) -> int:
    client = fx.tenant.client()
    assert client.get(path, params).status_code == 200  # warm: anything cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


@pytest.mark.parametrize("interval", ["day", "hour"])
def test_campaign_metrics_statements_do_not_grow_with_buckets(fx: Fixture, interval: str) -> None:
    path = f"/api/v1/campaigns/{fx.campaign.pk}/metrics/"
    ranges = [
        {"from": "2026-01-10T09:00:00Z", "to": "2026-01-10T12:00:00Z"},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-30T05:00:00Z"},
        {},  # the campaign's window
    ]
    counts = {_statements(fx, path, {"interval": interval, **bounds}) for bounds in ranges}
    assert len(counts) == 1, counts
    # Authentication, the campaign, then series, authors (+ per hour), rollup sums, term counts,
    # the example mentions of the terms, the model versions behind the numbers.
    assert counts.pop() <= 9


@pytest.mark.parametrize("interval", ["day", "hour"])
def test_comparison_statements_do_not_grow_with_brands_or_buckets(fx: Fixture, interval: str) -> None:
    extra = [
        Brand.objects.create(organization=fx.tenant.org, name=f"extra {i}", query=f"extra{i}")
        for i in range(6)
    ]
    brands = [fx.brand, fx.rival, *extra]
    counts = set()
    for some in (brands[:1], brands[:2], brands):
        for bounds in (
            {"from": "2026-01-10T00:00:00Z", "to": "2026-01-12T00:00:00Z"},
            {"from": "2025-12-20T00:00:00Z", "to": "2026-01-20T00:00:00Z"},
        ):
            ids = ",".join(str(b.pk) for b in some)
            counts.add(
                _statements(fx, "/api/v1/comparisons/", {"brands": ids, "interval": interval, **bounds})
            )
    assert len(counts) == 1, counts
    # Authentication, the brands, then series, authors (+ per hour), term counts (+ day volumes),
    # the example mentions of the terms, the model versions behind the numbers.
    assert counts.pop() <= 9
