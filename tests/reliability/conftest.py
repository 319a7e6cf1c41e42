"""Fault scenarios run real processes; each records (scenario, pass criterion, measured), and the
session ends with the table that docs/reliability.md reproduces."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.stack import RedisServer, Stack, database_url


@dataclass(frozen=True)
class Row:
    scenario: str
    criterion: str
    measured: str


ROWS: list[Row] = []


@pytest.fixture
def report() -> Iterator[list[Row]]:
    rows: list[Row] = []
    yield rows
    ROWS.extend(rows)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    terminalreporter.section("reliability")
    terminalreporter.write_line("| scenario | pass criterion | measured |")
    terminalreporter.write_line("|---|---|---|")
    for row in ROWS:
        terminalreporter.write_line(f"| {row.scenario} | {row.criterion} | {row.measured} |")


@pytest.fixture
def stack(transactional_db: None, tmp_path: Path) -> Iterator[Stack]:
    """A private Redis and the test database; the scenario starts the processes it needs."""
    redis = RedisServer(tmp_path)
    redis.start()
    running = Stack(workdir=tmp_path, redis=redis, database_url=database_url())
    try:
        yield running
    finally:
        running.close()
        redis.stop()
        _print_logs_on_failure(running)


def _print_logs_on_failure(stack: Stack) -> None:
    # pytest shows captured output of failed tests only: the tails of the process logs go there.
    for process in stack.processes:
        print(f"----- {process.name} (last 4000 chars) -----\n{process.log()[-4000:]}")
