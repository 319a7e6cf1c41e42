"""``listening.bulk.insert_rows``: the COPY path (PostgreSQL, large inserts) stores what the VALUES
path stores, byte for byte, and adds on conflict the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from listening import bulk
from listening.analytics.models import BrandTermDay
from listening.mentions.models import Enrichment, Mention
from tests.analytics.factories import model_version
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

# Values the COPY text format must escape: tabs, newlines, backslashes, a literal "\N".
AWKWARD = ("tab\there", "line\nbreak", "back\\slash", "\\N", "crlf\r\n", "plain", "émoji 🚀", "")


def _via(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 1 if path == "copy" else 10**9)


def _term_rows(alice: Tenant, n: int) -> list[tuple[Any, ...]]:
    day = datetime(2026, 11, 2, tzinfo=UTC)
    return [
        (
            alice.org.pk,
            alice.brand.pk,
            day + timedelta(days=i % 3),
            f"{AWKWARD[i % len(AWKWARD)]}{i % 40}",
            1 + i % 2,
        )
        for i in range(n)
    ]


def _stored_terms() -> list[tuple[Any, ...]]:
    return sorted(BrandTermDay.objects.values_list("brand", "bucket", "term", "mention_count"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_and_values_store_the_same_term_counts(alice: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    keys, values = ("brand", "bucket", "term"), ("mention_count",)
    fields = ("organization", *keys, *values)
    rows = _term_rows(alice, 120)
    first, again = {r[1:4]: r for r in rows}, rows[:50]  # unique keys per statement, as folds send
    stored = {}
    for path in ("values", "copy"):
        BrandTermDay.objects.all().delete()
        _via(path, monkeypatch)
        bulk.insert_rows(BrandTermDay, fields, list(first.values()), add_on_conflict=(keys, values))
        bulk.insert_rows(
            BrandTermDay, fields, list({r[1:4]: r for r in again}.values()), add_on_conflict=(keys, values)
        )
        stored[path] = _stored_terms()
    assert stored["copy"] == stored["values"]
    assert {term for _, _, term, _ in stored["copy"]} >= {
        f"{a}{i}" for i, a in ((0, AWKWARD[0]), (2, AWKWARD[2]))
    }
    # The second insert added to the rows it met: 40 keys x 3 days at most, the first 50 counted twice.
    counts = {(b, t): n for _, b, t, n in stored["copy"]}
    assert sum(counts.values()) == sum(r[4] for r in first.values()) + sum(
        r[4] for r in {r[1:4]: r for r in again}.values()
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_and_values_store_the_same_enrichments(alice: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    version = model_version()
    fields = ("organization", "mention", "model_version", "sentiment", "sentiment_probs", "emotion",
              "emotion_probs", "irony_prob", "irony", "intent", "intent_prob", "embedding",
              "created_at")  # fmt: skip
    when = datetime(2026, 11, 2, 10, 30, 15, 123456, tzinfo=UTC)

    def row(mention: Mention, i: int) -> tuple[Any, ...]:
        probs = {"negative": 0.125, "neutral": 0.5, "positive": 0.375, "note": AWKWARD[i % len(AWKWARD)]}
        return (alice.org.pk, mention.pk, version.pk, "neutral", probs, "", {}, None if i % 2 else 0.25,
                bool(i % 2), "", None, bytes([0, 9, 10, 92, 255, i]), when)  # fmt: skip

    mentions = [
        Mention.objects.create(
            organization=alice.org, source=alice.source, external_id=f"bulk-{i}", text="t", published_at=when
        )
        for i in range(len(AWKWARD))
    ]
    stored = {}
    for path in ("values", "copy"):
        Enrichment.objects.filter(model_version=version).delete()
        _via(path, monkeypatch)
        rows = [row(m, i) for i, m in enumerate(mentions)]
        bulk.insert_rows(Enrichment, fields, rows, skip_conflicts_on=("mention", "model_version"))
        bulk.insert_rows(
            Enrichment, fields, rows, skip_conflicts_on=("mention", "model_version")
        )  # all skipped
        stored[path] = sorted(
            (
                e.mention_id,
                e.sentiment_probs,
                e.irony_prob,
                e.irony,
                e.intent_prob,
                bytes(e.embedding or b""),
                e.created_at,
            )
            for e in Enrichment.objects.filter(model_version=version)
        )
    assert len(stored["copy"]) == len(mentions)
    assert stored["copy"] == stored["values"]
    assert stored["copy"][3][1]["note"] == "\\N" and stored["copy"][3][5] == bytes([0, 9, 10, 92, 255, 3])


def test_copy_columns_encode_as_value_by_value() -> None:
    """The column-wise encoder (integers, keys, datetimes and text in bulk) writes what the per-value
    encoder writes, with and without NULLs in the column."""
    day = datetime(2026, 11, 2, 10, 30, 15, 123456, tzinfo=UTC)
    columns: dict[Any, list[Any]] = {
        BrandTermDay._meta.get_field("organization"): [3, 1, 3],
        BrandTermDay._meta.get_field("mention_count"): [7, 0, 12],
        BrandTermDay._meta.get_field("bucket"): [day, day, day + timedelta(days=1)],
        BrandTermDay._meta.get_field("term"): list(AWKWARD[:3]),
        Enrichment._meta.get_field("intent_prob"): [0.25, 1e-7, 0.5],
        Enrichment._meta.get_field("irony"): [True, False, True],
        Enrichment._meta.get_field("created_at"): [day, None, day],
        Enrichment._meta.get_field("model_version"): [None, 4, 5],
    }
    for field, values in columns.items():
        assert bulk._copy_column(field, values) == [bulk._copy_encoder(field)(v) for v in values], field.name
    assert bulk._copy_column(BrandTermDay._meta.get_field("term"), ["a\tb"]) == ["a\\tb"]
