"""Mentions, newest first, filtered and paged by cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django_filters.utils import translate_validation
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api.filters import MentionFilter
from api.pagination import MentionCursorPagination
from api.permissions import caller_key
from api.scoping import OrganizationScopedMixin
from api.serializers import MentionSerializer
from listening.mentions.models import Mention
from listening.mentions.queries import page_links, relations_of


class MentionViewSet(OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet[Mention]):
    """Mentions, newest first. A page is a constant number of statements whatever its size: the
    page's rows (or, for one brand or campaign, the page's ids from the link table's index, then
    their rows), then its brands, campaigns and enrichments (``relations_of``)."""

    model = Mention
    serializer_class = MentionSerializer
    pagination_class = MentionCursorPagination
    filterset_class = MentionFilter

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.get_queryset()
        filterset = self.filterset_class(request.query_params, queryset=queryset, request=request)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        links = _link_page_source(caller_key(request).organization_id, filterset.form.cleaned_data)
        if links is None:
            page = list(self.paginate_queryset(filterset.qs) or [])
        else:
            ids = [link["mention_id"] for link in self.paginate_queryset(links) or []]
            rows = queryset.in_bulk(ids)
            page = [rows[mention_id] for mention_id in ids if mention_id in rows]
        return self.get_paginated_response(self._serialize(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self._serialize([self.get_object()], many=False).data)

    def _serialize(self, mentions: Sequence[Mention], *, many: bool) -> MentionSerializer:
        context = {**self.get_serializer_context(), "relations": relations_of([m.pk for m in mentions])}
        return MentionSerializer(mentions if many else mentions[0], many=many, context=context)


# Filters a link row can answer: with any other, the list reads the mentions table itself.
_LINK_FILTERS = {"brand", "campaign", "sentiment", "since", "until"}


def _link_page_source(organization_id: int, filters: dict[str, Any]) -> QuerySet[Any, Any] | None:
    """The link rows to page through for this filter, or ``None`` when the mentions table must be
    paged itself (no single brand or campaign, or a filter the links cannot answer)."""
    given = {name for name, value in filters.items() if value not in (None, "")}
    brand, campaign = filters.get("brand"), filters.get("campaign")
    if not given <= _LINK_FILTERS or (brand is None) == (campaign is None):
        return None
    if campaign is not None and "sentiment" in given:
        return None
    return page_links(
        organization_id,
        brand_id=brand,
        campaign_id=campaign,
        sentiment=filters.get("sentiment") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
