"""The caller (``me/``) and the organization's API keys."""

from __future__ import annotations

from typing import Any, TypedDict

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import IdCursorPagination
from api.permissions import caller_key
from api.schema import typed
from api.scoping import OrganizationScopedMixin
from api.serializers import ApiKeySerializer, IssuedApiKeySerializer
from listening.tenancy.models import ApiKey, Role
from listening.tenancy.services import do_issue_api_key, do_revoke_api_key


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


class OrganizationRef(TypedDict):
    id: int
    name: str


class Me(TypedDict):
    organization: OrganizationRef
    user: str
    role: str  # owner, analyst or viewer
    key_prefix: str


class MeView(APIView):
    """Who the key belongs to: organization and role."""

    @extend_schema(responses={200: typed(Me)})
    def get(self, request: Request) -> Response:
        key = caller_key(request)
        me: Me = {
            "organization": {"id": key.organization_id, "name": key.organization.name},
            "user": key.membership.user.get_username(),
            "role": key.role,
            "key_prefix": key.prefix,
        }
        return Response(me)
