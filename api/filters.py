from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from listening.alerts.models import Alert, AlertStatus
from listening.mentions.models import Mention, Sentiment, SourceKind


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    """An object id, compared as given: an id of another organization matches nothing, exactly like
    an id that does not exist (a ModelChoiceFilter would tell them apart: 200 versus 400)."""

    field_class = forms.IntegerField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts
    (``-16:29`` was a 500), and a moment that cannot be written in UTC is a 400."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Date out of range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class MentionFilter(django_filters.FilterSet):
    brand = IdFilter(method="filter_brand", help_text="Brand id")
    campaign = IdFilter(method="filter_campaign", help_text="Campaign id")
    source = IdFilter(field_name="source_id", help_text="Source id")
    source_kind = django_filters.ChoiceFilter(field_name="kind", choices=SourceKind.choices)
    channel = django_filters.CharFilter(
        max_length=120, help_text="Where in the source: a subreddit (r/acme), a site, an app and territory"
    )
    sentiment = django_filters.ChoiceFilter(choices=Sentiment.choices)
    language = django_filters.CharFilter(max_length=8, help_text="ISO 639-1 code, e.g. en")
    since = UtcDateTimeFilter(field_name="published_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="published_at", lookup_expr="lt")
    label = django_filters.CharFilter(
        method="filter_label",
        max_length=120,
        help_text="A custom classifier's label, as classifier_id:label (e.g. 3:delivery)",
    )
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

    def filter_label(self, queryset: QuerySet[Mention], name: str, value: str) -> QuerySet[Mention]:
        classifier, _, label = value.partition(":")
        if not classifier.isdigit() or not label:
            raise ValidationError({"label": ["Give classifier_id:label, e.g. 3:delivery."]})
        return queryset.filter(custom_labels__classifier_id=int(classifier), custom_labels__label=label)


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    brand = IdFilter(field_name="brand_id", help_text="Brand id")
    rule = IdFilter(field_name="rule_id", help_text="Alert rule id")
    is_false_positive = django_filters.BooleanFilter()

    class Meta:
        model = Alert
        fields: list[str] = []
