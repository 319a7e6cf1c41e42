"""Sources: where mentions come from (a connector to pull, or pushes and imports)."""

from __future__ import annotations

from rest_framework import viewsets

from api.pagination import IdCursorPagination
from api.scoping import OrganizationScopedMixin
from api.serializers import SourceSerializer
from listening.mentions.models import Source


class SourceViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Source]):
    model = Source
    serializer_class = SourceSerializer
    pagination_class = IdCursorPagination
