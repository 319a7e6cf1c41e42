"""Cron, time zones and periods (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from listening.reports.schedule import ScheduleError, latest_fire, parse_timezone, period_for, validate_cron

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "every monday",
        "61 8 * * 1",
        "0 25 * * *",
        "* * * *",
        "0 8 * * 1 2026",
        "0 8 * * funday",
        "x" * 100,
    ],
)
def test_bad_cron_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        validate_cron(expression)


def test_cron_is_normalised() -> None:
    assert validate_cron("  0   8 * *   mon ") == "0 8 * * mon"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "utc+2", "Europe/Paris "])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(ScheduleError):
        parse_timezone(name)


def test_latest_fire_is_read_in_the_schedule_time_zone() -> None:
    # Monday 12 Jan 2026, 07:30 UTC = 08:30 in Paris: the 08:00 Paris fire has happened.
    fire = latest_fire("0 8 * * 1", PARIS, datetime(2026, 1, 12, 7, 30, tzinfo=UTC))
    assert fire == datetime(2026, 1, 12, 8, 0, tzinfo=PARIS)
    # at 06:59 UTC (07:59 Paris) it has not: the previous Monday's fire is the latest
    earlier = latest_fire("0 8 * * 1", PARIS, datetime(2026, 1, 12, 6, 59, tzinfo=UTC))
    assert earlier == datetime(2026, 1, 5, 8, 0, tzinfo=PARIS)
    # a fire exactly at now counts
    assert latest_fire("0 8 * * 1", PARIS, datetime(2026, 1, 12, 7, 0, tzinfo=UTC)) == fire


def test_periods_are_whole_local_days() -> None:
    fire = datetime(2026, 1, 12, 8, 0, tzinfo=PARIS)
    assert period_for(fire, "last_7_days", None, PARIS) == (
        datetime(2026, 1, 5, tzinfo=PARIS),
        datetime(2026, 1, 12, tzinfo=PARIS),
    )
    assert period_for(fire, "last_day", None, PARIS)[0] == datetime(2026, 1, 11, tzinfo=PARIS)
    assert period_for(fire, "custom", 14, PARIS)[0] == datetime(2025, 12, 29, tzinfo=PARIS)
    assert period_for(fire, "last_month", None, PARIS) == (
        datetime(2025, 12, 1, tzinfo=PARIS),
        datetime(2026, 1, 1, tzinfo=PARIS),
    )
    with pytest.raises(ScheduleError):
        period_for(fire, "custom", None, PARIS)


def test_a_week_across_the_dst_change_is_seven_local_days() -> None:
    start, end = period_for(datetime(2026, 4, 1, 8, tzinfo=PARIS), "last_7_days", None, PARIS)
    assert (start.utcoffset(), end.utcoffset()) == (timedelta(hours=1), timedelta(hours=2))  # CET, CEST
    # (aware datetimes of one zone subtract as wall-clock times; compare instants in UTC)
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 7 * 86400 - 3600
