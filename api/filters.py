from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from listening.alerts.models import Alert, AlertStatus
from listening.mentions.models import Mention, Sentiment, SourceKind


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    """An object id, compared as given: an id of another organization matches nothing, exactly like
    an id that does not exist (a ModelChoiceFilter would tell them apart: 200 versus 400)."""

    field_class = forms.IntegerField


class MentionFilter(django_filters.FilterSet):
    brand = IdFilter(method="filter_brand", help_text="Brand id")
    campaign = IdFilter(method="filter_campaign", help_text="Campaign id")
    source = IdFilter(field_name="source_id", help_text="Source id")
    source_kind = django_filters.ChoiceFilter(field_name="kind", choices=SourceKind.choices)
    sentiment = django_filters.ChoiceFilter(choices=Sentiment.choices)
    language = django_filters.CharFilter(max_length=8, help_text="ISO 639-1 code, e.g. en")
    since = django_filters.IsoDateTimeFilter(field_name="published_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="published_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        field_name="clean_text",
        lookup_expr="icontains",
        max_length=200,
        help_text="Text contains (case-insensitive)",
    )

    class Meta:
        model = Mention
        fields: list[str] = []

    def filter_brand(self, queryset: QuerySet[Mention], name: str, value: Any) -> QuerySet[Mention]:
        return queryset.filter(brand_mentions__brand_id=value)

    def filter_campaign(self, queryset: QuerySet[Mention], name: str, value: Any) -> QuerySet[Mention]:
        return queryset.filter(campaign_mentions__campaign_id=value)


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    brand = IdFilter(field_name="brand_id", help_text="Brand id")
    rule = IdFilter(field_name="rule_id", help_text="Alert rule id")
    is_false_positive = django_filters.BooleanFilter()

    class Meta:
        model = Alert
        fields: list[str] = []
