"""Views that answer from a worker's result (``/analyze``, reply suggestions): the web process never
loads a model, it sends a task and waits a bounded time for the answer."""

from __future__ import annotations

from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult
from rest_framework import status
from rest_framework.response import Response


def wait_for_worker(result: AsyncResult[Any], *, timeout: float, worker: str, retry_after: int) -> Any:
    """The task's return value, or a 503 ``Response`` (with ``Retry-After``) when no ``worker``
    answered within ``timeout`` seconds; the task is then revoked so that a worker that becomes free
    later does not do work nobody waits for. The result is forgotten either way (nothing piles up
    in the result backend)."""
    try:
        return result.get(timeout=timeout)
    except CeleryTimeout:
        result.revoke()
        return Response(
            {"detail": f"No {worker} worker answered in time; retry shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(retry_after)},
        )
    finally:
        result.forget()
