"""The cross-tenant matrix, built from the OpenAPI endpoint list so a new route is covered (or the
test fails until it is): bob's key never reaches alice's objects, lists never show them, and an id of
alice's sent in a query string or a body reads exactly like an id that does not exist."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from drf_spectacular.generators import EndpointEnumerator

from listening.learning.models import ModelVersion
from tests.alerts.factories import alert_of, rule_of
from tests.conftest import Tenant
from tests.security.objects import VALID_BODY, classifier_of, fresh_path_ids, new_reply_model, new_suggestion
from tests.security.openapi import integer_body_fields, operations, query_parameters
from tests.webhooks.factories import webhook_of

# Resource segment of a detail route → how to find org A's object of that kind.
OBJECT_OF: dict[str, Callable[[Tenant], int]] = {
    "classifiers": lambda t: classifier_of(t).pk,
    "brands": lambda t: t.brand.pk,
    "campaigns": lambda t: t.campaign.pk,
    "sources": lambda t: t.source.pk,
    "mentions": lambda t: t.mention.pk,
    "reply-suggestions": lambda t: new_suggestion(t).pk,
    "reply-models": lambda t: new_reply_model(t).pk,
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


# --- references to objects through query strings and bodies ------------------------------------

# A query parameter or body field that names an object → that object of a tenant. Every query
# parameter and every integer body field of the schema is classified here or in NOT_REFERENCES.
QUERY_REFERENCES: dict[str, Callable[[Tenant], int]] = {
    "brand": lambda t: t.brand.pk,
    "brands": lambda t: t.brand.pk,  # comma-separated; sent after one of the caller's own
    "campaign": lambda t: t.campaign.pk,
    "source": lambda t: t.source.pk,
    "rule": lambda t: rule_of(t).pk,
    "classifier": lambda t: classifier_of(t).pk,
}
BODY_REFERENCES: dict[str, Callable[[Tenant], int]] = {
    "brand": lambda t: t.brand.pk,
    "brands": lambda t: t.brand.pk,
    "competitors": lambda t: t.competitor.pk,
    "campaign": lambda t: t.campaign.pk,
    "campaigns": lambda t: t.campaign.pk,
    "source": lambda t: t.source.pk,
    "first": lambda t: t.mention.pk,
    "second": lambda t: t.mention.pk,
    "mention": lambda t: t.mention.pk,
    "classifier": lambda t: classifier_of(t).pk,
    "ranking": lambda t: new_suggestion(t).pk,  # suggestion ids, best first
}
NOT_REFERENCES = {
    # query strings
    "cursor", "page_size", "from", "to", "interval", "k", "seed", "topics", "format",
    "q", "language", "sentiment", "since", "until", "source_kind", "channel", "group_by", "status",
    "is_false_positive", "label", "limit",
    # bodies
    "min_volume", "min_negative", "cooldown_minutes", "window_minutes", "lookback_days",
    "pull_interval_seconds", "items[].rating", "n",
}  # fmt: skip
LIST_FIELDS = {"brands", "competitors", "campaigns", "ranking"}
MISSING = 2_000_000_001

REFERENCES = sorted(
    [(m, p, "query", name) for m, p, op in operations() for name in query_parameters(op)]
    + [(m, p, "body", name) for m, p, op in operations() for name in integer_body_fields(op)]
)
FOREIGN = [r for r in REFERENCES if r[3] in (QUERY_REFERENCES if r[2] == "query" else BODY_REFERENCES)]


def test_every_reference_is_classified() -> None:
    unclassified = sorted(
        {(where, name) for _, _, where, name in REFERENCES}
        - {("query", n) for n in QUERY_REFERENCES}
        - {("body", n) for n in BODY_REFERENCES}
        - {(w, n) for w in ("query", "body") for n in NOT_REFERENCES}
    )
    assert not unclassified, f"classify in QUERY_REFERENCES/BODY_REFERENCES or NOT_REFERENCES: {unclassified}"
    assert not [r for r in FOREIGN if r[2] == "body" and (r[0], r[1]) not in VALID_BODY]


# Operations that take no id of another object anywhere (beyond their path, covered above).
NO_REFERENCES = {
    ("POST", "/api/v1/analyze"),
    ("POST", "/api/v1/api-keys/"),
    ("POST", "/api/v1/sources/"),
    ("POST", "/api/v1/webhooks/"),
    ("POST", "/api/v1/models/rollback"),  # acts on the caller's organization only
    ("POST", "/api/v1/reply-models/rollback"),  # the same, for its reply models
}


def test_every_operation_is_in_the_matrix() -> None:
    covered = {(m, p) for p, m in DETAIL} | {(m, p) for p, m in LISTS} | {(m, p) for m, p, _, _ in FOREIGN}
    covered = {(m, p.replace("{pk}", "{id}")) for m, p in covered}
    uncovered = sorted({(m, p) for m, p, _ in operations()} - covered - NO_REFERENCES)
    assert not uncovered, f"cover these operations in the cross-tenant matrix: {uncovered}"


@pytest.mark.parametrize(("method", "path", "where", "name"), FOREIGN, ids=[" ".join(r) for r in FOREIGN])
def test_foreign_references_read_as_missing(
    alice: Tenant, bob: Tenant, method: str, path: str, where: str, name: str
) -> None:
    """Bob names alice's object: the answer is the one for an id that does not exist (same status,
    same body but for the id), nothing of alice's shows, and nothing is written through it."""
    ids = fresh_path_ids(path, bob) if "{" in path else {}
    url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    client: Any = bob.client()

    def call(ref: int) -> Any:
        if where == "query":
            value = f"{bob.brand.pk},{ref}" if name == "brands" else str(ref)
            return client.generic(method, f"{url}?{urlencode({name: value})}")
        body = VALID_BODY[(method, path)](bob)
        body[name] = [ref] if name in LIST_FIELDS else ref
        return client.generic(method, url, json.dumps(body), content_type="application/json")

    reference = (QUERY_REFERENCES if where == "query" else BODY_REFERENCES)[name]
    foreign_id = reference(alice)
    foreign, missing = call(foreign_id), call(MISSING)
    assert foreign.status_code == missing.status_code, (foreign.status_code, foreign.content[:300])
    assert foreign.content.replace(str(foreign_id).encode(), b"ID") == missing.content.replace(
        str(MISSING).encode(), b"ID"
    )
    for marker in (b"alice", b"Acme"):
        assert marker not in foreign.content
    if where == "body":
        assert foreign.status_code in (400, 404), foreign.content[:300]
