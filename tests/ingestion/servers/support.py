"""Test helpers around the connectors: a clock that never really sleeps, and paging to the end."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.connectors import Connector, HttpClient, Page, RetryPolicy, Timeouts


class FakeClock:
    """Starts at the real time (servers stamp rate-limit resets with it) and moves only on sleep."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += timedelta(seconds=seconds)


def make_http(
    clock: FakeClock,
    *,
    max_attempts: int = 4,
    read_timeout: float = 5.0,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    max_server_wait: float = 120.0,
) -> HttpClient:
    retry = RetryPolicy(
        max_attempts=max_attempts, base_delay=base_delay, max_delay=max_delay, max_server_wait=max_server_wait
    )
    return HttpClient(timeouts=Timeouts(connect=2.0, read=read_timeout), retry=retry, clock=clock)


def drain(
    connector: Connector, cursor: Mapping[str, Any] | None, *, max_pages: int = 50
) -> tuple[list[Page], dict[str, Any]]:
    """Fetch pages as the pull task would (storing each cursor as JSON) until one is exhausted."""
    pages: list[Page] = []
    current: dict[str, Any] | None = dict(cursor) if cursor is not None else None
    for _ in range(max_pages):
        page = connector.fetch_page(current)
        pages.append(page)
        # What the caller stores goes into JSON fields: it must all serialise.
        json.dumps([(item.extra, item.engagement, item.raw) for item in page.items])
        json.dumps([skipped.raw for skipped in page.skipped])
        # Through JSON, as the Source's JSONField stores it: the cursor must survive the round trip.
        current = json.loads(json.dumps(page.next_cursor))
        assert current == page.next_cursor
        if page.exhausted:
            return pages, current
    raise AssertionError(f"not exhausted after {max_pages} pages")
