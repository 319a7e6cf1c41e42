"""Bucket sizes and their UTC floors: how every answer, rollup and re-read aligns time. No Django."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


def floor_day(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_week(moment: datetime) -> datetime:
    """The start of the ISO week (Monday 00:00 UTC), as PostgreSQL's ``date_trunc('week', ...)``."""
    day = floor_day(moment)
    return day - day.weekday() * DAY
