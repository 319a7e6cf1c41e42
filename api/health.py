"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: its dependencies do)."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from kombu import Connection

log = structlog.get_logger(__name__)

_CHECK_TIMEOUT_SECONDS = 2.0


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=_CHECK_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=int(_CHECK_TIMEOUT_SECONDS))


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker}


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers, else 503 naming what failed (never a 500)."""
    results: dict[str, dict[str, object]] = {}
    ready = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            results[name] = {"ok": True}
        except Exception as exc:  # any failure of a dependency means "not ready", whatever its type
            ready = False
            results[name] = {"ok": False, "error": type(exc).__name__}
            log.warning("readiness_check_failed", check=name, error=str(exc))
            if name == "database":
                connections["default"].close()  # do not reuse a broken connection
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503
    )
