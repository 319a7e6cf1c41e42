"""Errors always answer JSON with a message; integrity conflicts are 409, never 500.

The one place where errors of the domain become HTTP answers: a view calls the domain and lets its
error through, and ``DOMAIN_ERRORS`` says what each answers (a view that catches one to re-raise it
as a DRF error is a second copy of this table).
"""

from __future__ import annotations

from typing import Any

import structlog
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from listening.analytics.ranges import RangeError
from listening.learning.errors import LearningConflict, LearningError

log = structlog.get_logger(__name__)

# (error class, status, the field it is about: its message goes under that key, else "detail").
DOMAIN_ERRORS: tuple[tuple[type[Exception], int, str | None], ...] = (
    # A range that cannot be answered (from after to, beyond the bucket limit): about ``from``.
    (RangeError, status.HTTP_400_BAD_REQUEST, "from"),
    # The registry's state refuses it (nothing to roll back, a blocked candidate without force).
    (LearningConflict, status.HTTP_409_CONFLICT, None),
    # A feedback or learning request whose values cannot be honoured.
    (LearningError, status.HTTP_400_BAD_REQUEST, None),
)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    for error, code, field in DOMAIN_ERRORS:
        if isinstance(exc, error):
            return Response({field: [str(exc)]} if field else {"detail": str(exc)}, status=code)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        log.info("integrity_conflict", error=str(exc).splitlines()[0] if str(exc) else "")
        return Response(
            {"detail": "This conflicts with an existing object (a unique field is already used)."},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
