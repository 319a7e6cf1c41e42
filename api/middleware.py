"""A dependency that is down answers 503 with ``Retry-After``, never a 500.

The database (connection refused, dropped mid-query, failover) and the broker or cache (Redis
unreachable) fail the request for reasons the client cannot fix and should simply retry; a 500
would also page whoever watches error rates for what is an outage with its own alert (readiness).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 5

# What the cache (Redis) raises when it cannot be reached. Rate limits and idempotency replays
# fail open on these: a cache outage must not take the API down with it.
CACHE_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)

UNAVAILABLE: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((OperationalError, InterfaceError), "database"),
    ((BrokerError, *CACHE_UNAVAILABLE), "broker"),
)


# SQLSTATE class 40 (serialization failure, deadlock): the database is up; this transaction lost a
# race with a concurrent one and running it again succeeds.
_TRANSACTION_ROLLBACK_CLASS = "40"


def unavailable_dependency(exc: BaseException) -> str | None:
    """Which dependency an exception says is down, or None when it is an ordinary error."""
    cause = getattr(exc, "__cause__", None)
    if isinstance(exc, OperationalError) and str(getattr(cause, "pgcode", "") or "").startswith(
        _TRANSACTION_ROLLBACK_CLASS
    ):
        return "database: a concurrent write conflicted"
    for types, name in UNAVAILABLE:
        if isinstance(exc, types):
            return name
    return None


def service_unavailable(dependency: str) -> JsonResponse:
    response = JsonResponse(
        {"detail": f"The service is temporarily unavailable ({dependency}); retry shortly."}, status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DependencyUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        dependency = unavailable_dependency(exception)
        if dependency is None:
            return None
        log.warning("dependency_unavailable", dependency=dependency, path=request.path, error=str(exception))
        return service_unavailable(dependency)
