from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

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


# Field classes (exactly these, not subclasses) whose representation of a value of the listed types
# is that value: CharField's str(), IntegerField's int(), a ChoiceField's lookup of its own key...
_AS_IS: dict[type[serializers.Field[Any, Any, Any, Any]], tuple[type, ...]] = {
    serializers.CharField: (str,),
    serializers.ChoiceField: (str,),
    serializers.IntegerField: (int,),
    serializers.FloatField: (float,),
    serializers.BooleanField: (bool,),
    serializers.JSONField: (dict, list, str, int, float, bool),
}


class AsIsFieldsMixin:
    """``to_representation`` that copies the fields whose representation is the stored value itself,
    and hands every other field to DRF as usual. The output is the same (tested against DRF's).

    DRF reads each field of each row through ``get_attribute`` and ``to_representation``: for a page
    of 50 mentions that is about 1,000 reads and most of the page's serialization. A field is copied
    when its class is one of ``_AS_IS``, its source is one attribute and the value has the expected
    type (or is None); anything else (dates, relations, methods, nested serializers) goes through DRF.
    """

    @cached_property
    def _read_plan(self) -> list[tuple[str, str | None, tuple[type, ...], Any]]:
        plan = []
        for field in self._readable_fields:  # type: ignore[attr-defined]
            types = _AS_IS.get(type(field), ())
            if isinstance(field, serializers.JSONField) and field.binary:
                types = ()
            plain = bool(types) and len(field.source_attrs) == 1
            plan.append((field.field_name, field.source_attrs[0] if plain else None, types, field))
        return plan

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Mapping):
            return super().to_representation(instance)  # type: ignore[misc]
        out: dict[str, Any] = {}
        for name, attr, types, field in self._read_plan:
            if attr is not None:
                value = getattr(instance, attr)
                if value is None or type(value) in types:
                    out[name] = value
                    continue
            # DRF's own steps for one field (Serializer.to_representation).
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            out[name] = None if check_for_none is None else field.to_representation(attribute)
        return out
