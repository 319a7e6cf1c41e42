"""Spam and bot signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestion.cleaning.spam import item_signals, score_batch

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Follow & RT to win a free iPhone 17!", "automation_pattern"),
        ("RT to WIN tickets", "automation_pattern"),
        ("Huge GIVEAWAY this weekend", "automation_pattern"),
        ("Send 0.5 ETH and get 1 ETH back", "crypto_pattern"),
        ("Join the airdrop now", "crypto_pattern"),
        ("https://t.co/abc https://bit.ly/x", "link_only"),
        ("#a #b #c #d #e #f buy", "hashtag_stuffing"),
        ("@a @b @c @d @e look", "mention_stuffing"),
        ("THIS IS THE WORST SERVICE EVER I AM SO ANGRY", "shouting"),
    ],
)
def test_item_signals(text, reason):
    assert reason in item_signals(text)


@pytest.mark.parametrize(
    "text",
    [
        "I like and follow my team, we will win",
        "Loving my new Nike shoes, see https://nike.com for the details about them",
        "The NBA finals tonight were great",
    ],
)
def test_ordinary_posts_have_no_signal(text):
    assert item_signals(text) == []


def test_score_combines_reasons_and_stays_in_range():
    verdicts = score_batch(
        ["Follow & RT to win! #a #b #c #d #e https://t.co/x", "nice shoes"],
        ["bot", "human"],
        [NOW, NOW],
        ["k1", "k2"],
    )
    assert 0.6 < verdicts[0].score <= 1.0
    assert verdicts[1].score == 0.0 and verdicts[1].reasons == ()


def test_same_text_from_many_authors():
    verdicts = score_batch(["same"] * 3 + ["other"], ["a", "b", "c", "a"], [NOW] * 4, ["k"] * 3 + ["o"])
    assert all("same_text_many_authors" in v.reasons for v in verdicts[:3])
    assert "same_text_many_authors" not in verdicts[3].reasons


def test_burst_posting_is_per_author_and_hour():
    times = [NOW + timedelta(minutes=i) for i in range(8)] + [NOW + timedelta(hours=2)]
    verdicts = score_batch([f"post {i}" for i in range(9)], ["fast"] * 9, times, [str(i) for i in range(9)])
    assert all("burst_posting" in v.reasons for v in verdicts[:8])
    assert "burst_posting" not in verdicts[8].reasons


def test_posts_without_time_are_not_a_burst():
    verdicts = score_batch([f"post {i}" for i in range(9)], ["a"] * 9, [None] * 9, [str(i) for i in range(9)])
    assert all("burst_posting" not in v.reasons for v in verdicts)
