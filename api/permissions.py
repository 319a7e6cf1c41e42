"""Role checks. Reads need any role; writes need ``analyst``; views may demand more."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from listening.tenancy.models import ROLE_RANK, ApiKey, Role


def caller_key(request: Request) -> ApiKey:
    """The authenticated API key; views behind ``HasOrganizationRole`` can rely on it."""
    assert isinstance(request.auth, ApiKey)
    return request.auth


class HasOrganizationRole(permissions.BasePermission):
    """Views set ``write_role`` (default analyst) and optionally ``read_role`` (default viewer)."""

    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        if request.method in permissions.SAFE_METHODS:
            needed = getattr(view, "read_role", Role.VIEWER)
        else:
            needed = getattr(view, "write_role", Role.ANALYST)
        return ROLE_RANK[key.role] >= ROLE_RANK[needed]
