"""Fixtures shared by the connector tests."""

from __future__ import annotations

import pytest

from tests.ingestion.servers.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock that starts now and moves only when the HTTP client sleeps (no real backoffs)."""
    return FakeClock()
