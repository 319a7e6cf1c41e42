"""clean_batch: the steps composed, per-item rejection, duplicates, matching."""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion.cleaning.dedup import SIGNATURE_BYTES, DedupIndex
from ingestion.cleaning.pipeline import MAX_TEXT_CHARS, RawMention, clean_batch, duplicate_counts
from ingestion.query import QueryIndex

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POST = "Loving the new Nike Pegasus running shoes, they are the comfiest pair I have ever owned"


def test_a_tweet_is_cleaned_for_display_and_for_the_model():
    text = "<b>@nike</b> love the new shoes &amp; the fit!! mail me: ann@example.com https://t.co/x"
    [result] = clean_batch([RawMention("1", text, author="ann", published_at=NOW)])
    assert result.rejected_reason == ""
    assert result.original_text == text
    assert result.clean_text == "@nike love the new shoes & the fit!! mail me: [EMAIL] https://t.co/x"
    assert result.model_text == "@user love the new shoes & the fit!! mail me: [EMAIL] http"
    assert result.redactions == 1
    assert (result.language, result.language_confidence) == ("en", None)
    assert result.signature is not None and len(result.signature) == SIGNATURE_BYTES
    assert len(result.content_hash) == 64 and not result.is_duplicate


def test_support_transcripts_lose_names():
    [result] = clean_batch(
        [RawMention("t1", "Hi Maria, my card 4111 1111 1111 1111 was charged twice. Thanks, John", "support")]
    )
    assert result.clean_text == "Hi [NAME], my card [CARD] was charged twice. Thanks, [NAME]"
    assert result.redactions == 3


def test_bad_items_are_rejected_and_the_rest_cleaned():
    items = [
        RawMention("ok", POST),
        RawMention("empty", " <p> </p> \x00\u200b"),
        RawMention("huge", "x" * (MAX_TEXT_CHARS + 1)),
        RawMention("ten-mb", "y" * 10_000_000),
        RawMention("", "no id"),
        RawMention("type", 42),
        RawMention("kind", "fine text", kind="email"),
        "not a mention",
        RawMention("nul", "good\x00 text with a NUL byte in it"),
    ]
    results = clean_batch(items)
    reasons = {r.external_id: r.rejected_reason for r in results}
    assert [r.index for r in results] == list(range(len(items)))
    assert reasons["ok"] == "" and reasons["nul"] == ""
    assert reasons["empty"] == "text is empty after cleaning"
    assert reasons["huge"].startswith(f"text is longer than {MAX_TEXT_CHARS} characters")
    assert reasons["ten-mb"].startswith("text is longer than")
    assert results[4].rejected_reason == "external_id must be a non-empty string"
    assert reasons["type"] == "text must be a string, not int"
    assert reasons["kind"].startswith("kind must be one of")
    assert results[7].rejected_reason == "not a RawMention but str"
    assert results[-1].clean_text == "good text with a NUL byte in it"


def test_hostile_unicode_survives():
    text = "\ud83d\ude00 great \ud800 shoes \u202eevil\u202c \u05e9\u05dc\u05d5\u05dd 👟"
    [result] = clean_batch([RawMention("u", text)])
    assert result.rejected_reason == ""
    result.clean_text.encode("utf-8")


def test_retweets_and_copies_collapse_onto_one_canonical_with_a_count():
    items = [
        RawMention("1", POST, author="a"),
        RawMention("2", f"RT @a: {POST}", author="b"),
        RawMention("3", POST + " 🔥🔥", author="c"),
        RawMention("4", "Something else entirely about the weather in town today", author="d"),
    ]
    results = clean_batch(items)
    canonical = results[0]
    assert not canonical.is_duplicate and canonical.duplicate_count == 3
    assert [r.is_duplicate for r in results] == [False, True, True, False]
    assert results[1].canonical_key == results[2].canonical_key == canonical.content_hash
    assert duplicate_counts(results) == {canonical.content_hash: 2}
    # the same text from three authors is a bot signal
    assert "same_text_many_authors" in results[1].bot_reasons


def test_dedup_index_carries_across_batches():
    index = DedupIndex()
    [first] = clean_batch([RawMention("1", POST)], dedup_index=index)
    [second] = clean_batch([RawMention("2", f"RT @x: {POST}")], dedup_index=index)
    assert not first.is_duplicate
    assert second.is_duplicate and second.canonical_key == first.content_hash


def test_spam_gets_a_score_with_reasons():
    [spam, ham] = clean_batch(
        [RawMention("s", "Follow & RT to win 1 BTC!! airdrop https://t.co/x"), RawMention("h", POST)]
    )
    assert spam.bot_score > 0.5 and {"automation_pattern", "crypto_pattern"} <= set(spam.bot_reasons)
    assert ham.bot_score == 0.0


def test_queries_match_the_clean_text():
    bank = QueryIndex({"nike": "nike OR #nike", "adidas": "adidas", "pii": "example"})
    results = clean_batch([RawMention("1", POST), RawMention("2", "adidas at bob@example.com")], queries=bank)
    assert results[0].matched == ["nike"]
    assert results[1].matched == ["adidas"]  # the e-mail was redacted before matching


def test_language_hint_and_other_languages():
    results = clean_batch(
        [
            RawMention("de", "Ich habe heute keine Zeit, aber morgen gehe ich ins Kino"),
            RawMention("hint", "short one", language_hint="fr"),
            RawMention("und", "lol 😂"),
        ]
    )
    assert [r.language for r in results] == ["de", "fr", "und"]


def test_empty_batch():
    assert clean_batch([]) == []


def test_random_garbage_never_breaks_a_batch():
    import random

    rng = random.Random(3)
    alphabet = "aZ9 <>&;#@/:.\x00\x1b\u200b\u202e\ud800\udc00é😀\n\t\"'"
    items = [
        RawMention(
            str(i), "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))), author=str(i % 7)
        )
        for i in range(300)
    ]
    results = clean_batch(items, dedup_index=DedupIndex(), queries=QueryIndex({"q": "a OR #z"}))
    assert len(results) == len(items)
    for result in results:
        assert result.rejected_reason in ("", "text is empty after cleaning")
        result.clean_text.encode("utf-8")
        result.model_text.encode("utf-8")
        assert 0.0 <= result.bot_score <= 1.0


def test_support_tickets_never_collapse():
    text = "My card still has not arrived after two weeks, what should I do about it"
    results = clean_batch([RawMention("a", text, "support"), RawMention("b", text, "support")])
    assert [r.is_duplicate for r in results] == [False, False]
    assert results[0].content_hash == results[1].content_hash
