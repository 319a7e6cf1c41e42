"""The reply-model cycle on the packaged SmolLM2, with no data folder: it learns from the demo's own
Northwind pairs, the gate promotes or blocks, a promotion is served at once, an interrupted cycle
resumes from its checkpoint, and beat queues a cycle when enough new pairs arrived."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ingestion.services import ingest_items
from listening.demo import replies
from listening.demo.services import DemoSetup, do_seed_demo
from listening.learning.errors import CycleCannotRun
from listening.learning.models import CycleStatus, ModelStatus, ModelTask, TrainingCycle
from listening.learning.registry import SHIPPED_REPLIES_NAME
from listening.learning.services import do_run_training_cycle
from listening.mentions.models import SourceKind
from listening.replies.models import ReplyPair, ReplySuggestion
from listening.replies.queries import new_pairs_count
from listening.replies.registry import active_reply_model
from listening.replies.services import do_check_reply_triggers, do_queue_reply_cycle
from models import datasets
from models.generation.metrics import METRICS

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_reply_cycle(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A few steps and a small gate, on a machine with no data folder; returns the models dir."""
    empty = tmp_path / "no-data-folder"
    empty.mkdir()
    monkeypatch.setenv("LISTENING_DATA_DIR", str(empty))
    with pytest.raises(datasets.DatasetMissing):
        datasets.sentiment("val")
    monkeypatch.setenv("LISTENING_REPLY_MAX_NEW_TOKENS", "8")
    settings.MODELS_DIR = tmp_path / "models"
    settings.REPLIES_GATE_PAIRS = 2
    settings.REPLIES_GATE_CANDIDATES = 6
    settings.REPLIES_GATE_MAX_NEW_TOKENS = 12
    settings.REPLIES_TRAIN_BATCH = 2
    return Path(settings.MODELS_DIR)


def northwind(capture: Any) -> DemoSetup:
    """The demo organization with its help desk's past exchanges stored as pairs."""
    setup = do_seed_demo()
    desk = next(source for source in setup.sources if source.kind == SourceKind.SUPPORT)
    with capture(execute=True):
        ingest_items(desk, list(replies.past_exchanges(timezone.now())), channel="push")
    assert ReplyPair.objects.filter(organization=setup.organization).count() == len(replies.PAST_EXCHANGES)
    return setup


@pytest.mark.slow
def test_a_cycle_learns_from_the_demo_pairs_and_is_served_at_once(
    small_reply_cycle: Path, django_capture_on_commit_callbacks: Any
) -> None:
    setup = northwind(django_capture_on_commit_callbacks)
    org = setup.organization
    out = StringIO()
    # A tiny learning rate: the candidate cannot regress, so the gate must pass and promote it.
    call_command(
        "train_replies", "--org", org.slug, "--set", "sft_steps=2", "--set", "learning_rate=1e-6", stdout=out
    )
    cycle = TrainingCycle.objects.get(organization=org, task=ModelTask.REPLIES)
    assert cycle.status == CycleStatus.SUCCEEDED and cycle.step == cycle.total_steps == 2
    version = cycle.version
    assert version is not None and version.task == ModelTask.REPLIES
    assert version.status == ModelStatus.ACTIVE and version.gate_reason.startswith("passed")
    assert version.parent is not None and version.parent.name == SHIPPED_REPLIES_NAME
    # Split by time: the two most recent pairs judged it, the six older ones trained it.
    newest = list(
        ReplyPair.objects.filter(organization=org).order_by("-replied_at").values_list("id", flat=True)[:2]
    )
    assert sorted(cycle.inputs["held_out"]) == sorted(newest)
    assert not set(cycle.inputs["train"]) & set(newest) and len(cycle.inputs["train"]) == 6
    assert version.data_snapshot == {"pairs": 6, "held_out": 2, "preferences": 0}
    for side in ("candidate", "active"):
        assert set(METRICS) <= set(version.metrics[side]) and version.metrics[side]["pairs"] == 2
    # The adapter is stored under the models dir; the checkpoint is gone.
    directory = Path(version.artefact_path)
    assert directory.parent == small_reply_cycle and (directory / "adapter_config.json").is_file()
    assert not (small_reply_cycle / ".checkpoints" / f"replies-cycle-{cycle.pk}").exists()
    assert "recall_at_5" in out.getvalue() and version.name in out.getvalue()

    # Hot reload: the next suggestion is drafted by the promoted model and records it.
    from listening.replies.generation import do_suggest_replies

    mention = ReplyPair.objects.filter(organization=org).latest("replied_at").customer_mention
    payload = do_suggest_replies(mention.pk, 1)
    assert payload["reply_model"] == version.pk and version.name in payload["model_version"]
    assert set(ReplySuggestion.objects.filter(mention=mention).values_list("reply_model", flat=True)) == {
        version.pk
    }
    # Nothing new since: no trigger, and the command says why another cycle would not run.
    assert new_pairs_count(org.pk) == 0


@pytest.mark.slow
def test_an_interrupted_cycle_resumes_and_the_gate_blocks_a_damaged_candidate(
    small_reply_cycle: Path, django_capture_on_commit_callbacks: Any
) -> None:
    setup = northwind(django_capture_on_commit_callbacks)
    org = setup.organization
    cycle = do_queue_reply_cycle(org.pk)
    assert cycle is not None
    # A learning rate that wrecks the decoder: the gate must refuse it.
    overrides = {"sft_steps": 4, "checkpoint_every": 2, "learning_rate": 0.5}
    seen: list[int] = []

    def crash_at_three(step: int, total: int, record: dict[str, float]) -> None:
        seen.append(step)
        if step == 3:
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        do_run_training_cycle(cycle.pk, config_overrides=overrides, on_step=crash_at_three)
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.FAILED and cycle.inputs["held_out"]
    checkpoint = small_reply_cycle / ".checkpoints" / f"replies-cycle-{cycle.pk}" / "checkpoint.pt"
    assert checkpoint.is_file() and seen == [1, 2, 3]

    resumed: list[int] = []
    outcome = do_run_training_cycle(
        cycle.pk, config_overrides=overrides, on_step=lambda step, total, record: resumed.append(step)
    )
    assert resumed == [3, 4]  # from the checkpoint at step 2, on the same pinned inputs
    version = outcome.version
    assert version is not None and not outcome.promoted
    assert version.status == ModelStatus.CANDIDATE and version.gate_reason.startswith("blocked: regresses")
    assert version.metrics["candidate"]["log_likelihood"] < version.metrics["active"]["log_likelihood"]
    assert active_reply_model(org.pk).name == SHIPPED_REPLIES_NAME
    assert not checkpoint.exists()


def test_beat_queues_a_reply_cycle_once_enough_pairs_arrived(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    setup = northwind(django_capture_on_commit_callbacks)
    settings.REPLIES_MIN_NEW_PAIRS = len(replies.PAST_EXCHANGES) + 1
    assert do_check_reply_triggers() == []
    settings.REPLIES_MIN_NEW_PAIRS = len(replies.PAST_EXCHANGES)
    queued = do_check_reply_triggers()
    assert len(queued) == 1
    cycle = TrainingCycle.objects.get(pk=queued[0])
    assert cycle.organization == setup.organization and cycle.task == ModelTask.REPLIES
    assert do_check_reply_triggers() == []  # one open cycle per organization and task
    # A reply cycle does not block the enrichment model's own cycle.
    from listening.learning.services import do_queue_cycle

    assert do_queue_cycle(setup.organization.pk) is not None


def test_a_cycle_with_too_few_pairs_and_bad_settings_say_so(alice: Any) -> None:
    with pytest.raises(CommandError, match="too few reply pairs"):
        call_command("train_replies", "--org", str(alice.org.pk))
    cycle = TrainingCycle.objects.get(organization=alice.org, task=ModelTask.REPLIES)
    assert cycle.status == CycleStatus.FAILED and not cycle.inputs
    with pytest.raises(CommandError, match="FIELD one of"):
        call_command("train_replies", "--org", alice.org.slug, "--set", "max_steps=3")
    with pytest.raises(CommandError, match="bad value"):
        call_command("train_replies", "--org", alice.org.slug, "--set", "sft_steps=many")
    with pytest.raises(CommandError, match="No organization"):
        call_command("train_replies", "--org", "no-such-org")
    with pytest.raises(CycleCannotRun, match="too few"):
        queued = do_queue_reply_cycle(alice.org.pk)
        assert queued is not None
        do_run_training_cycle(queued.pk)
