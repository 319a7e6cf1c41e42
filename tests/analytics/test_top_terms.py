"""Top terms read as a marketer reads them: a phrase stands for its words when it holds most of
their mentions, and a word that is also used on its own stays."""

from __future__ import annotations

from listening.analytics.queries import _top


def _names(counts: dict[str, int], limit: int = 10) -> list[str]:
    return [item["term"] for item in _top(counts, hashtags=False, limit=limit)]


def test_a_phrase_holding_its_words_mentions_replaces_them() -> None:
    counts = {"sleeping": 148, "bag": 150, "sleeping bag": 148, "jacket": 192, "zipper": 40}
    assert _names(counts) == ["jacket", "sleeping bag", "zipper"]


def test_a_word_used_mostly_on_its_own_stays_beside_the_phrase() -> None:
    # "jacket" is in 192 mentions and "pro jacket" in 60 of them: both say something.
    counts = {"jacket": 192, "pro": 61, "pro jacket": 60, "#hiking": 500}
    assert _names(counts) == ["jacket", "pro jacket"]
    assert [item["term"] for item in _top(counts, hashtags=True)] == ["#hiking"]


def test_folding_still_fills_the_limit() -> None:
    counts = {f"w{i}": 100 - i for i in range(20)} | {"w0 w1": 100, "w2 w3": 98}
    # w0, w1, w2, w3 fold into their phrases; the next words fill the three places.
    assert _names(counts, limit=3) == ["w0 w1", "w2 w3", "w4"]


def test_a_topic_label_names_the_phrase_not_its_words() -> None:
    from listening.analytics.topics import label_of

    terms = [("bag", 0.12), ("sleeping", 0.12), ("sleeping bag", 0.12), ("thoughts", 0.04), ("zip", 0.03)]
    assert label_of(terms) == "sleeping bag · thoughts · zip"


def test_an_audience_is_named_by_the_hashtags_that_set_it_apart() -> None:
    from listening.analytics.audiences import audience_label

    terms = [("tent", 0.046), ("jacket", 0.038), ("#weekendaway", 0.037), ("kids", 0.03)]
    hashtags = [
        {"value": "#kidsoutdoors", "share": 0.31, "lift": 2.4},
        {"value": "#weekendaway", "share": 0.42, "lift": 2.3},
        {"value": "#rare", "share": 0.1, "lift": 9.0},  # too few of its members to name it
    ]
    assert audience_label(terms, hashtags) == "#kidsoutdoors · #weekendaway · tent · jacket"
    assert audience_label(terms, []) == "tent · jacket · #weekendaway · kids"
