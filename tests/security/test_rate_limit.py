"""The per-organization rate limit holds under a concurrent burst on loopback HTTP.

The threaded live server shares the real Redis cache with the test, as several gunicorn workers
would: many requests of one organization arrive at once, exactly ``limit`` get through, the rest
are 429 with ``Retry-After``, and another organization's requests are not slowed by it.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.conftest import Tenant

LIMIT = 20
THREADS = 8

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _burst(base_url: str, keys: list[str]) -> list[requests.Response]:
    """GET /api/v1/me/ once per key in ``keys``, from THREADS threads released together."""
    start = threading.Barrier(THREADS)
    local = threading.local()

    def one(key: str) -> requests.Response:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            start.wait(timeout=30)
        return local.session.get(
            f"{base_url}/api/v1/me/", headers={"Authorization": f"Api-Key {key}"}, timeout=60
        )

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, keys))


def test_a_burst_gets_exactly_the_limit_through(
    live_server: Any, settings: Any, alice: Tenant, bob: Tenant
) -> None:
    settings.API_RATE_LIMIT = f"{LIMIT}/min"
    # Three times the limit for alice, interleaved with bob's own (smaller) share of requests.
    keys = [alice.owner_key] * (3 * LIMIT) + [bob.owner_key] * (LIMIT // 2)
    keys = [keys[i] for i in sorted(range(len(keys)), key=lambda i: (i * 7919) % len(keys))]
    responses = _burst(str(live_server.url), keys)

    by_org: dict[str, Counter[int]] = {"alice": Counter(), "bob": Counter()}
    for key, response in zip(keys, responses, strict=True):
        by_org["alice" if key == alice.owner_key else "bob"][response.status_code] += 1
    assert by_org["alice"] == {200: LIMIT, 429: 2 * LIMIT}, by_org
    assert by_org["bob"] == {200: LIMIT // 2}, by_org

    refused = [r for r in responses if r.status_code == 429]
    for response in refused:
        assert int(response.headers["Retry-After"]) >= 1
        assert "throttled" in response.json()["detail"].lower()


def test_the_limit_is_per_organization_and_keys_share_it(
    live_server: Any, settings: Any, alice: Tenant, bob: Tenant
) -> None:
    """Alice's three keys draw on one budget; a new key is no way around the limit."""
    settings.API_RATE_LIMIT = f"{LIMIT}/min"
    keys = [alice.owner_key, alice.analyst_key, alice.viewer_key] * LIMIT
    responses = _burst(str(live_server.url), keys)
    assert Counter(r.status_code for r in responses) == {200: LIMIT, 429: 2 * LIMIT}
    assert (
        requests.get(
            f"{live_server.url}/api/v1/me/", headers={"Authorization": f"Api-Key {bob.owner_key}"}, timeout=30
        ).status_code
        == 200
    )


def test_retry_after_says_when_the_next_request_fits(alice: Tenant, settings: Any) -> None:
    """The window slides: after a full window, the limit frees up gradually, and Retry-After is the
    first second at which one more request is let through (the throttle's clock is set by hand)."""
    from types import SimpleNamespace

    from api.throttling import OrganizationRateThrottle
    from listening.tenancy.models import ApiKey

    settings.API_RATE_LIMIT = f"{LIMIT}/min"
    request: Any = SimpleNamespace(auth=ApiKey.objects.filter(organization=alice.org).first())
    clock = [60 * 1_000_000 + 10.0]  # 10 s into a window

    def attempt() -> OrganizationRateThrottle:
        throttle = OrganizationRateThrottle()
        throttle.timer = lambda: clock[0]
        throttle.allowed = throttle.allow_request(request, None)  # type: ignore[attr-defined]
        return throttle

    assert all(attempt().allowed for _ in range(LIMIT))  # type: ignore[attr-defined]
    refused = attempt()
    assert not refused.allowed  # type: ignore[attr-defined]
    # 50 s to the next window, then 3 s until 20 * (1 - 3/60) + 1 <= 20
    assert refused.wait() == 53
    clock[0] += 52
    assert not attempt().allowed  # type: ignore[attr-defined]
    clock[0] += 1
    assert attempt().allowed  # type: ignore[attr-defined]
    assert not attempt().allowed  # type: ignore[attr-defined]  # one fitted, the next waits again
