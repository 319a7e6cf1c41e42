"""The one term filter of every term-based answer: stop words, filler, web artefacts and the
subject's own query terms out; phrases in."""

from __future__ import annotations

from listening.analytics.terms import TermFilter, extract_terms, phrases, tokens
from listening.analytics.topics import ctfidf_terms, k_bounds, label_of

NORTHWIND = (
    'northwind OR @northwindoutdoor OR #northwind OR stormshell OR "ridge 45" OR "trailhead boots" '
    "OR run* -giveaway"
)


def test_stop_words_filler_and_web_artefacts_are_not_terms() -> None:
    text = (
        "Honestly I really came asking about it today, else's open?? https://t.co/x1 "
        "pic.twitter.com/abc @someone amp; the zipper broke"
    )
    assert tokens(text) == ["open", "zipper", "broke"]


def test_phrases_are_adjacent_kept_words() -> None:
    assert phrases("Customer service was slow; waiting for my refund") == [
        "customer",
        "service",
        "slow",
        "waiting",
        "refund",
        "customer service",
    ]
    # A stop word or punctuation between two words breaks the phrase.
    assert "waiting refund" not in extract_terms("waiting for my refund")
    assert "zipper jacket" not in extract_terms("zipper, jacket")


def test_query_terms_and_names_are_filtered() -> None:
    kept = TermFilter.for_queries([NORTHWIND], ["Northwind Outdoor"])
    dropped = ["northwind", "#northwind", "@northwindoutdoor", "stormshell", "stormshell jacket"]
    dropped += ["ridge", "ridge 45", "trailhead", "trailhead boots", "running", "outdoor", "honestly"]
    assert [term for term in dropped if kept.allows(term)] == []
    # What the query does not name stays: the second word of a product phrase, what NOT excludes.
    assert [t for t in ["boots", "giveaway", "zipper", "customer service"] if kept.allows(t)] == [
        "boots",
        "giveaway",
        "zipper",
        "customer service",
    ]
    assert kept.keep({"northwind": 9, "zipper": 3}) == {"zipper": 3}
    # A malformed query or a catch-all names nothing.
    assert TermFilter.for_queries(['"unclosed', "*"]).allows("zipper")


def test_topic_labels_leave_out_query_terms() -> None:
    docs = [
        "northwind stormshell zipper broke",
        "stormshell zipper stuck again northwind",
        "northwind ember jacket warm",
        "warm jacket from northwind",
    ]
    kept = TermFilter.for_queries([NORTHWIND], ["Northwind Outdoor"])
    terms = ctfidf_terms(docs, [0, 0, 1, 1], term_filter=kept)
    labels = {c: label_of(found) for c, found in terms.items()}
    assert "northwind" not in " ".join(labels.values()) and "stormshell" not in " ".join(labels.values())
    assert labels[0].startswith("zipper") and "jacket" in labels[1]
    # A label does not repeat words its phrase already said.
    assert label_of([("zipper broke", 1.0), ("zipper", 0.9), ("broke", 0.8), ("stuck", 0.5)]) == (
        "zipper broke · stuck"
    )


def test_k_bounds_scale_with_volume() -> None:
    assert k_bounds(10) == (1, 1)  # too few for two topics of 15
    assert k_bounds(48) == (2, 3)
    assert k_bounds(3_000) == (5, 20)
    floor, ceiling = k_bounds(200_000)
    assert ceiling == 20 and floor == 20  # never more topics than a dashboard can show
