"""Brands (with their competitors) and campaigns, each with its boolean query."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from rest_framework import viewsets

from api.pagination import IdCursorPagination
from api.scoping import OrganizationScopedMixin
from api.serializers import BrandSerializer, CampaignSerializer
from listening.brands.models import Brand, Campaign


class BrandViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Brand]):
    model = Brand
    serializer_class = BrandSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Brand]:
        return super().get_queryset().prefetch_related(Prefetch("competitors", Brand.objects.only("id")))


class CampaignViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Campaign]):
    model = Campaign
    serializer_class = CampaignSerializer
    pagination_class = IdCursorPagination
