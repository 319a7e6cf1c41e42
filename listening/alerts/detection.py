"""Spike detection on a brand's negative mentions: pure numpy/scipy, deterministic, no Django.

Units and conventions
---------------------
* Time is integer Unix seconds, UTC. History comes in equal buckets of ``bucket_seconds`` (an hourly
  rollup by default); a bucket absent from the input means zero mentions in it.
* The *window* is the span being judged, one bucket long, starting anywhere (the beat task slides it
  every minute). Only history buckets that end at or before the window start are used.
* Every statistic is reported as a *score* = -log10(upper-tail p-value), so both metrics share one
  threshold scale. ``sensitivity`` in [0, 1] maps to the threshold ``2 + 6 * (1 - sensitivity)``:
  0.5 fires at p < 1e-5, 1.0 at p < 1e-2, 0.0 at p < 1e-8.

Statistics
----------
Negative volume: expected count = level x hour-of-day factor x day-of-week factor, the factors
estimated as shrunken ratios over the whole history (hour-of-day once it spans two days, day-of-week
once it spans two weeks; otherwise the flat level), the level over the last two weeks. Counts are
negative-binomial with variance ``phi * mean + mean^2 / evidence``: ``phi`` (>= 1) is the Pearson
dispersion, the second term the uncertainty of the level itself (``evidence`` = negative mentions
behind it). Past spikes
are excluded from the fit (two passes, dropping buckets with Pearson residual above 5), so
yesterday's incident does not mask today's. p = P(X >= observed).

Negative share: centre = ratio of EWMAs of negative and total counts (volume-weighted, half-life one
week of buckets); overdispersion from a robust scale (1.4826 x MAD) of the historical one-step-ahead
binomially standardised residuals, turned into a beta-binomial intra-class correlation. p = the exact
beta-binomial upper tail of the negative count given the window's total (the normal approximation is
far too thin for small windows); the matching z is reported for display. No seasonality for the
share: it moves far less with the clock than volume does.

Guards: the window must have ``min_volume`` mentions in all, ``min_negative`` negative ones, and the
metric must be at least ``min_ratio`` times its expectation, else the score is 0: a tiny but
"significant" wobble on a huge brand is not an incident.

Episodes: :func:`step_episode` turns evaluations into fire / update / resolve decisions, one alert per
episode, with hysteresis (an open episode stays open while the score is above ``clear_fraction`` of
the threshold) and a cooldown between episodes.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import signal, special, stats

__all__ = [
    "Action",
    "DetectionParams",
    "Episode",
    "Evaluation",
    "History",
    "MultiScale",
    "adapt_sensitivity",
    "backtest",
    "evaluate",
    "evaluate_scales",
    "scales_for",
    "sensitivity_for_threshold",
    "step_episode",
    "threshold_for",
    "utc",
]

Metric = Literal["negative_volume", "negative_share"]
_LN10 = math.log(10.0)
_MAX_SCORE = 300.0  # p-values below 1e-300 are reported as 1e-300
_LEVEL_SECONDS = 14 * 86400  # the level is estimated over the last two weeks of history


def threshold_for(sensitivity: float) -> float:
    """Score threshold (-log10 p) for a sensitivity in [0, 1]."""
    if not 0.0 <= sensitivity <= 1.0 or math.isnan(sensitivity):
        raise ValueError("sensitivity must be in [0, 1]")
    return 2.0 + 6.0 * (1.0 - sensitivity)


def sensitivity_for_threshold(threshold: float) -> float:
    """Inverse of :func:`threshold_for`, clipped to [0, 1]."""
    return float(min(1.0, max(0.0, 1.0 - (threshold - 2.0) / 6.0)))


@dataclass(frozen=True)
class DetectionParams:
    """One alert rule's knobs (per brand or campaign)."""

    metric: Metric = "negative_volume"
    sensitivity: float = 0.5
    min_volume: int = 20  # mentions of any sentiment in the window
    min_negative: int = 5  # negative mentions in the window
    min_ratio: float = 1.5  # observed / expected (volume) or share / usual share
    min_history_buckets: int = 72  # below this, no verdict at all
    cooldown: timedelta = timedelta(hours=2)  # from one episode's end to the next one's start
    quiet_period: timedelta = timedelta(minutes=30)  # below the clear level this long to resolve
    clear_fraction: float = 0.5  # hysteresis: elevated while score >= clear_fraction * threshold
    update_growth: float = 0.25  # an open alert is updated when its peak score grows by this fraction
    utc_offset_seconds: int = 0  # the brand's clock, for hour-of-day / day-of-week
    share_halflife_buckets: float = 168.0
    # The window ``min_volume`` and ``min_negative`` are set for (None: one history bucket). A
    # longer window needs ``sqrt(length / this)`` times as many: the noise of a count grows with
    # the square root of its mean, so the guard keeps the same meaning at every scale.
    window_seconds: int | None = None

    def __post_init__(self) -> None:
        threshold_for(self.sensitivity)
        if self.metric not in ("negative_volume", "negative_share"):
            raise ValueError("metric must be negative_volume or negative_share")
        if self.min_volume < 0 or self.min_negative < 0 or self.min_ratio < 0:
            raise ValueError("minimums must be non-negative")
        if (
            not 0.0 < self.clear_fraction <= 1.0
            or self.update_growth <= 0
            or self.share_halflife_buckets <= 0
        ):
            raise ValueError("clear_fraction in (0, 1], update_growth and share_halflife_buckets > 0")
        if self.min_history_buckets < 1 or self.cooldown < timedelta(0) or self.quiet_period < timedelta(0):
            raise ValueError("min_history_buckets >= 1, cooldown and quiet_period >= 0")
        if self.window_seconds is not None and self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")

    @property
    def threshold(self) -> float:
        return threshold_for(self.sensitivity)


@dataclass(frozen=True)
class History:
    """Dense, validated per-bucket counts, oldest first. Build with :meth:`build`."""

    starts: NDArray[np.int64]
    negative: NDArray[np.int64]
    total: NDArray[np.int64]
    bucket_seconds: int

    @classmethod
    def build(
        cls,
        starts: Iterable[int | datetime],
        negative: Iterable[int],
        total: Iterable[int],
        *,
        bucket_seconds: int = 3600,
    ) -> History:
        """Validate and densify. Starts must be bucket-aligned (multiples of ``bucket_seconds``) and
        distinct; gaps are filled with zero counts. Raises ValueError on misaligned or duplicate
        starts, negative counts, or negative > total."""
        if bucket_seconds <= 0 or 86400 % bucket_seconds:
            raise ValueError("bucket_seconds must divide a day")
        s = np.array([_epoch(x) for x in starts], dtype=np.int64)
        neg = np.asarray(list(negative), dtype=np.int64)
        tot = np.asarray(list(total), dtype=np.int64)
        if not (s.shape == neg.shape == tot.shape) or s.ndim != 1:
            raise ValueError("starts, negative and total must be 1-D and of equal length")
        if s.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty.copy(), empty.copy(), bucket_seconds)
        if np.any(s % bucket_seconds):
            raise ValueError("bucket starts must be multiples of bucket_seconds")
        if np.any(neg < 0) or np.any(tot < 0) or np.any(neg > tot):
            raise ValueError("counts must satisfy 0 <= negative <= total")
        order = np.argsort(s, kind="stable")
        s, neg, tot = s[order], neg[order], tot[order]
        if np.any(np.diff(s) == 0):
            raise ValueError("duplicate bucket starts")
        idx = (s - s[0]) // bucket_seconds
        n = int(idx[-1]) + 1
        if n > 5_000_000:
            raise ValueError("history spans too many buckets")
        dense_neg = np.zeros(n, dtype=np.int64)
        dense_tot = np.zeros(n, dtype=np.int64)
        dense_neg[idx] = neg
        dense_tot[idx] = tot
        dense_starts = s[0] + np.arange(n, dtype=np.int64) * bucket_seconds
        return cls(dense_starts, dense_neg, dense_tot, bucket_seconds)

    def before(self, t: int) -> History:
        """The buckets that end at or before ``t``."""
        keep = self.starts + self.bucket_seconds <= t
        return History(self.starts[keep], self.negative[keep], self.total[keep], self.bucket_seconds)


def _epoch(value: int | datetime) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return int(value.timestamp())
    if isinstance(value, bool):
        raise ValueError("not a timestamp")
    return int(value)


@dataclass(frozen=True)
class Evaluation:
    """The verdict on one window; ``numbers()`` is what an alert shows."""

    window_start: int
    window_end: int
    negative: int
    total: int
    expected_negative: float
    dispersion: float
    volume_p_value: float
    share: float | None
    expected_share: float | None
    share_z: float | None
    share_p_value: float
    baseline: str  # "hour_of_day+day_of_week" | "hour_of_day" | "overall" | "none"
    metric: Metric
    score: float  # -log10 p of the rule's metric after the guards; 0 when a guard failed
    threshold: float
    anomalous: bool  # score >= threshold
    elevated: bool  # score >= clear_fraction * threshold (keeps an episode open)
    reason: str = ""  # why the score is 0: insufficient_history, below_minimum_volume, below_minimum_ratio
    min_volume: int = 0  # the guards as scaled to this window
    min_negative: int = 0

    @property
    def window_seconds(self) -> int:
        return self.window_end - self.window_start

    def numbers(self) -> dict[str, float | int | str | None]:
        ratio = self.negative / self.expected_negative if self.expected_negative > 0 else None
        return {
            "window_minutes": self.window_seconds // 60,
            "observed": self.negative,
            "expected": round(self.expected_negative, 3),
            "ratio": None if ratio is None else round(ratio, 3),
            "total": self.total,
            "negative_share": None if self.share is None else round(self.share, 4),
            "expected_share": None if self.expected_share is None else round(self.expected_share, 4),
            "share_z": None if self.share_z is None else round(self.share_z, 3),
            "volume_p_value": self.volume_p_value,
            "share_p_value": self.share_p_value,
            "score": round(self.score, 3),
            "threshold": round(self.threshold, 3),
            "dispersion": round(self.dispersion, 3),
            "min_volume": self.min_volume,
            "min_negative": self.min_negative,
            "baseline": self.baseline,
            "reason": self.reason or None,
        }


def _slots(starts: NDArray[np.int64], offset: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    local = starts + offset
    hour = (local // 3600) % 24
    dow = ((local // 86400) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    return hour, dow


@dataclass
class _VolumeModel:
    level: float
    hod: NDArray[np.float64] = field(default_factory=lambda: np.ones(24))
    dow: NDArray[np.float64] = field(default_factory=lambda: np.ones(7))
    phi: float = 1.0
    level_evidence: float = 1.0  # negative mentions behind the level estimate (its gamma shape)
    kind: str = "overall"
    fitted: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))  # mean per history bucket
    kept: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))  # not a past spike

    def mean(self, starts: NDArray[np.int64], offset: int) -> NDArray[np.float64]:
        hour, dow = _slots(starts, offset)
        return self.level * self.hod[hour] * self.dow[dow]


def _shrunk_factor(
    x: NDArray[np.float64],
    expected: NDArray[np.float64],
    groups: NDArray[np.int64],
    n_groups: int,
    keep: NDArray[np.bool_],
    prior: float = 2.0,
) -> NDArray[np.float64]:
    """Per-group observed/expected ratio, shrunk toward 1 by ``prior`` buckets' worth of evidence."""
    obs = np.bincount(groups[keep], weights=x[keep], minlength=n_groups)
    exp = np.bincount(groups[keep], weights=expected[keep], minlength=n_groups)
    mean_exp = float(exp.sum() / max(1, keep.sum()))
    pseudo = prior * max(mean_exp, 1e-9)
    factor = (obs + pseudo) / (exp + pseudo)
    return factor / float(np.mean(factor))  # normalised so the level keeps its meaning


def _fit_volume(history: History, offset: int) -> _VolumeModel:
    x = history.negative.astype(np.float64)
    n = x.size
    span = n * history.bucket_seconds
    hour, dow = _slots(history.starts, offset)
    recent = history.starts >= history.starts[-1] + history.bucket_seconds - _LEVEL_SECONDS
    keep = np.ones(n, dtype=bool)
    model = _VolumeModel(level=1.0)
    for _ in range(3):
        model.hod = np.ones(24)
        model.dow = np.ones(7)
        model.kind = "overall"
        if span >= 2 * 86400 and history.bucket_seconds <= 3600:
            flat = np.ones(n)
            model.hod = _shrunk_factor(x, flat, hour, 24, keep)
            model.kind = "hour_of_day"
        if span >= 14 * 86400:
            model.dow = _shrunk_factor(x, model.hod[hour], dow, 7, keep)
            model.kind = "hour_of_day+day_of_week"
        shape = model.hod[hour] * model.dow[dow]
        sel = keep & recent
        # Additive smoothing keeps a brand with no negatives yet from having an expectation of zero.
        model.level = float((x[sel].sum() + 1.0) / (shape[sel].sum() + 1.0))
        model.level_evidence = float(x[sel].sum() + 1.0)
        mu = model.level * shape
        pearson_sq = (x - mu) ** 2 / mu
        model.phi = float(min(50.0, max(1.0, pearson_sq[keep].mean())))
        new_keep = (x - mu) / np.sqrt(model.phi * mu) <= 5.0
        model.fitted, model.kept = mu, keep
        if np.array_equal(new_keep, keep):
            break
        keep = new_keep
    return model


def _block_dispersion(history: History, model: _VolumeModel, per: int) -> float | None:
    """Pearson dispersion of the history's counts in blocks of ``per`` buckets (the newest blocks,
    those without a past spike), or None under five blocks. Days differ from one another by more
    than their hours' noise adds up to; a day-long window must be judged by how days vary."""
    n = history.negative.size // per * per
    if n < 5 * per:
        return None
    x = history.negative[-n:].astype(np.float64).reshape(-1, per).sum(axis=1)
    mu = model.fitted[-n:].reshape(-1, per).sum(axis=1)
    clean = model.kept[-n:].reshape(-1, per).all(axis=1) & (mu > 0)
    if clean.sum() < 5:
        return None
    return float(np.mean((x[clean] - mu[clean]) ** 2 / mu[clean]))


def _upper_tail_log10(observed: int, mean: float, phi: float) -> float:
    """-log10 P(X >= observed) for X with the given mean and variance phi * mean."""
    if observed <= 0:
        return 0.0
    if phi <= 1.0 + 1e-6:
        log_sf = float(stats.poisson.logsf(observed - 1, mean))
    else:
        log_sf = float(stats.nbinom.logsf(observed - 1, mean / (phi - 1.0), 1.0 / phi))
    return _score(log_sf, observed > mean)


def _score(log_sf: float, above: bool) -> float:
    """-log10 p from a natural-log tail, clipped to [0, _MAX_SCORE]. A tail that underflowed or came
    out NaN (scipy computing 1 - cdf far out) is the extreme end when the observation is above the
    mean, and nothing otherwise."""
    if math.isnan(log_sf):
        return _MAX_SCORE if above else 0.0
    return float(min(_MAX_SCORE, max(0.0, -log_sf / _LN10)))


def _betabinom_log_sf(observed: int, n: int, a: float, b: float) -> float:
    """log P(X >= observed) for X ~ BetaBinomial(n, a, b), summed from the pmf: scipy's own sf is
    1 - cdf, which loses everything in the far tail that matters here."""
    if n - observed > 1_000_000:  # a window this large is far from the tail anyway
        return float(stats.betabinom.logsf(observed - 1, n, a, b))
    support = np.arange(observed, n + 1)
    return float(special.logsumexp(stats.betabinom.logpmf(support, n, a, b)))


def _share_model(history: History, halflife: float) -> tuple[float, float] | None:
    """(centre, intra-class correlation rho) from the history, or None without any volume.

    rho is the beta-binomial overdispersion: a bucket of n mentions has variance
    n p (1 - p) (1 + (n - 1) rho). It is read off k = 1.4826 x MAD of the historical one-step-ahead
    binomially standardised residuals, k^2 = 1 + (median n - 1) rho.
    """
    neg = history.negative.astype(np.float64)
    tot = history.total.astype(np.float64)
    if tot.sum() <= 0:
        return None
    alpha = 1.0 - 0.5 ** (1.0 / halflife)
    b, a = [alpha], [1.0, -(1.0 - alpha)]
    n0 = min(tot.size, 24)
    init_neg, init_tot = neg[:n0].mean(), tot[:n0].mean()
    ew_neg = signal.lfilter(b, a, neg, zi=[(1.0 - alpha) * init_neg])[0]
    ew_tot = signal.lfilter(b, a, tot, zi=[(1.0 - alpha) * init_tot])[0]
    # One-step-ahead centre for bucket t uses the EWMAs up to t-1.
    prev_neg = np.concatenate([[init_neg], ew_neg[:-1]])
    prev_tot = np.concatenate([[init_tot], ew_tot[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        centre_t = np.clip(prev_neg / prev_tot, 0.01, 0.99)
        ok = (tot >= 5) & (prev_tot > 0)
        resid = (neg[ok] / tot[ok] - centre_t[ok]) / np.sqrt(centre_t[ok] * (1 - centre_t[ok]) / tot[ok])
    rho = 0.0
    if resid.size >= 10:
        k = max(1.0, float(stats.median_abs_deviation(resid, scale="normal")))
        typical_n = float(np.median(tot[ok]))
        rho = min(0.5, (k * k - 1.0) / (typical_n - 1.0)) if typical_n > 1 else 0.0
    if ew_tot[-1] <= 0:
        return None
    centre = float(np.clip(ew_neg[-1] / ew_tot[-1], 0.01, 0.99))
    return centre, rho


def _window_mean(model: _VolumeModel, start: int, length: int, bucket: int, offset: int) -> float:
    """Expected count of ``[start, start + length)``: each history bucket's seasonal mean weighted
    by how much of it the window covers (a window needs not start on a bucket)."""
    first = start - start % bucket
    starts = np.arange(first, start + length, bucket, dtype=np.int64)
    overlap = np.minimum(starts + bucket, start + length) - np.maximum(starts, start)
    return float(np.sum(model.mean(starts, offset) * np.clip(overlap, 0, bucket) / bucket))


def evaluate(
    history: History,
    window_start: int | datetime,
    negative: int,
    total: int,
    params: DetectionParams,
    *,
    window_seconds: int | None = None,
) -> Evaluation:
    """Judge the window ``[window_start, window_start + window_seconds)`` (default: one history
    bucket) holding ``negative`` of ``total`` mentions against the ``history`` before it under
    ``params``. A window of several buckets expects the sum of their seasonal means, with the
    buckets' dispersion; its minimum volume is scaled (``DetectionParams.window_seconds``).
    Deterministic; never raises on odd data (empty history, zero volume) but on invalid arguments
    (negative counts, negative > total)."""
    if isinstance(negative, bool) or isinstance(total, bool) or not 0 <= negative <= total:
        raise ValueError("counts must satisfy 0 <= negative <= total")
    start = _epoch(window_start)
    bucket = history.bucket_seconds
    length = window_seconds or bucket
    if length <= 0:
        raise ValueError("window_seconds must be positive")
    past = history.before(start)
    threshold = params.threshold
    share = negative / total if total > 0 else None
    scale = math.sqrt(length / (params.window_seconds or bucket))
    min_volume = math.ceil(params.min_volume * max(1.0, scale))
    min_negative = math.ceil(params.min_negative * max(1.0, scale))

    def verdict(score: float, reason: str, **numbers: Any) -> Evaluation:
        base: dict[str, Any] = {
            "expected_negative": 0.0,
            "dispersion": 1.0,
            "volume_p_value": 1.0,
            "expected_share": None,
            "share_z": None,
            "share_p_value": 1.0,
            "baseline": "none",
            "min_volume": min_volume,
            "min_negative": min_negative,
        }
        base.update(numbers)
        return Evaluation(
            window_start=start,
            window_end=start + length,
            negative=negative,
            total=total,
            share=share,
            metric=params.metric,
            score=score,
            threshold=threshold,
            anomalous=score >= threshold,
            elevated=score >= params.clear_fraction * threshold,
            reason=reason,
            **base,
        )

    if past.starts.size < params.min_history_buckets:
        return verdict(0.0, "insufficient_history")

    model = _fit_volume(past, params.utc_offset_seconds)
    expected = _window_mean(model, start, length, bucket, params.utc_offset_seconds)
    # The level is itself an estimate: its gamma posterior adds mean^2 / evidence to the variance,
    # which keeps a young or small brand's thin history from making every wobble look significant.
    phi = model.phi
    per = length // bucket
    if per > 1:
        block = _block_dispersion(past, model, per)
        phi = min(50.0, max(phi, block)) if block is not None else phi
    volume_score = _upper_tail_log10(negative, expected, phi + expected / model.level_evidence)

    share_fit = _share_model(past, params.share_halflife_buckets)
    expected_share = share_z = None
    share_score = 0.0
    if share_fit is not None and share is not None:
        expected_share, rho = share_fit
        inflation = 1.0 + (total - 1) * rho
        share_z = (share - expected_share) / math.sqrt(
            expected_share * (1.0 - expected_share) * inflation / total
        )
        # The exact (beta-)binomial tail: the normal one is far too thin for the small windows of a
        # small brand.
        if rho > 0:
            a = expected_share * (1.0 - rho) / rho
            b = (1.0 - expected_share) * (1.0 - rho) / rho
            log_sf = _betabinom_log_sf(negative, total, a, b)
        else:
            log_sf = float(stats.binom.logsf(negative - 1, total, expected_share))
        share_score = 0.0 if negative == 0 else _score(log_sf, share > expected_share)

    numbers = {
        "expected_negative": expected,
        "dispersion": phi,
        "volume_p_value": 10.0**-volume_score,
        "expected_share": expected_share,
        "share_z": share_z,
        "share_p_value": 10.0**-share_score,
        "baseline": model.kind,
    }
    if total < min_volume or negative < min_negative:
        return verdict(0.0, "below_minimum_volume", **numbers)
    if params.metric == "negative_volume":
        score, ratio = volume_score, negative / expected
    else:
        score = share_score
        ratio = (share or 0.0) / expected_share if expected_share else 0.0
    if ratio < params.min_ratio:
        return verdict(0.0, "below_minimum_ratio", **numbers)
    return verdict(score, "", **numbers)


class Action(enum.StrEnum):
    NONE = "none"
    FIRE = "fire"  # a new episode: create the alert, send alert.fired
    UPDATE = "update"  # the open episode grew: update the alert, send alert.updated
    RESOLVE = "resolve"  # the episode subsided: close the alert, send alert.resolved


@dataclass(frozen=True)
class Episode:
    """A rule's episode state between evaluations; store ``to_dict()`` as JSON."""

    is_open: bool = False
    started_at: datetime | None = None
    peak_score: float = 0.0
    peak_negative: int = 0
    last_elevated_at: datetime | None = None
    closed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started_at", "last_elevated_at", "closed_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> Episode:
        """Inverse of :meth:`to_dict`; an empty or missing mapping is a closed episode."""
        if not raw:
            return cls()

        def when(key: str) -> datetime | None:
            value = raw.get(key)
            return datetime.fromisoformat(value) if value else None

        return cls(
            is_open=bool(raw.get("is_open", False)),
            started_at=when("started_at"),
            peak_score=float(raw.get("peak_score", 0.0)),
            peak_negative=int(raw.get("peak_negative", 0)),
            last_elevated_at=when("last_elevated_at"),
            closed_at=when("closed_at"),
        )


def step_episode(
    previous: Episode | None, evaluation: Evaluation, now: datetime, params: DetectionParams
) -> tuple[Action, Episode]:
    """Advance the episode state machine by one evaluation made at ``now`` (aware datetime).

    closed -> FIRE when the window is anomalous and ``cooldown`` (at least the window's length)
    has passed since the last episode closed. open -> UPDATE when anomalous and the score beats the
    peak by ``update_growth``; stays open while elevated; RESOLVE once it has not been elevated for
    ``quiet_period``. Otherwise NONE.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    state = previous or Episode()
    ev = evaluation
    if not state.is_open:
        # A window that overlaps the last episode cannot open a new one: a day-long window still
        # holds yesterday's storm hours after its alert resolved.
        wait = max(params.cooldown, timedelta(seconds=ev.window_end - ev.window_start))
        cooled = state.closed_at is None or now - state.closed_at >= wait
        if ev.anomalous and cooled:
            return Action.FIRE, Episode(True, now, ev.score, ev.negative, now, None)
        return Action.NONE, state
    if ev.elevated:
        grown = ev.anomalous and ev.score >= state.peak_score * (1.0 + params.update_growth)
        if grown:
            return Action.UPDATE, replace(
                state,
                peak_score=ev.score,
                last_elevated_at=now,
                peak_negative=max(state.peak_negative, ev.negative),
            )
        return Action.NONE, replace(state, last_elevated_at=now)
    since = state.last_elevated_at or state.started_at or now
    if now - since >= params.quiet_period:
        return Action.RESOLVE, replace(state, is_open=False, closed_at=now)
    return Action.NONE, state


def adapt_sensitivity(
    sensitivity: float,
    false_positive_score: float,
    *,
    max_step: float = 0.1,
    margin: float = 0.05,
    floor: float = 0.05,
) -> float:
    """The rule's new sensitivity after an analyst marks an alert with peak score
    ``false_positive_score`` a false positive.

    Lowers sensitivity just enough that the same peak would have stayed ``margin`` (relative) below
    the threshold, but by at most ``max_step`` per marking and never below ``floor``, so one odd alert
    cannot switch a rule off. Returns ``sensitivity`` unchanged if that peak would already not fire.
    """
    threshold_for(sensitivity)
    if not math.isfinite(false_positive_score) or false_positive_score < 0:
        raise ValueError("false_positive_score must be a finite, non-negative score")
    target = sensitivity_for_threshold(false_positive_score * (1.0 + margin))
    if target >= sensitivity:
        return sensitivity
    return float(min(sensitivity, max(floor, sensitivity - max_step, target)))


def utc(ts: int) -> datetime:
    """Unix seconds to an aware UTC datetime (a convenience for callers and tests)."""
    return datetime.fromtimestamp(ts, tz=UTC)


# --- several window lengths at once -------------------------------------------------------------

# The window lengths every rule is judged at besides its own: a storm's complaints spread over a
# day are a spike at six or 24 hours long before any single hour holds enough of them.
SCALES = (3600, 6 * 3600, 86400)


def scales_for(window_seconds: int, bucket_seconds: int) -> tuple[int, ...]:
    """The rule's own window and each of ``SCALES`` longer than it that whole buckets make up."""
    longer = (s for s in SCALES if s > window_seconds and s % bucket_seconds == 0)
    return tuple(sorted({window_seconds, *longer}))


@dataclass(frozen=True)
class MultiScale:
    """The verdicts on windows of several lengths ending at the same moment, and the one that
    counts: the highest score once each is corrected for the number of windows looked at
    (Bonferroni: -log10(m p)), so looking three ways does not triple the false alarms."""

    best: Evaluation
    scales: tuple[Evaluation, ...]

    def reason(self) -> str:
        """Why the rule is quiet, window by window ("" when a window is anomalous): its guard
        (``insufficient_history``, ``below_minimum_volume``, ``below_minimum_ratio``) or
        ``below_threshold``."""
        if self.best.anomalous:
            return ""
        return "; ".join(
            f"{ev.window_seconds // 60} min: {ev.reason or 'below_threshold'}" for ev in self.scales
        )

    def status(self) -> dict[str, Any]:
        """What a rule shows of its last check: the verdict, its reason and every window's numbers."""
        return {
            "score": round(self.best.score, 3),
            "threshold": round(self.best.threshold, 3),
            "anomalous": self.best.anomalous,
            "window_minutes": self.best.window_seconds // 60,
            "reason": self.reason() or None,
            "windows": [ev.numbers() for ev in self.scales],
        }


def evaluate_scales(
    history: History,
    end: int | datetime,
    counts: Mapping[int, tuple[int, int]],
    params: DetectionParams,
) -> MultiScale:
    """Judge the windows ``[end - length, end)`` of every ``length`` in ``counts`` (length ->
    (negative, total)), each against the history before it, and combine them (:class:`MultiScale`)."""
    stop = _epoch(end)
    if not counts:
        raise ValueError("counts must name at least one window")
    correction = math.log10(len(counts))
    judged: list[Evaluation] = []
    for length in sorted(counts):
        negative, total = counts[length]
        ev = evaluate(history, stop - length, negative, total, params, window_seconds=length)
        score = max(0.0, ev.score - correction) if ev.score > 0 else 0.0
        # Elevated (keeping an open episode open) on the corrected score as it is: a day-long
        # storm stays one episode while the day holds it, whatever its quietest hours do.
        elevated = score >= params.clear_fraction * ev.threshold
        latest = judged[0] if judged else None
        if score > 0 and latest is not None and latest.negative < latest.expected_negative:
            # A long window starts an episode only while the latest (shortest) one is above its
            # usual level: a burst that is over keeps the day's count high, but is no longer news.
            score, ev = 0.0, replace(ev, reason="latest_window_not_elevated")
        judged.append(replace(ev, score=score, anomalous=score >= ev.threshold, elevated=elevated))
    # Ties go to the shortest window: the sharpest statement of where the spike is.
    best = max(judged, key=lambda ev: (ev.score, -ev.window_seconds))
    best = replace(best, elevated=any(ev.elevated for ev in judged))
    return MultiScale(best, tuple(judged))


def backtest(
    history: History,
    start: int | datetime,
    end: int | datetime,
    params: DetectionParams,
    scales: Iterable[int],
    *,
    step_seconds: int | None = None,
) -> list[dict[str, Any]]:
    """The episodes the rule would have fired over ``[start, end)``, replaying its checks every
    ``step_seconds`` (default: one history bucket) on ``history`` alone, as :func:`evaluate_scales`
    and :func:`step_episode` would have seen them then. Each episode: when it fired and resolved
    (None if still open at ``end``), its peak score, window and numbers."""
    bucket = history.bucket_seconds
    step = step_seconds or bucket
    if step % bucket:
        raise ValueError("step_seconds must be a multiple of the history's buckets")
    lengths = sorted(set(scales))
    first, stop = _epoch(start), _epoch(end)
    first += (-first) % bucket  # checks at bucket boundaries: windows of whole buckets
    cum_neg = np.concatenate([[0], np.cumsum(history.negative)])
    cum_tot = np.concatenate([[0], np.cumsum(history.total)])
    origin = int(history.starts[0]) if history.starts.size else first

    def position(t: int) -> int:
        """Buckets of the history before ``t`` (clipped to the history)."""
        if not history.starts.size:
            return 0
        return int(min(max((t - origin) // bucket, 0), history.starts.size))

    episodes: list[dict[str, Any]] = []
    state = Episode()
    current: dict[str, Any] | None = None
    for t in range(first, stop + 1, step):
        counts = {}
        for length in lengths:
            lo, hi = position(t - length), position(t)
            counts[length] = (int(cum_neg[hi] - cum_neg[lo]), int(cum_tot[hi] - cum_tot[lo]))
        verdict = evaluate_scales(history, t, counts, params)
        action, state = step_episode(state, verdict.best, utc(t), params)
        ev = verdict.best
        if action is Action.FIRE:
            current = {"fired_at": utc(t), "resolved_at": None, "peak_score": 0.0}
            episodes.append(current)
        if current is not None and state.is_open and ev.score > current["peak_score"]:
            current.update(
                peak_score=round(ev.score, 3),
                peak_at=utc(t),
                peak_window={"from": utc(ev.window_start), "to": utc(ev.window_end)},
                numbers=ev.numbers(),
            )
        if action is Action.RESOLVE and current is not None:
            current["resolved_at"] = utc(t)
            current = None
    return episodes
