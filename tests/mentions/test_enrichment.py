"""Enrichment with the real packaged model, in-process and through a real worker."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from listening.jobs import Queue
from listening.learning.models import ModelStatus, ModelVersion
from listening.learning.registry import get_active_version
from listening.mentions.enrichment import (
    claim_pending,
    do_enrich_pending,
    enrich_lease,
    enrichment_rows,
    predict,
    store_claimed,
)
from listening.mentions.models import Enrichment, Mention, SourceKind
from listening.mentions.signals import mentions_enriched
from tests.conftest import Tenant
from tests.security import corpus
from workers import app
from workers.tasks.enrich import enrich_pending

TEXTS = [
    "Absolutely love my new jacket, kept me dry all weekend!",
    "The zipper broke after two days. Terrible quality, want a refund.",
    "Does the tent come in green?",
]


def _add(tenant: Tenant, texts: list[str]) -> list[int]:
    now = timezone.now()
    mentions = Mention.objects.bulk_create(
        Mention(
            organization=tenant.org,
            source=tenant.source,
            external_id=f"enrich-{i}-{text[:10]}",
            kind=SourceKind.SOCIAL,
            text=text,
            clean_text=text,
            model_text=text,
            published_at=now - timedelta(minutes=i),
        )
        for i, text in enumerate(texts)
    )
    return [m.pk for m in mentions]


def test_enrichment_writes_one_row_per_version_and_is_idempotent(alice: Tenant) -> None:
    ids = _add(alice, TEXTS)
    seen: list[int] = []

    def receiver(sender: object, mention_ids: list[int], **kwargs: object) -> None:
        seen.extend(mention_ids)

    mentions_enriched.connect(receiver)
    try:
        enriched = do_enrich_pending()
    finally:
        mentions_enriched.disconnect(receiver)
    assert enriched == len(TEXTS) + 1  # the fixture's mention too
    assert set(ids) <= set(seen)
    assert do_enrich_pending() == 0  # nothing left: running again changes nothing
    assert Enrichment.objects.filter(mention_id__in=ids).count() == len(ids)

    by_id = {m.pk: m for m in Mention.objects.filter(pk__in=ids)}
    assert by_id[ids[0]].sentiment == "positive"
    assert by_id[ids[1]].sentiment == "negative"
    row = Enrichment.objects.get(mention_id=ids[1])
    assert row.model_version.status == ModelStatus.ACTIVE
    assert abs(sum(row.sentiment_probs.values()) - 1) < 1e-3
    assert row.embedding is not None
    vector = np.frombuffer(bytes(row.embedding), dtype="<f4")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-3


def test_enrichment_is_scoped_when_asked(alice: Tenant, bob: Tenant) -> None:
    assert do_enrich_pending(organization_id=bob.org.pk) == 1
    assert Mention.objects.filter(organization=alice.org, enriched_at__isnull=True).count() == 1


def test_new_active_version_is_used_without_restart(alice: Tenant) -> None:
    _add(alice, TEXTS[:1])
    do_enrich_pending()
    shipped = ModelVersion.objects.get(status=ModelStatus.ACTIVE)
    # An organization-specific active version (same weights, new registry row) takes over at once.
    own = ModelVersion.objects.create(
        organization=alice.org, name="alice-v2", backbone=shipped.backbone, status=ModelStatus.ACTIVE
    )
    new_ids = _add(alice, ["Brilliant customer service, thank you!"])
    do_enrich_pending()
    assert Enrichment.objects.get(mention_id=new_ids[0]).model_version == own


def _read(stamp_rows: list[tuple[int, int, str]]) -> list[Enrichment]:
    version = get_active_version(None)
    predictions = predict(version, [text for _, _, text in stamp_rows])
    return enrichment_rows(version, [(pk, org_id) for pk, org_id, _ in stamp_rows], predictions)


def test_a_claim_is_a_lease_others_skip_until_it_expires(alice: Tenant) -> None:
    ids = _add(alice, TEXTS)
    stamp, claimed = claim_pending(alice.org.pk, 2)
    assert len(claimed) == 2
    # Committed before inference: a second claimer takes the rest, not the same mentions.
    _, second = claim_pending(alice.org.pk, 10)
    assert {pk for pk, _, _ in second}.isdisjoint(pk for pk, _, _ in claimed)
    assert len(second) == len(ids) + 1 - 2  # the fixture's mention too
    assert claim_pending(alice.org.pk, 10)[1] == []  # everything is held

    # The first claimer stalls past its lease; another worker takes its mentions and writes them.
    Mention.objects.filter(pk__in=[pk for pk, _, _ in claimed]).update(
        enrich_claimed_at=stamp - enrich_lease() - timedelta(seconds=1)
    )
    retaken_stamp, retaken = claim_pending(alice.org.pk, 10)
    assert sorted(retaken) == sorted(claimed)
    assert sorted(store_claimed(retaken_stamp, _read(retaken))) == sorted(pk for pk, _, _ in retaken)
    # The stalled claimer's late write finds its lease gone (compare-and-set) and writes nothing.
    assert store_claimed(stamp, _read(claimed)) == []
    assert Enrichment.objects.filter(mention_id__in=[pk for pk, _, _ in claimed]).count() == 2
    assert not Mention.objects.filter(pk__in=[pk for pk, _, _ in claimed], enrich_claimed_at__isnull=False)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_enriches_and_redelivery_is_harmless(alice: Tenant) -> None:
    ids = _add(alice, TEXTS)
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.ENRICH.value]):
        enrich_pending.delay(alice.org.pk)
        enrich_pending.delay(alice.org.pk)  # a duplicate message, as after a redelivery
        deadline = time.monotonic() + 60
        while Mention.objects.filter(pk__in=ids, enriched_at__isnull=True).exists():
            assert time.monotonic() < deadline, "worker did not enrich in time"
            time.sleep(0.2)
    assert Enrichment.objects.filter(mention_id__in=ids).count() == len(ids)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_analyze_goes_through_the_worker(alice: Tenant) -> None:
    client = alice.client("viewer")
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.ANALYZE.value]):
        response = client.post("/api/v1/analyze", {"texts": TEXTS}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["sentiment"] for r in body["results"]][:2] == ["positive", "negative"]
    assert body["model_version"]
    assert not Mention.objects.filter(text=TEXTS[2]).exists()  # nothing stored


@pytest.mark.parametrize(
    ("body", "status"),
    [(body, status) for _, body, status in corpus.ANALYZE_REFUSED],
    ids=[name for name, _, _ in corpus.ANALYZE_REFUSED],
)
def test_analyze_limits_are_clear_4xx(alice: Tenant, body: bytes, status: int) -> None:
    """Refused before anything reaches a worker: no worker runs here, so a body that passed
    validation would wait for one and answer 503."""
    client: Any = alice.client()
    response = client.generic("POST", "/api/v1/analyze", body, content_type="application/json")
    assert response.status_code == status, response.content[:200]
    assert response.json()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_analyze_without_a_worker_answers_503_with_retry_after(alice: Tenant, settings: Any) -> None:
    settings.ANALYZE_TIMEOUT_SECONDS = 0.5
    try:
        response = alice.client("viewer").post("/api/v1/analyze", {"texts": TEXTS[:1]}, format="json")
    finally:
        # The unanswered message stays queued: a later test's worker must not start with it.
        with app.connection_for_write() as connection:
            channel: Any = connection.default_channel
            channel.queue_purge(Queue.ANALYZE.value)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json() == {"detail": "No enrichment worker answered in time; retry shortly."}
