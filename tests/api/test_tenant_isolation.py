"""The cross-tenant matrix, built from the OpenAPI endpoint list so a new route is covered (or the
test fails until it is): bob's key never reaches alice's objects, and lists never show them."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from drf_spectacular.generators import EndpointEnumerator

from listening.learning.models import ModelVersion
from tests.alerts.factories import alert_of, rule_of, webhook_of
from tests.conftest import Tenant

# Resource segment of a detail route → how to find org A's object of that kind.
OBJECT_OF: dict[str, Callable[[Tenant], int]] = {
    "brands": lambda t: t.brand.pk,
    "campaigns": lambda t: t.campaign.pk,
    "sources": lambda t: t.source.pk,
    "mentions": lambda t: t.mention.pk,
    "api-keys": lambda t: t.org.api_keys.first().pk,  # type: ignore[union-attr]
    "alert-rules": lambda t: rule_of(t).pk,
    "alerts": lambda t: alert_of(t).pk,
    "webhooks": lambda t: webhook_of(t).pk,
    # a schedule; its nested runs/{id} and download take the same id, and must 404 just the same
    "reports": lambda t: _report_of(t),
    "models": lambda t: (
        ModelVersion.objects.get_or_create(
            organization=t.org, name=f"{t.org.slug}-v1", defaults={"backbone": "test"}
        )[0].pk
    ),
}


def _report_of(tenant: Tenant) -> int:
    from listening.reports.models import ReportSchedule

    schedule, _ = ReportSchedule.objects.get_or_create(
        organization=tenant.org, name="Weekly", defaults={"cron": "0 8 * * 1", "formats": ["csv"]}
    )
    schedule.brands.add(tenant.brand)
    return schedule.pk


ENDPOINTS = [(path, method) for path, _regex, method, _view in EndpointEnumerator().get_api_endpoints()]
DETAIL = [(p, m) for p, m in ENDPOINTS if p.startswith("/api/v1/") and "{" in p]
LISTS = [(p, m) for p, m in ENDPOINTS if p.startswith("/api/v1/") and "{" not in p and m == "GET"]


def _resource(path: str) -> str:
    return path.removeprefix("/api/v1/").split("/")[0]


def test_every_detail_route_is_in_the_matrix() -> None:
    uncovered = sorted({_resource(p) for p, _ in DETAIL} - OBJECT_OF.keys())
    assert not uncovered, f"add these resources to OBJECT_OF: {uncovered}"
    assert DETAIL and LISTS


@pytest.mark.parametrize(("path", "method"), DETAIL, ids=[f"{m} {p}" for p, m in DETAIL])
def test_foreign_objects_are_404(alice: Tenant, bob: Tenant, path: str, method: str) -> None:
    target = OBJECT_OF[_resource(path)](alice)
    url = re.sub(r"\{[^}]+\}", str(target), path)
    response = getattr(bob.client(), method.lower())(url, {}, format="json")
    assert response.status_code == 404, (method, url, response.status_code, response.content[:200])
    # and nothing was changed or deleted through the foreign key
    assert (
        alice.client().get(re.sub(r"\{[^}]+\}", str(target), path.split("{")[0] + "{id}/")).status_code == 200
    )


@pytest.mark.parametrize("path", [p for p, _ in LISTS])
def test_lists_show_no_foreign_rows(alice: Tenant, bob: Tenant, path: str) -> None:
    response = bob.client().get(path)
    assert response.status_code in (200, 400), (path, response.status_code)
    body = response.content.decode()
    for marker in ("alice", "Acme"):
        assert marker not in body, f"{path} leaked org A data ({marker!r})"


def test_foreign_ids_in_bodies_are_refused(alice: Tenant, bob: Tenant) -> None:
    client = bob.client()
    created = client.post(
        "/api/v1/campaigns/",
        {"brand": alice.brand.pk, "name": "x", "query": "x", "starts_at": "2026-01-01T00:00:00Z"},
        format="json",
    )
    assert created.status_code == 400 and "brand" in created.json()
    patched = client.patch(
        f"/api/v1/brands/{bob.brand.pk}/", {"competitors": [alice.brand.pk]}, format="json"
    )
    assert patched.status_code == 400 and "competitors" in patched.json()


def test_filters_by_foreign_ids_return_nothing(alice: Tenant, bob: Tenant) -> None:
    response = bob.client().get("/api/v1/mentions/", {"brand": alice.brand.pk})
    assert response.status_code == 200 and response.json()["results"] == []


def test_mass_assignment_of_organization_is_ignored(alice: Tenant, bob: Tenant) -> None:
    response = bob.client().post(
        "/api/v1/brands/", {"name": "Sneaky", "query": "sneaky", "organization": alice.org.pk}, format="json"
    )
    assert response.status_code == 201
    assert not alice.org.brands.filter(name="Sneaky").exists()
    assert bob.org.brands.filter(name="Sneaky").exists()
