from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from listening.mentions.models import Mention, Sentiment, SourceKind


class MentionFilter(django_filters.FilterSet):
    brand = django_filters.NumberFilter(method="filter_brand", help_text="Brand id")
    campaign = django_filters.NumberFilter(method="filter_campaign", help_text="Campaign id")
    source = django_filters.NumberFilter(field_name="source_id", help_text="Source id")
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
