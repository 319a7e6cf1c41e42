"""Wall-clock time per pipeline stage, for the end-to-end enrichment benchmark.

A :class:`StageClock` is opened around a piece of work (``with StageClock() as clock:``); code on
the path marks its stages with :func:`stage` (``with stage("forward"): ...``). Outside an open
clock :func:`stage` costs one context-variable read, so the serving path keeps its marks.
No Django and no torch: the model package and the domain both mark their stages through here.
"""

from __future__ import annotations

import contextvars
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

_current: contextvars.ContextVar[StageClock | None] = contextvars.ContextVar("stage_clock", default=None)


class StageClock:
    """Seconds spent per stage name while open (nested stages count in both)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._token: contextvars.Token[StageClock | None] | None = None

    def __enter__(self) -> StageClock:
        self._token = _current.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time of the ``with`` body to ``name`` on the open clock, if any."""
    clock = _current.get()
    if clock is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        clock.seconds[name] += time.perf_counter() - started
