"""Spike detection on a storm: detection delay, alerts per episode, false alarms per week.

    python -m benchmarks.spikes [--weeks 20] [--seed 0]

Pure detection (``listening.alerts.detection``, no database): the same ``evaluate_scales`` and
``step_episode`` that ``do_check_rule`` runs, replayed hourly by ``backtest``.

The stream: hourly mention counts with an afternoon peak, a weekend dip, hour-to-hour Poisson noise
and a day-to-day level that wanders (Gamma, about +-20 %: real brands' days differ by more than
Poisson says); the negative share is the share of negative tweets in the SemEval brand tweets
(``../shared/data/brands``, 0.2 when absent). Two sizes: 13 mentions an hour (the issue's storm:
no single hour reaches the default rule's 20) and 60.

* Storm: five days of baseline, then two days in which negatives double (the known event); delay =
  hours from the storm's start to the first alert, alerts = how many fire during the storm (1: one
  alert covers the episode).
* Quiet: ``--weeks`` independent quiet weeks, each judged after five days of history; every alert
  is a false alarm.

Each configuration is one line, side by side: the rule's own 1-hour window only (before), 24-hour
buckets (before, the issue's "24-hour rule"), and 1 h + 6 h + 24 h together (now).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from benchmarks.brand_tweets import data_file, read_brand_tweets
from listening.alerts.detection import DetectionParams, History, backtest, scales_for

H = 3600
DAY = 86400
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC, a Thursday
BASELINE_DAYS = 5
STORM_DAYS = 2


def negative_share() -> tuple[float, str]:
    """The share of negative tweets in the brand tweets, and where it came from."""
    if not data_file().exists():
        return 0.2, "default 0.2 (brand tweets absent)"
    tweets = read_brand_tweets()
    negative = sum(t.sentiment == "negative" for t in tweets) / len(tweets)
    return negative, f"{data_file().name} ({len(tweets)} tweets)"


def stream(
    rng: np.random.Generator, days: int, rate: float, share: float, storm: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly (starts, negative, total); negatives doubled over ``storm`` (start, end hour indices)."""
    starts = T0 + np.arange(days * 24) * H
    hour = (starts // H) % 24
    dow = ((starts // DAY) + 3) % 7
    shape = (0.35 + 1.3 * np.exp(-(((hour - 15) / 4.5) ** 2))) * np.where(dow >= 5, 0.7, 1.0)
    shape = shape / shape.mean()
    level = np.repeat(rng.gamma(25.0, 1 / 25.0, size=days), 24)  # the day's level, +-20 %
    mean = rate * shape * level
    negative = rng.poisson(mean * share)
    other = rng.poisson(mean * (1 - share))
    if storm is not None:
        extra = rng.poisson(mean[storm[0] : storm[1]] * share)  # complaints double
        negative[storm[0] : storm[1]] += extra
    return starts, negative, negative + other


@dataclass(frozen=True)
class Config:
    name: str
    bucket: int
    scales: tuple[int, ...]
    params: DetectionParams


def configs() -> list[Config]:
    """The default rule (60-minute window, min 20 mentions / 5 negative, sensitivity 0.5)."""

    def params(bucket: int) -> DetectionParams:
        return DetectionParams(
            min_volume=20,
            min_negative=5,
            min_history_buckets=max(1, 3 * DAY // bucket),
            share_halflife_buckets=7 * DAY / bucket,
            window_seconds=bucket,
        )

    return [
        Config("1 h window only (before)", H, (H,), params(H)),
        Config("24 h buckets (before)", DAY, (DAY,), params(DAY)),
        Config("1 h + 6 h + 24 h (now)", H, scales_for(H, H), params(H)),
    ]


def history_of(starts: np.ndarray, negative: np.ndarray, total: np.ndarray, bucket: int) -> History:
    per = bucket // H
    n = len(starts) // per * per
    return History.build(
        starts[:n:per],
        negative[:n].reshape(-1, per).sum(axis=1),
        total[:n].reshape(-1, per).sum(axis=1),
        bucket_seconds=bucket,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data_share, origin = negative_share()
    print(f"negative share {data_share:.3f} from {origin}; default rule, sensitivity 0.5 (threshold 5.0)")
    # The brand tweets' share, and a complaint-heavy brand's (the issue's airlines: most tweets
    # negative), at 13 and 60 mentions an hour.
    for rate, share in ((13.0, data_share), (60.0, data_share), (13.0, 0.6)):
        for config in configs():
            started = time.perf_counter()
            delays, counts = [], []
            for trial in range(10):
                rng = np.random.default_rng(args.seed * 1000 + trial)
                storm = (BASELINE_DAYS * 24, (BASELINE_DAYS + STORM_DAYS) * 24)
                starts, neg, tot = stream(rng, BASELINE_DAYS + STORM_DAYS + 1, rate, share, storm)
                history = history_of(starts, neg, tot, config.bucket)
                begin, end = T0 + storm[0] * H, T0 + storm[1] * H
                step = max(config.bucket, H)
                episodes = backtest(history, begin, end, config.params, config.scales, step_seconds=step)
                counts.append(len(episodes))
                if episodes:
                    delays.append((episodes[0]["fired_at"].timestamp() - begin) / H)
            false_alarms = 0
            for week in range(args.weeks):
                rng = np.random.default_rng(10_000 + args.seed * 1000 + week)
                starts, neg, tot = stream(rng, BASELINE_DAYS + 7, rate, share)
                history = history_of(starts, neg, tot, config.bucket)
                begin = T0 + BASELINE_DAYS * DAY
                step = max(config.bucket, H)
                episodes = backtest(
                    history, begin, begin + 7 * DAY, config.params, config.scales, step_seconds=step
                )
                false_alarms += len(episodes)
            detected = len(delays)
            delay = f"{np.median(delays):5.1f} h" if delays else "  never"
            one = sum(c == 1 for c in counts)
            print(
                f"{rate:>4.0f}/h neg {share:.2f}  {config.name:<26} storms detected {detected:>2}/10  "
                f"median delay {delay}  one alert per storm {one:>2}/10  "
                f"false alarms/week {false_alarms / args.weeks:.2f} ({args.weeks} quiet weeks)  "
                f"{time.perf_counter() - started:5.1f} s"
            )


if __name__ == "__main__":
    main()
