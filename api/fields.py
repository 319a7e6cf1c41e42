from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from api.permissions import caller_key


class OrgScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id that must belong to the caller's organization; others read as 'does not exist',
    so a foreign id reveals nothing."""

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        assert queryset is not None, "declare the field with a queryset"
        return queryset.filter(organization_id=caller_key(self.context["request"]).organization_id)


def bounded_json(max_bytes: int) -> Any:
    """A validator refusing JSON values whose serialised size exceeds ``max_bytes``."""

    def validate(value: Any) -> None:
        if len(json.dumps(value, default=str)) > max_bytes:
            raise serializers.ValidationError(f"Must be at most {max_bytes} bytes as JSON.")

    return validate
