"""Tenant scoping shared by every resource: each queryset is the caller's organization's."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework.request import Request

from api.permissions import caller_key


class OrganizationScopedMixin:
    """Every queryset is filtered by the caller's organization; new rows are stamped with it."""

    model: ClassVar[type[Model]]

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no caller
            return self.model._default_manager.none()
        request: Request = self.request  # type: ignore[attr-defined]
        return self.model._default_manager.filter(organization_id=caller_key(request).organization_id)

    def perform_create(self, serializer: Any) -> None:
        request: Request = self.request  # type: ignore[attr-defined]
        serializer.save(organization=caller_key(request).organization)
