"""Errors always answer JSON with a message; integrity conflicts are 409, never 500."""

from __future__ import annotations

from typing import Any

import structlog
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = structlog.get_logger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        log.info("integrity_conflict", error=str(exc).splitlines()[0] if str(exc) else "")
        return Response(
            {"detail": "This conflicts with an existing object (a unique field is already used)."},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
