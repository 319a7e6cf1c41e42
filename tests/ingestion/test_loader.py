"""The bulk loader against the real database: every field stored as given, outcomes per item,
duplicates collapsed across batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from ingestion.loader import store_batch
from ingestion.prepare import PreparedMention, Rejected
from ingestion.services import ingest_items, reset_caches
from listening.mentions.models import BrandMention, Mention, QuarantinedItem
from tests.conftest import Tenant

AWKWARD = 'tab\there, line\nbreak, back\\slash, "quotes", a literal \\N, comma; emoji 🙂 and ünïcödé'


def prepared(external_id: str, **fields: Any) -> PreparedMention:
    text = fields.pop("text", f"text of {external_id}")
    return PreparedMention(
        external_id=external_id,
        kind="social",
        text=text,
        clean_text=fields.pop("clean_text", text),
        model_text=fields.pop("model_text", text),
        published_at=fields.pop("published_at", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
        **fields,
    )


def test_every_field_is_stored_exactly_as_prepared(alice: Tenant) -> None:
    awkward = prepared(
        AWKWARD,
        text=AWKWARD,
        clean_text=AWKWARD + " clean",
        model_text="\\N",
        language="de",
        language_confidence=0.873,
        author_id="a\tb",
        author_handle="back\\slash",
        author_name="",
        url="https://example.com/a?b=c\\d",
        engagement={"likes": 3, "re\tposts": 2},
        rating=4,
        extra={"note": AWKWARD, "turns": [{"role": "agent", "text": "line\nbreak"}], "n": None},
        bot_score=0.25,
        content_hash="f" * 64,
        brand_ids=[alice.brand.pk, alice.brand.pk],
    )
    plain = prepared("plain", language_confidence=None, rating=None)
    outcomes = store_batch(alice.source, [awkward, plain], channel="push")
    assert [o.status for o in outcomes] == ["stored", "stored"]

    stored = Mention.objects.get(source=alice.source, external_id=AWKWARD)
    assert outcomes[0].id == stored.pk
    assert (stored.external_id, stored.text, stored.clean_text, stored.model_text) == (
        AWKWARD,
        AWKWARD,
        AWKWARD + " clean",
        "\\N",
    )
    assert (stored.language, stored.language_confidence, stored.rating, stored.bot_score) == (
        "de",
        0.873,
        4,
        0.25,
    )
    assert (stored.author_id, stored.author_handle, stored.author_name) == ("a\tb", "back\\slash", "")
    assert stored.url == "https://example.com/a?b=c\\d"
    assert stored.engagement == {"likes": 3, "re\tposts": 2} and stored.engagement_total == 5
    assert stored.extra == {"note": AWKWARD, "turns": [{"role": "agent", "text": "line\nbreak"}], "n": None}
    assert stored.published_at == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert (stored.content_hash, stored.duplicate_count, stored.sentiment, stored.canonical_id) == (
        "f" * 64,
        1,
        "",
        None,
    )
    assert list(BrandMention.objects.filter(mention=stored).values_list("brand_id", flat=True)) == [
        alice.brand.pk
    ]

    other = Mention.objects.get(source=alice.source, external_id="plain")
    assert outcomes[1].id == other.pk
    assert (other.language_confidence, other.rating, other.engagement, other.extra) == (None, None, {}, {})


def test_outcomes_for_new_resent_repeated_and_rejected_items(alice: Tenant) -> None:
    first = store_batch(alice.source, [prepared("a"), prepared("b"), prepared("a")], channel="push")
    assert [(o.status, o.id is not None) for o in first] == [
        ("stored", True),
        ("stored", True),
        ("duplicate", False),
    ]

    # Two batches in one transaction: each batch stores and reports only its own items.
    with transaction.atomic():
        second = store_batch(
            alice.source, [prepared("b"), Rejected("bad", {"x": 1}), prepared("c")], channel="push"
        )
        third = store_batch(alice.source, [prepared("d"), prepared("c")], channel="push")
    assert [(o.status, o.id) for o in second] == [
        ("duplicate", first[1].id),
        ("rejected", None),
        ("stored", Mention.objects.get(source=alice.source, external_id="c").pk),
    ]
    assert [(o.status, o.id) for o in third] == [
        ("stored", Mention.objects.get(source=alice.source, external_id="d").pk),
        ("duplicate", second[2].id),
    ]
    assert Mention.objects.filter(source=alice.source, external_id__in="abcd").count() == 4
    assert QuarantinedItem.objects.get(source=alice.source).reason == "bad"


def test_repeats_in_later_batches_collapse_onto_the_oldest_canonical(alice: Tenant) -> None:
    reset_caches()
    text = "Northwind alicebrand jacket kept me totally dry on a long wet hike through the hills today"
    other = "The alicebrand store downtown was closed all weekend and nobody answered the phone at all"

    def item(n: int, body: str, hour: int) -> dict[str, Any]:
        return {"external_id": f"d{n}", "text": body, "published_at": f"2026-11-01T{hour:02d}:00:00Z"}

    ingest_items(alice.source, [item(1, text, 9), item(2, other, 9)], channel="push")
    later = ingest_items(
        alice.source,
        [item(3, f"RT @maya: {text}", 10), item(4, text + " !!", 11), item(5, f"RT @joe: {other}", 12)],
        channel="push",
    )
    assert [o.status for o in later.outcomes] == ["stored"] * 3
    canonical = Mention.objects.get(source=alice.source, external_id="d1")
    second = Mention.objects.get(source=alice.source, external_id="d2")
    assert (canonical.duplicate_count, second.duplicate_count) == (3, 2)
    pointers = dict(
        Mention.objects.filter(source=alice.source, external_id__in=["d3", "d4", "d5"]).values_list(
            "external_id", "canonical_id"
        )
    )
    assert pointers == {"d3": canonical.pk, "d4": canonical.pk, "d5": second.pk}
