"""Cron expressions, time zones and the periods a schedule covers (no database access).

A schedule fires at the times of its cron expression, read as wall-clock times in its IANA time zone
(croniter handles DST). A fire at local time T covers a period that ends at local midnight of T's day
(or, for ``last_month``, at the first of T's month), so every fire within one day maps to the same
period and the (schedule, period) claim deduplicates them.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from croniter import CroniterBadCronError, CroniterError, croniter

from listening.reports.models import Period

MAX_LOOKBACK_DAYS = 366
FIXED_LOOKBACK = {Period.LAST_DAY: 1, Period.LAST_7_DAYS: 7, Period.LAST_30_DAYS: 30}


class ScheduleError(ValueError):
    """A cron expression, time zone or period that cannot be used; the message says why."""


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    # Checked against the list first: ZoneInfo() would also open arbitrary relative paths.
    if name not in _zone_names():
        raise ScheduleError(f"{name!r} is not an IANA time zone (e.g. 'Europe/Paris', 'UTC').")
    return zoneinfo.ZoneInfo(name)


def validate_cron(expression: str) -> str:
    """The expression normalised to single spaces; five fields (minute hour day month weekday)."""
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(
            "A schedule has five fields: minute hour day-of-month month day-of-week (e.g. '0 8 * * 1')."
        )
    normalised = " ".join(fields)
    try:
        croniter(normalised)
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise ScheduleError(f"{normalised!r} is not a valid cron expression: {exc}") from None
    # e.g. "0 8 30 2 *" parses but never fires (there is no 30 February)
    next_fire(normalised, zoneinfo.ZoneInfo("UTC"), datetime(2026, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC")))
    return normalised


def latest_fire(expression: str, tz: zoneinfo.ZoneInfo, now: datetime) -> datetime:
    """The last fire time at or before ``now`` (aware, in ``tz``)."""
    local_now = now.astimezone(tz)
    try:
        # croniter's get_prev is strict; step a second past now so a fire exactly at now counts.
        fire: datetime = croniter(expression, local_now + timedelta(seconds=1)).get_prev(datetime)
    except CroniterError as exc:
        raise ScheduleError(f"{expression!r} never fires: {exc}") from None
    return fire


def next_fire(expression: str, tz: zoneinfo.ZoneInfo, now: datetime) -> datetime:
    try:
        fire: datetime = croniter(expression, now.astimezone(tz)).get_next(datetime)
    except CroniterError as exc:
        raise ScheduleError(f"{expression!r} never fires: {exc}") from None
    return fire


def _local_midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def period_for(
    fire: datetime, period: str, lookback_days: int | None, tz: zoneinfo.ZoneInfo
) -> tuple[datetime, datetime]:
    """``[start, end)`` covered by a fire at ``fire``: whole local days (DST-safe), aware datetimes."""
    local_day = fire.astimezone(tz).date()
    if period == Period.LAST_MONTH:
        end_day = local_day.replace(day=1)
        start_day = (end_day - timedelta(days=1)).replace(day=1)
    else:
        days = FIXED_LOOKBACK.get(Period(period)) if period != Period.CUSTOM else lookback_days
        if days is None or not 1 <= days <= MAX_LOOKBACK_DAYS:
            raise ScheduleError(f"lookback_days must be between 1 and {MAX_LOOKBACK_DAYS}.")
        end_day = local_day
        start_day = end_day - timedelta(days=days)
    return _local_midnight(start_day, tz), _local_midnight(end_day, tz)
