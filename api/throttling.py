"""Per-organization request rate limit; DRF answers 429 with ``Retry-After``.

A sliding window, approximated from two fixed windows the way most API gateways do: the count of
the current window plus the previous window's count weighted by how much of it still overlaps the
last ``duration`` seconds. Counting uses the cache's atomic ``add`` and ``incr`` (Redis ``SET NX`` and
``INCR`` in production), so concurrent requests on many workers cannot all read the same old count
and slip through, as they did with DRF's read-modify-write history list. A refused request is
taken back off the count: hammering while throttled does not push the limit further away.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.middleware import CACHE_UNAVAILABLE
from listening.tenancy.models import ApiKey

log = structlog.get_logger(__name__)


class OrganizationRateThrottle(SimpleRateThrottle):
    scope = "organization"

    def get_rate(self) -> str:
        # Read at request time (not import time) so the setting can change without a code reload.
        return str(settings.API_RATE_LIMIT)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None  # unauthenticated requests are refused before they cost anything
        return f"throttle:org:{request.auth.organization_id}"

    def allow_request(self, request: Request, view: Any) -> bool:
        limit, period = self.parse_rate(self.rate)
        base = self.get_cache_key(request, view)
        if limit is None or period is None or base is None:
            return True
        now = self.timer()
        window = int(now // period)
        elapsed = now - window * period
        key = f"{base}:{window}"
        try:
            previous = int(cache.get(f"{base}:{window - 1}") or 0)
            count = _increment(key, timeout=2 * period)  # the next window still reads this one
        except CACHE_UNAVAILABLE as exc:
            # Fail open: refusing every request while Redis restarts would be a self-inflicted outage.
            log.warning("rate_limit_unavailable", error=str(exc))
            return True
        overlap = previous * (1 - elapsed / period)
        if overlap + count <= limit:
            return True
        with contextlib.suppress(ValueError, *CACHE_UNAVAILABLE):  # expired meanwhile: nothing to take back
            cache.decr(key)
        self._wait = _seconds_until_allowed(limit, period, elapsed, previous, count - 1)
        return False

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def _increment(key: str, *, timeout: int) -> int:
    """Atomically add one to ``key`` (created at 0 with ``timeout`` if missing); the new count."""
    for _ in range(3):
        cache.add(key, 0, timeout=timeout)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr: create it again
            continue
    raise RuntimeError(f"rate-limit counter {key!r} keeps expiring")


def _seconds_until_allowed(limit: int, period: int, elapsed: float, previous: int, current: int) -> float:
    """When one more request would fit, if no other arrives meanwhile (whole seconds, at least 1).

    In this window it fits once ``previous * (1 - t/period) + current + 1 <= limit``; otherwise in
    the next one, where this window's ``current`` becomes the weighted previous count.
    """
    room = limit - current - 1
    if room >= 0 and previous > 0:
        at = period * (1 - room / previous)
        wait = max(0.0, at - elapsed)
    else:
        next_at = period * (1 - (limit - 1) / current) if current > 0 else 0.0
        wait = (period - elapsed) + max(0.0, next_at)
    return float(max(1, math.ceil(wait)))
