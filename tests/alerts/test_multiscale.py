"""Windows of 1 h, 6 h and 24 h judged together: a storm spread over a day fires where no single
hour holds enough mentions, a quiet rule says why, and a backtest replays the same checks."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from listening.alerts.detection import (
    DetectionParams,
    History,
    backtest,
    evaluate_scales,
    scales_for,
)
from tests.alerts.test_detection import T0, H, seasonal_series

# A small brand: about 13 mentions an hour, a fifth of them negative (the storm of the issue).
PARAMS = DetectionParams(min_volume=20, min_negative=5, min_history_buckets=72, window_seconds=H)
SCALES = scales_for(H, H)


def _counts(neg: np.ndarray, tot: np.ndarray, end: int) -> dict[int, tuple[int, int]]:
    """(negative, total) of the windows of every scale that end at index ``end``."""
    return {s: (int(neg[end - s // H : end].sum()), int(tot[end - s // H : end].sum())) for s in SCALES}


def test_scales_are_the_rule_window_and_longer() -> None:
    assert SCALES == (3600, 21600, 86400)
    assert scales_for(15 * 60, 15 * 60) == (900, 3600, 21600, 86400)
    assert scales_for(86400, 3600) == (86400,)


def test_a_diffuse_storm_fires_on_long_windows_from_three_days_of_history() -> None:
    rng = np.random.default_rng(3)
    starts, neg, tot = seasonal_series(rng, days=4, base=13.0)
    storm = slice(72, 96)  # the fourth day: complaints double, no single hour reaches 20 mentions
    extra = rng.poisson(0.2 * 13.0 * 1.0, size=24)
    neg[storm] += extra
    tot[storm] += extra
    history = History.build(starts, neg, tot)
    verdict = evaluate_scales(history, int(starts[95]) + H, _counts(neg, tot, 96), PARAMS)
    by_length = {ev.window_seconds: ev for ev in verdict.scales}
    assert by_length[H].reason in ("below_minimum_volume", "")  # an hour of ~13 mentions
    assert verdict.best.window_seconds in (6 * H, 24 * H) and verdict.best.anomalous, verdict.status()
    # The guard scales with the window (sqrt): 20 an hour is 49 in six hours, 98 in a day.
    assert (by_length[6 * H].min_volume, by_length[24 * H].min_volume) == (49, 98)
    assert verdict.reason() == ""


def test_a_quiet_rule_says_why_window_by_window() -> None:
    rng = np.random.default_rng(4)
    starts, neg, tot = seasonal_series(rng, days=5, base=13.0)
    history = History.build(starts, neg, tot)
    verdict = evaluate_scales(history, int(starts[-1]) + H, _counts(neg, tot, len(starts)), PARAMS)
    assert not verdict.best.anomalous
    status = verdict.status()
    assert status["reason"].startswith("60 min: ") and "360 min: " in status["reason"]
    assert [w["window_minutes"] for w in status["windows"]] == [60, 360, 1440]
    assert all(
        {"observed", "expected", "score", "threshold", "min_volume"} <= set(w) for w in status["windows"]
    )
    # With too little history there is no verdict at all, and the answer says so.
    young = History.build(starts[:48], neg[:48], tot[:48])
    verdict = evaluate_scales(young, int(starts[47]) + H, _counts(neg, tot, 48), PARAMS)
    assert {ev.reason for ev in verdict.scales} == {"insufficient_history"}


def test_backtest_finds_one_episode_per_event_and_none_on_quiet_days() -> None:
    rng = np.random.default_rng(5)
    starts, neg, tot = seasonal_series(rng, days=12, base=30.0)
    burst = 9 * 24 + 15  # day 9, 15:00: three hours of complaints
    neg[burst : burst + 3] += 40
    tot[burst : burst + 3] += 40
    history = History.build(starts, neg, tot)
    episodes = backtest(history, T0 + 4 * 86400, T0 + 12 * 86400, PARAMS, SCALES)
    assert len(episodes) == 1, episodes
    (episode,) = episodes
    fired = int(episode["fired_at"].timestamp())
    assert starts[burst] < fired <= starts[burst] + 2 * H  # within the first hours of the event
    assert episode["resolved_at"] is not None and episode["peak_score"] >= PARAMS.threshold
    quiet = backtest(history, T0 + 4 * 86400, T0 + 9 * 86400, PARAMS, SCALES)
    assert quiet == []
    assert (
        backtest(
            history, T0 + 4 * 86400, T0 + 4 * 86400 + int(timedelta(hours=1).total_seconds()), PARAMS, SCALES
        )
        == []
    )
