"""Rollups stay equal to a from-scratch computation through sentiment changes, reruns and deletes."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from listening.analytics.models import (
    BrandRollup,
    BrandTermDay,
    BrandTermWeek,
    BrandTotals,
    BrandVersionDay,
    CampaignRollup,
    CampaignTermDay,
    CampaignTermWeek,
    CampaignTotals,
    CampaignVersionDay,
)
from listening.analytics.services import do_fold_readings, do_rebuild_rollups, do_update_rollups
from listening.mentions.enrichment import store_enrichments
from listening.mentions.models import Enrichment, Mention, SourceKind
from tests.analytics.factories import Fixture, at, build_fixture, model_version
from tests.conftest import Tenant

TOTALS_COLUMNS = (
    "mention_count",
    "engagement_sum",
    "positive",
    "neutral",
    "negative",
    "unscored",
    "author_count",
    "authors",
)
TABLES: list[tuple[Any, tuple[str, ...]]] = [
    (
        BrandRollup,
        (
            "brand_id",
            "interval",
            "bucket",
            "source_kind",
            "sentiment",
            "language",
            "mention_count",
            "engagement_sum",
        ),
    ),
    (
        CampaignRollup,
        (
            "campaign_id",
            "interval",
            "bucket",
            "source_kind",
            "sentiment",
            "language",
            "mention_count",
            "engagement_sum",
        ),
    ),
    *(
        (model, (fk, "interval", "bucket", *TOTALS_COLUMNS))
        for model, fk in ((BrandTotals, "brand_id"), (CampaignTotals, "campaign_id"))
    ),
    (BrandTermDay, ("brand_id", "bucket", "term", "mention_count")),
    (CampaignTermDay, ("campaign_id", "bucket", "term", "mention_count")),
    (BrandTermWeek, ("brand_id", "bucket", "term", "mention_count")),
    (CampaignTermWeek, ("campaign_id", "bucket", "term", "mention_count")),
    (BrandVersionDay, ("brand_id", "bucket", "model_version_id", "mention_count")),
    (CampaignVersionDay, ("campaign_id", "bucket", "model_version_id", "mention_count")),
]


def snapshot() -> dict[str, set[tuple[Any, ...]]]:
    # bytes(): PostgreSQL returns author sets as memoryview, which does not hash.
    return {
        model.__name__: {
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            for row in model.objects.values_list(*fields)
        }
        for model, fields in TABLES
    }


def from_scratch() -> dict[str, set[tuple[Any, ...]]]:
    for model, _ in TABLES:
        model.objects.all().delete()
    do_rebuild_rollups()
    return snapshot()


@pytest.fixture
def fx(alice: Tenant) -> Fixture:
    return build_fixture(alice)


def test_incremental_equals_rebuild_after_sentiment_change(fx: Fixture) -> None:
    # The enrichment of a newer model version flips m3 from negative to positive.
    Mention.objects.filter(pk=fx.m3.pk).update(sentiment="positive")
    do_update_rollups([fx.m3.pk])
    incremental = snapshot()
    assert incremental == from_scratch()
    positive = sum(
        BrandRollup.objects.filter(brand=fx.brand, interval="day", sentiment="positive").values_list(
            "mention_count", flat=True
        )
    )
    negative = BrandRollup.objects.filter(brand=fx.brand, interval="day", sentiment="negative").count()
    assert positive == 4 and negative == 1  # 3 in the window + 1 in the baseline; baseline negative stays


def test_update_is_idempotent(fx: Fixture) -> None:
    before = snapshot()
    ids = [m.pk for m in fx.builder.created]
    do_update_rollups(ids)
    do_update_rollups(ids + ids)
    assert snapshot() == before


def test_deleted_mentions_are_dropped_by_a_rebuild(fx: Fixture) -> None:
    Mention.objects.filter(pk=fx.m3.pk).delete()
    # Its links went with it, so its id no longer maps to buckets: the incremental path is a no-op
    # (not an error) and the rebuild removes its counts.
    do_update_rollups([fx.m3.pk])
    from_scratch()
    day_total = sum(
        BrandRollup.objects.filter(
            brand=fx.brand, interval="day", bucket__year=2026, bucket__month=1
        ).values_list("mention_count", flat=True)
    )
    assert day_total == 6  # 7 January mentions of A, less m3


def test_unknown_ids_and_empty_input(fx: Fixture) -> None:
    before = snapshot()
    do_update_rollups([])
    do_update_rollups([10**12])
    do_fold_readings([], {})
    do_fold_readings([10**12], {10**12: ("positive", None)})  # a mention gone: nothing to fold
    assert snapshot() == before


def test_hour_and_day_rollups_agree(fx: Fixture) -> None:
    for interval in ("hour", "day"):
        rows = BrandRollup.objects.filter(
            brand=fx.brand, interval=interval, bucket__year=2026, bucket__month=1
        )
        assert sum(r.mention_count for r in rows) == 7
        assert sum(r.engagement_sum for r in rows) == 25


def test_rebuild_command(fx: Fixture) -> None:
    before = snapshot()
    BrandRollup.objects.all().delete()
    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_rollups", "--org", str(fx.tenant.org.pk), stdout=out, stderr=err)
    assert "Rebuilt rollups" in out.getvalue()
    assert snapshot() == before
    with pytest.raises(CommandError):
        call_command("rebuild_rollups", "--org", "999999999", stdout=out, stderr=err)


def _reading(mention: Mention, version: Any, sentiment: str) -> Enrichment:
    return Enrichment(
        organization_id=mention.organization_id,
        mention_id=mention.pk,
        model_version=version,
        sentiment=sentiment,
        embedding=np.ones(4, dtype="<f4").tobytes(),
    )


def test_incremental_equals_rebuild_after_a_mixed_enrichment_batch(fx: Fixture) -> None:
    """One write through enrichment's path (``store_enrichments``, rollups by its signal) holding
    first readings of new mentions, on days that already have rollups and on a new day, beside a
    re-read that changes old labels; then a link added to a rolled-up day and a later batch."""
    version = model_version("mixed-batch")
    b, a = fx.builder, (fx.brand,)
    new_same_day = b.mention(
        "2026-01-10T09:50:00",
        engagement=7,
        author="u9",
        text="Fresh #launch colours",
        brands=a,
        campaign=fx.campaign,
        read=False,
    )
    new_day = b.mention(
        "2026-01-16T23:59:00", engagement=1, author="u1", text="shoes arrived late", brands=a, read=False
    )
    rival_new = b.mention(
        "2026-01-13T11:00:00", engagement=2, text="rival boots again", brands=(fx.rival,), read=False
    )
    readings = [
        _reading(new_same_day, version, "positive"),
        _reading(new_day, version, "negative"),
        _reading(rival_new, version, "neutral"),
        _reading(fx.m3, version, "neutral"),  # the re-read: negative -> neutral, another version
    ]
    with transaction.atomic():
        store_enrichments(readings)
    incremental = snapshot()
    assert incremental == from_scratch()
    window = BrandTotals.objects.get(brand=fx.brand, interval="day", bucket=at("2026-01-11T00:00:00"))
    assert (window.negative, window.neutral) == (0, 1)  # m3's re-read reached the totals
    assert BrandVersionDay.objects.filter(model_version=version).count() == 4  # A: Jan 10, 11, 16; B: 13

    # A push links a mention to a day that is rolled up already: it is not counted until it is
    # read, whatever else of that day is read meanwhile; then it is added whole.
    late = b.mention(
        "2026-01-16T08:00:00", engagement=3, author="u8", text="late #launch review", brands=a, read=False
    )
    with transaction.atomic():
        store_enrichments([_reading(new_day, version, "positive")])  # a re-read of its day
    assert snapshot() == from_scratch()
    review = BrandTermDay.objects.filter(brand=fx.brand, bucket=at("2026-01-16T00:00:00"), term="review")
    assert not review.exists()
    with transaction.atomic():
        store_enrichments([_reading(late, version, "negative")])
    assert snapshot() == from_scratch()
    assert review.get().mention_count == 1
    day = BrandTotals.objects.get(brand=fx.brand, interval="day", bucket=at("2026-01-16T00:00:00"))
    assert (day.mention_count, day.positive, day.negative, day.author_count) == (2, 1, 1, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_folded_batches_equal_a_rebuild(fx: Fixture, seed: int) -> None:
    """Random enrichment batches of first readings and re-reads, folded in by enrichment's own path,
    leave every rollup table as a from-scratch recompute leaves it: across hours, days and a week
    boundary (Monday Jan 12), shared and anonymous authors, repeated and missing terms, mentions of
    two brands at once, a campaign, three versions and every sentiment."""
    rng = random.Random(seed)
    versions = [model_version(f"fold-{i}") for i in range(3)]
    words = ["zip", "broke", "#launch", "late", "love", "boots", "size", "refund", "zip"]
    b = fx.builder
    unread = [
        b.mention(
            (at("2026-01-09T00:00:00") + timedelta(minutes=rng.randrange(6 * 24 * 60))).isoformat()[:19],
            engagement=rng.randrange(50),
            author=rng.choice(["", "u1", "u2", "u7", f"new{i}"]),
            text=" ".join(rng.choices(words, k=rng.randrange(5))),
            brands=rng.choice([(fx.brand,), (fx.rival,), (fx.brand, fx.rival)]),
            campaign=fx.campaign if rng.random() < 0.4 else None,
            kind=rng.choice([SourceKind.SOCIAL, SourceKind.REVIEW, SourceKind.SUPPORT]),
            language=rng.choice(["en", "fr"]),
            read=False,
        )
        for i in range(48)
    ]
    read = [m for m in b.created if m not in unread]
    for _step in range(6):
        batch, unread = unread[:8], unread[8:]
        batch += rng.sample(read, 4)  # re-reads, some by a version that read them before
        readings = [
            _reading(m, rng.choice(versions), rng.choice(["positive", "neutral", "negative"])) for m in batch
        ]
        with transaction.atomic():
            store_enrichments(readings)
        folded = snapshot()
        assert folded == from_scratch()
        read += batch[:8]
    assert BrandTermWeek.objects.filter(bucket=at("2026-01-12T00:00:00")).exists()


def test_a_fold_onto_rows_it_did_not_write_recomputes_those_days(fx: Fixture) -> None:
    """Mentions marked read by hand and never rolled up, then re-read: the move finds nothing to
    take from, so the fold leaves its partial writes behind (a savepoint) and recomputes the days."""
    version = model_version("drift")
    b = fx.builder
    unseen = b.mention(
        "2026-01-14T12:00:00", sentiment="negative", author="u5", text="zip broke", brands=(fx.brand,)
    )
    with transaction.atomic():
        store_enrichments([_reading(unseen, version, "positive")])
    assert snapshot() == from_scratch()
    day = BrandTotals.objects.get(brand=fx.brand, interval="day", bucket=at("2026-01-14T00:00:00"))
    assert (day.mention_count, day.positive, day.negative) == (1, 1, 0)
