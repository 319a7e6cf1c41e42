"""The demo's labelled sample starts the learning loop in ``make run``: imported once, a cycle
queued, and that cycle trains and reaches the gate with no data folder."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from listening.demo import corpus
from listening.demo.labels import PER_CLASS, do_seed_labelled_sample, labelled_sample
from listening.demo.services import do_seed_demo
from listening.learning.models import CycleStatus, LabelledExample, TrainingCycle
from listening.learning.services import do_run_training_cycle


def test_the_sample_is_balanced_and_not_the_stored_posts() -> None:
    rows = labelled_sample()
    counts = Counter(label for _, label in rows)
    assert counts == {"positive": PER_CLASS + 4, "neutral": PER_CLASS, "negative": PER_CLASS + 1}
    stored = {item["text"] for item in corpus.generate(datetime(2026, 6, 1, tzinfo=UTC))}
    opinions = [text for text, _ in rows if "#WildAutumn" not in text and "Wild Autumn" not in text]
    assert not stored & set(opinions)
    assert labelled_sample() == rows  # seeded: every demo starts from the same sample


@pytest.mark.django_db
def test_seeding_imports_once_and_queues_one_cycle(django_capture_on_commit_callbacks: Any) -> None:
    setup = do_seed_demo()
    with django_capture_on_commit_callbacks(execute=False) as sent:
        imported, cycle = do_seed_labelled_sample(setup.organization)
    assert imported == len(labelled_sample()) and cycle is not None and cycle.trigger == "demo"
    assert len(sent) == 1  # the run_cycle message, after the commit
    assert do_seed_labelled_sample(setup.organization) == (0, None)
    assert LabelledExample.objects.filter(organization=setup.organization).count() == imported


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_cycle_trains_and_is_gated_with_no_data_folder(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-data-folder"
    empty.mkdir()
    monkeypatch.setenv("LISTENING_DATA_DIR", str(empty))
    monkeypatch.setenv("LISTENING_TORCH_THREADS", "1")
    settings.MODELS_DIR = tmp_path / "models"
    settings.LEARNING_REPLAY_SIZE = 32
    setup = do_seed_demo()
    _, cycle = do_seed_labelled_sample(setup.organization)
    assert cycle is not None
    tiny = {"max_steps": 4, "batch_size": 8, "max_length": 48, "checkpoint_every": 100}
    outcome = do_run_training_cycle(cycle.pk, config_overrides=tiny)
    assert TrainingCycle.objects.get(pk=cycle.pk).status == CycleStatus.SUCCEEDED
    version = outcome.version
    assert version is not None and version.gate_reason.startswith(("passed", "blocked"))
    # The gate read the team's held-out posts and the shipped check set.
    assert version.metrics["candidate"]["recent"]["n"] > 0 and version.metrics["candidate"]["check"]["n"] > 0
