"""Per-organization request rate limit; DRF answers 429 with ``Retry-After``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from listening.tenancy.models import ApiKey


class OrganizationRateThrottle(SimpleRateThrottle):
    scope = "organization"

    def get_rate(self) -> str:
        # Read at request time (not import time) so the setting can change without a code reload.
        return str(settings.API_RATE_LIMIT)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None  # unauthenticated requests are refused before they cost anything
        return f"throttle:org:{request.auth.organization_id}"
