"""The range of an analytics answer: defaults, validation, alignment to whole buckets of the
interval, and clamping to what one answer may hold. Half-open ``[from, to)``; the answer states the
range it used (``Range.describe``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from listening.analytics.models import Interval
from listening.periods import DAY, HOUR, floor_day, floor_hour

# The most buckets one answer may hold: 31 days of hours, two years of days.
MAX_BUCKETS = {Interval.HOUR: 744, Interval.DAY: 731}


class RangeError(ValueError):
    """The requested range cannot be answered (e.g. from after to); the message says why."""


@dataclass(frozen=True)
class Range:
    interval: Interval
    start: datetime
    end: datetime
    clamped: bool = False
    requested_start: datetime | None = None

    @property
    def step(self) -> timedelta:
        return HOUR if self.interval == Interval.HOUR else DAY

    def buckets(self) -> list[datetime]:
        out, moment = [], self.start
        while moment < self.end:
            out.append(moment)
            moment += self.step
        return out

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "interval": self.interval.value,
            "from": self.start,
            "to": self.end,
            "clamped": self.clamped,
        }
        if self.clamped:
            info["requested_from"] = self.requested_start
            info["max_buckets"] = MAX_BUCKETS[self.interval]
        return info


def floor_bucket(interval: Interval, moment: datetime) -> datetime:
    return floor_hour(moment) if interval == Interval.HOUR else floor_day(moment)


def ceil_bucket(interval: Interval, moment: datetime) -> datetime:
    floored = floor_bucket(interval, moment)
    step = HOUR if interval == Interval.HOUR else DAY
    return floored if floored == moment else floored + step


def resolve_range(
    interval: Interval | str,
    start: datetime | None,
    end: datetime | None,
    *,
    default_start: datetime,
    default_end: datetime,
) -> Range:
    """Defaults, validation, alignment to buckets and clamping of a requested range.

    Raises ``RangeError`` when ``start > end``. A range longer than ``MAX_BUCKETS`` keeps its end
    and moves its start forward; the result says so (``clamped``, ``requested_from``).
    """
    interval = Interval(interval)
    start = start if start is not None else default_start
    end = end if end is not None else default_end
    if start > end:
        raise RangeError("'from' must not be after 'to'.")
    aligned_start, aligned_end = floor_bucket(interval, start), ceil_bucket(interval, end)
    step = HOUR if interval == Interval.HOUR else DAY
    limit = MAX_BUCKETS[interval]
    if (aligned_end - aligned_start) / step > limit:
        return Range(interval, aligned_end - limit * step, aligned_end, True, aligned_start)
    return Range(interval, aligned_start, aligned_end)
