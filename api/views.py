"""Resource views. Each is thin: scope to the caller's organization, validate, call the domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.db.models import Model, Prefetch, QuerySet
from django_filters.utils import translate_validation
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.filters import MentionFilter
from api.pagination import IdCursorPagination, MentionCursorPagination
from api.permissions import caller_key
from api.serializers import (
    ApiKeySerializer,
    BrandSerializer,
    CampaignSerializer,
    IssuedApiKeySerializer,
    MentionSerializer,
    SourceSerializer,
)
from listening.brands.models import Brand, Campaign
from listening.mentions.models import Mention, Source
from listening.mentions.queries import page_links, relations_of
from listening.tenancy.models import ApiKey, Role
from listening.tenancy.services import do_issue_api_key, do_revoke_api_key


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


class SourceViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Source]):
    model = Source
    serializer_class = SourceSerializer
    pagination_class = IdCursorPagination


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


class ApiKeyViewSet(
    OrganizationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ApiKey],
):
    """API keys of the organization. Only owners see or manage them; DELETE revokes."""

    model = ApiKey
    serializer_class = ApiKeySerializer
    pagination_class = IdCursorPagination
    read_role = Role.OWNER
    write_role = Role.OWNER

    def get_queryset(self) -> QuerySet[ApiKey]:
        return super().get_queryset().select_related("membership__user")

    @extend_schema(request=ApiKeySerializer, responses={201: IssuedApiKeySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ApiKeySerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        # A new key acts as the caller's own membership: nobody can mint a key above their role.
        issued = do_issue_api_key(caller_key(request).membership, name=serializer.validated_data["name"])
        data = IssuedApiKeySerializer(issued.api_key).data
        data["key"] = issued.plaintext
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiKey) -> None:
        do_revoke_api_key(instance)


class MeView(APIView):
    """Who the key belongs to: organization and role."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        key = caller_key(request)
        return Response(
            {
                "organization": {"id": key.organization_id, "name": key.organization.name},
                "user": key.membership.user.get_username(),
                "role": key.role,
                "key_prefix": key.prefix,
            }
        )
