"""Leads and lags: the arithmetic of themes where a brand's share of mentions differs from the others'."""

from __future__ import annotations

import pytest

from listening.analytics.queries import leads_and_lags


def _terms(items: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(item["term"], item["difference"]) for item in items]


def test_leads_and_lags_by_hand() -> None:
    counts = {
        1: {"a": 5, "e": 5, "b": 1, "z": 1},
        2: {"a": 1, "b": 5},
        3: {"a": 2, "e": 3, "c": 4, "y": 1},
    }
    themes = leads_and_lags(counts, {1: 10, 2: 10, 3: 20})
    # Brand 1 (10 mentions; the others 30): a 5/10 - 3/30 = 0.4, e the same (the tie goes to the
    # term); b 1/10 - 5/30; c 0 - 4/30. z and y are in one mention in all: too rare to be a theme.
    assert _terms(themes[1]["leads"]) == [("a", 0.4), ("e", 0.4)]
    assert _terms(themes[1]["lags"]) == [("c", -0.1333), ("b", -0.0667)]
    assert themes[1]["leads"][0] == {
        "term": "a",
        "mentions": 5,
        "share": 0.5,
        "others_share": 0.1,
        "difference": 0.4,
    }
    # Brand 3 (20; the others 20): c 0.2; b -0.3, a 2/20 - 6/20, e 3/20 - 5/20.
    assert _terms(themes[3]["leads"]) == [("c", 0.2)]
    assert _terms(themes[3]["lags"]) == [("b", -0.3), ("a", -0.2), ("e", -0.1)]
    assert _terms(themes[2]["leads"]) == [("b", pytest.approx(0.4667, abs=1e-4))]


def test_leads_and_lags_without_volume_or_rivals() -> None:
    assert leads_and_lags({1: {"a": 3}, 2: {}}, {1: 3, 2: 0}) == {
        1: {"leads": [], "lags": []},  # nothing to compare with: the other brand has no mentions
        2: {"leads": [], "lags": []},
    }
    assert leads_and_lags({1: {}}, {1: 0}) == {1: {"leads": [], "lags": []}}
    assert leads_and_lags({1: {"a": 2}, 2: {"a": 2}}, {1: 2, 2: 2}) == {
        1: {"leads": [], "lags": []},  # equal shares: no difference either way
        2: {"leads": [], "lags": []},
    }
