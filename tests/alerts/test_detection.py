"""Spike detection on synthetic seasonal Poisson series: quiet days stay quiet, bursts fire once."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from listening.alerts.detection import (
    Action,
    DetectionParams,
    Episode,
    Evaluation,
    History,
    adapt_sensitivity,
    evaluate,
    sensitivity_for_threshold,
    step_episode,
    threshold_for,
    utc,
)

H = 3600
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC, a Thursday
HISTORY_DAYS = 28


Series = tuple[np.ndarray, np.ndarray, np.ndarray]


def seasonal_series(rng: np.random.Generator, days: int, base: float = 40.0, share: float = 0.2) -> Series:
    """Hourly totals ~ Poisson(base x afternoon peak x weekend dip); negatives ~ Binomial(total, share)."""
    starts = T0 + np.arange(days * 24) * H
    hour = (starts // H) % 24
    dow = ((starts // 86400) + 3) % 7
    rate = base * (0.3 + 1.4 * np.exp(-(((hour - 14) / 4.0) ** 2))) * np.where(dow >= 5, 0.6, 1.0)
    total = rng.poisson(rate)
    return starts, rng.binomial(total, share), total


def run_day(
    history: History,
    starts: np.ndarray,
    neg: np.ndarray,
    tot: np.ndarray,
    first: int,
    params: DetectionParams,
) -> tuple[list[tuple[int, Action, Evaluation]], Episode | None]:
    """Evaluate each hour of one day after ``first`` and feed the episode machine, as beat would."""
    episode: Episode | None = None
    actions: list[tuple[int, Action, Evaluation]] = []
    for i in range(first, first + 24):
        ev = evaluate(history, int(starts[i]), int(neg[i]), int(tot[i]), params)
        action, episode = step_episode(episode, ev, utc(int(starts[i]) + H), params)
        if action is not Action.NONE:
            actions.append((i - first, action, ev))
    return actions, episode


@pytest.mark.parametrize("metric", ["negative_volume", "negative_share"])
def test_a_normal_day_fires_nothing_across_many_seeds(metric: str) -> None:
    params = DetectionParams(metric=metric, min_volume=10)  # type: ignore[arg-type]
    first = HISTORY_DAYS * 24
    for seed in range(40):
        starts, neg, tot = seasonal_series(np.random.default_rng(seed), HISTORY_DAYS + 1)
        actions, _ = run_day(History.build(starts, neg, tot), starts, neg, tot, first, params)
        assert actions == [], f"seed {seed}: {actions}"


@pytest.mark.parametrize("metric", ["negative_volume", "negative_share"])
def test_a_burst_fires_once_updates_then_resolves(metric: str) -> None:
    params = DetectionParams(metric=metric, min_volume=10)  # type: ignore[arg-type]
    first = HISTORY_DAYS * 24
    for seed in range(5):
        starts, neg, tot = seasonal_series(np.random.default_rng(1000 + seed), HISTORY_DAYS + 1)
        for hour, extra in zip(range(10, 14), [15, 40, 80, 30], strict=True):  # a negative wave
            neg[first + hour] += extra
            tot[first + hour] += extra
        actions, episode = run_day(History.build(starts, neg, tot), starts, neg, tot, first, params)
        kinds = [a for _, a, _ in actions]
        assert kinds.count(Action.FIRE) == 1, (seed, actions)
        assert kinds[0] is Action.FIRE and actions[0][0] in (10, 11)
        assert Action.UPDATE in kinds
        assert kinds[-1] is Action.RESOLVE and kinds.count(Action.RESOLVE) == 1
        assert 13 <= actions[-1][0] <= 15
        fired = actions[0][2]
        assert fired.negative > 2 * fired.expected_negative
        assert episode is not None and not episode.is_open and episode.peak_negative >= fired.negative


def test_past_spikes_in_history_do_not_mask_a_new_one() -> None:
    starts, neg, tot = seasonal_series(np.random.default_rng(7), HISTORY_DAYS + 1)
    first = HISTORY_DAYS * 24
    clean = evaluate(
        History.build(starts, neg, tot),
        int(starts[first + 14]),
        int(neg[first + 14]) + 40,
        int(tot[first + 14]) + 40,
        DetectionParams(),
    )
    for day in (3, 10, 20):  # three old incidents, at the same hour of day
        neg[day * 24 + 14] += 200
        tot[day * 24 + 14] += 200
    dirty = evaluate(
        History.build(starts, neg, tot),
        int(starts[first + 14]),
        int(neg[first + 14]) + 40,
        int(tot[first + 14]) + 40,
        DetectionParams(),
    )
    assert clean.anomalous and dirty.anomalous
    assert dirty.expected_negative < 1.2 * clean.expected_negative


def test_seasonal_baseline_follows_the_clock() -> None:
    starts, neg, tot = seasonal_series(np.random.default_rng(3), HISTORY_DAYS)
    history = History.build(starts, neg, tot)
    day = T0 + HISTORY_DAYS * 86400  # a Thursday again
    params = DetectionParams()
    night, afternoon = (evaluate(history, day + h * H, 0, 0, params) for h in (3, 14))
    assert night.baseline == "hour_of_day+day_of_week"
    assert afternoon.expected_negative > 3 * night.expected_negative
    saturday = evaluate(history, day + 2 * 86400 + 14 * H, 0, 0, params)
    assert saturday.expected_negative < 0.8 * afternoon.expected_negative
    # A window starting half-way through an hour expects the mix of the two hours it spans.
    half = evaluate(history, day + 13 * H + 1800, 0, 0, params)
    at13 = evaluate(history, day + 13 * H, 0, 0, params)
    assert half.expected_negative == pytest.approx((at13.expected_negative + afternoon.expected_negative) / 2)


def test_baseline_falls_back_with_short_history() -> None:
    starts, neg, tot = seasonal_series(np.random.default_rng(4), 4)
    params = DetectionParams(min_history_buckets=24)
    assert evaluate(History.build(starts, neg, tot), T0 + 4 * 86400, 0, 0, params).baseline == "hour_of_day"
    one_day = History.build(starts[:30], neg[:30], tot[:30])
    assert evaluate(one_day, T0 + 30 * H, 0, 0, params).baseline == "overall"
    short = evaluate(History.build(starts[:10], neg[:10], tot[:10]), T0 + 10 * H, 50, 60, params)
    assert (short.reason, short.score, short.anomalous) == ("insufficient_history", 0.0, False)
    empty = evaluate(History.build([], [], []), T0, 50, 60, params)
    assert empty.reason == "insufficient_history"


def test_guards_minimum_volume_and_ratio() -> None:
    starts, neg, tot = seasonal_series(np.random.default_rng(5), HISTORY_DAYS)
    history = History.build(starts, neg, tot)
    at = T0 + HISTORY_DAYS * 86400 + 3 * H  # 3 a.m.: about 12 mentions, 2.4 negative
    tiny = evaluate(history, at, 10, 12, DetectionParams())
    assert tiny.reason == "below_minimum_volume" and not tiny.anomalous
    assert tiny.volume_p_value < 0.01  # statistically odd, yet too small to be an incident
    lenient = evaluate(history, at, 10, 12, DetectionParams(min_volume=0, min_negative=0, sensitivity=1.0))
    assert lenient.anomalous
    ratio = evaluate(history, at, 2, 30, DetectionParams(min_volume=0, min_negative=0, min_ratio=5.0))
    assert ratio.reason == "below_minimum_ratio"


def test_history_only_before_the_window_is_used() -> None:
    starts, neg, tot = seasonal_series(np.random.default_rng(6), HISTORY_DAYS + 1)
    full = History.build(starts, neg, tot)
    cut = History.build(starts[: HISTORY_DAYS * 24], neg[: HISTORY_DAYS * 24], tot[: HISTORY_DAYS * 24])
    at = int(starts[HISTORY_DAYS * 24])
    assert evaluate(full, at, 30, 90, DetectionParams()) == evaluate(cut, at, 30, 90, DetectionParams())


def test_history_validation_and_gaps() -> None:
    h = History.build([T0 + 5 * H, T0, T0 + 2 * H], [1, 2, 3], [4, 5, 6])
    assert h.starts.tolist() == [T0 + i * H for i in range(6)]
    assert h.negative.tolist() == [2, 0, 3, 0, 0, 1]
    assert h.total.tolist() == [5, 0, 6, 0, 0, 4]
    assert History.build([utc(T0)], [1], [1]).starts.tolist() == [T0]
    for bad in [
        ([T0 + 1], [1], [1]),
        ([T0, T0], [1, 1], [1, 1]),
        ([T0], [2], [1]),
        ([T0], [-1], [1]),
        ([T0, T0 + H], [1], [1]),
    ]:
        with pytest.raises(ValueError):
            History.build(*bad)
    with pytest.raises(ValueError):
        History.build([T0], [1], [1], bucket_seconds=7)
    with pytest.raises(ValueError):
        evaluate(h, T0 + 6 * H, 5, 4, DetectionParams())


def test_zero_negative_history_still_gives_a_finite_expectation() -> None:
    starts = T0 + np.arange(24 * 7) * H
    history = History.build(starts, np.zeros(starts.size, int), np.full(starts.size, 30))
    ev = evaluate(history, int(starts[-1]) + H, 12, 40, DetectionParams())
    assert ev.expected_negative > 0 and ev.anomalous
    assert 0 < ev.volume_p_value < 1e-5


def test_episode_cooldown_and_hysteresis() -> None:
    params = DetectionParams(cooldown=timedelta(hours=2), quiet_period=timedelta(minutes=30))
    thr = params.threshold

    def ev(score: float) -> Evaluation:
        return Evaluation(
            0,
            H,
            50,
            60,
            10.0,
            1.0,
            10**-score,
            None,
            None,
            None,
            1.0,
            "overall",
            "negative_volume",
            score,
            thr,
            score >= thr,
            score >= params.clear_fraction * thr,
        )

    t = utc(T0)
    action, ep = step_episode(None, ev(thr + 1), t, params)
    assert action is Action.FIRE and ep.is_open and ep.started_at == t
    action, ep = step_episode(ep, ev(thr + 1.1), t + timedelta(minutes=1), params)
    assert action is Action.NONE  # growing a little is not news
    action, ep = step_episode(ep, ev(0.6 * thr), t + timedelta(minutes=2), params)
    assert action is Action.NONE and ep.last_elevated_at == t + timedelta(minutes=2)
    action, ep = step_episode(ep, ev(0.0), t + timedelta(minutes=20), params)
    assert action is Action.NONE  # quiet, but not for long enough yet
    action, ep = step_episode(ep, ev(0.0), t + timedelta(minutes=32), params)
    assert action is Action.RESOLVE and not ep.is_open
    action, ep2 = step_episode(ep, ev(thr + 3), t + timedelta(hours=1), params)
    assert action is Action.NONE and ep2 == ep  # cooldown
    action, ep3 = step_episode(ep, ev(thr + 3), t + timedelta(minutes=32) + timedelta(hours=2), params)
    assert action is Action.FIRE
    assert Episode.from_dict(ep3.to_dict()) == ep3
    assert Episode.from_dict(None) == Episode() == Episode.from_dict({})
    with pytest.raises(ValueError):
        step_episode(None, ev(1), t.replace(tzinfo=None), params)


def test_sensitivity_scale_and_adaptation() -> None:
    assert threshold_for(0.5) == 5.0 and threshold_for(1.0) == 2.0 and threshold_for(0.0) == 8.0
    assert sensitivity_for_threshold(threshold_for(0.3)) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        threshold_for(1.5)
    # A false positive at score 5.5 (just over the 0.5 threshold) moves just past it...
    s = adapt_sensitivity(0.5, 5.5)
    assert 0.4 <= s < 0.5 and threshold_for(s) > 5.5
    # ...a huge one moves by at most one step, repeated marks keep lowering down to the floor.
    assert adapt_sensitivity(0.5, 80.0) == pytest.approx(0.4)
    s = 0.5
    for _ in range(20):
        s = adapt_sensitivity(s, 80.0)
    assert s == pytest.approx(0.05)
    assert adapt_sensitivity(0.5, 3.0) == 0.5  # would not have fired at 0.5 anyway
    assert adapt_sensitivity(0.01, 80.0) == 0.01  # never raises sensitivity
    with pytest.raises(ValueError):
        adapt_sensitivity(0.5, float("nan"))


def test_lower_sensitivity_fires_less() -> None:
    starts, neg, tot = seasonal_series(np.random.default_rng(8), HISTORY_DAYS)
    history = History.build(starts, neg, tot)
    at = T0 + HISTORY_DAYS * 86400 + 14 * H
    ev = evaluate(history, at, 40, 100, DetectionParams())
    sensitive = evaluate(history, at, 40, 100, DetectionParams(sensitivity=1.0))
    strict = evaluate(history, at, 40, 100, DetectionParams(sensitivity=0.0))
    assert sensitive.score == ev.score == strict.score
    assert strict.threshold > ev.threshold > sensitive.threshold


def test_params_validation() -> None:
    for bad in (
        {"sensitivity": -0.1},
        {"metric": "volume"},
        {"min_volume": -1},
        {"clear_fraction": 0},
        {"cooldown": timedelta(-1)},
        {"min_history_buckets": 0},
    ):
        with pytest.raises(ValueError):
            DetectionParams(**bad)


def test_numbers_for_the_alert() -> None:
    starts, neg, tot = seasonal_series(np.random.default_rng(9), HISTORY_DAYS)
    ev = evaluate(
        History.build(starts, neg, tot), T0 + HISTORY_DAYS * 86400 + 14 * H, 60, 120, DetectionParams()
    )
    numbers = ev.numbers()
    assert numbers["observed"] == 60 and numbers["total"] == 120 and numbers["negative_share"] == 0.5
    assert 0 < numbers["expected_share"] < 0.3  # type: ignore[operator]
    assert ev.anomalous and numbers["score"] >= numbers["threshold"]  # type: ignore[operator]


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("metric", ["negative_volume", "negative_share"])
@pytest.mark.parametrize(("negative", "total"), [(500, 520), (5000, 5000), (200_000, 210_000)])
def test_extreme_spikes_score_at_the_top_not_at_zero(metric: str, negative: int, total: int) -> None:
    """Far-tail probabilities underflow; that must read as 'extreme', never as 'nothing'."""
    starts, neg, tot = seasonal_series(np.random.default_rng(11), HISTORY_DAYS)
    params = DetectionParams(metric=metric)  # type: ignore[arg-type]
    ev = evaluate(
        History.build(starts, neg, tot), T0 + HISTORY_DAYS * 86400 + 14 * H, negative, total, params
    )
    assert ev.anomalous and ev.score >= 50, ev
