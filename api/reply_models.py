"""The reply-model registry: which decoder drafts an organization's reply suggestions.

- ``GET /api/v1/reply-models/``, ``GET /api/v1/reply-models/{id}/``: the organization's reply models
  and the shipped one, each with its gate metrics (candidate and the model it was measured
  against), whether it drafts this organization's replies now (``active``), and the gate's decision;
- ``POST /api/v1/reply-models/{id}/promote`` (owner): make one of the organization's own reply
  models the active one (``force`` overrides a gate block);
- ``POST /api/v1/reply-models/rollback`` (owner): retire the active one and restore the one before
  (or the shipped decoder).

The generate worker reads the active reply model per request, so a change is served at once.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from api.learning import PromoteSerializer
from api.pagination import IdCursorPagination
from api.permissions import caller_key
from api.schema import ERROR
from listening.learning.models import ModelTask, ModelVersion
from listening.learning.queries import versions_for
from listening.learning.registry import do_promote, do_rollback
from listening.replies.registry import active_reply_model
from listening.tenancy.models import Role


class ReplyModelSerializer(serializers.ModelSerializer[ModelVersion]):
    shared = serializers.SerializerMethodField(help_text="The shipped decoder, every tenant's.")
    active = serializers.SerializerMethodField(help_text="Drafts this organization's replies now.")
    gate = serializers.SerializerMethodField(
        help_text='The gate\'s decision: "passed", "blocked", or null (the shipped decoder, never gated).'
    )

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "status",
            "active",
            "shared",
            "parent",
            "backbone",
            "hyperparameters",
            "data_snapshot",
            "metrics",
            "gate",
            "gate_reason",
            "created_at",
            "promoted_at",
        ]
        read_only_fields = fields

    def get_shared(self, obj: ModelVersion) -> bool:
        return obj.organization_id is None

    def get_active(self, obj: ModelVersion) -> bool:
        return bool(obj.pk == self.context.get("active_id"))

    def get_gate(self, obj: ModelVersion) -> str | None:
        for decision in ("passed", "blocked"):
            if obj.gate_reason.startswith(decision):
                return decision
        return None


class ReplyModelViewSet(viewsets.ReadOnlyModelViewSet[ModelVersion]):
    serializer_class = ReplyModelSerializer
    pagination_class = IdCursorPagination
    write_role = Role.OWNER

    def get_queryset(self) -> QuerySet[ModelVersion]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no caller
            return ModelVersion.objects.none()
        organization_id = caller_key(self.request).organization_id
        # Registers the shipped decoder on first use, so the list always shows what drafts replies.
        self.active_id = active_reply_model(organization_id).pk
        return versions_for(organization_id, task=ModelTask.REPLIES)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["active_id"] = getattr(self, "active_id", None)
        return context

    @extend_schema(request=PromoteSerializer, responses={200: ReplyModelSerializer, 404: ERROR, 409: ERROR})
    def promote(self, request: Request, pk: str | None = None) -> Response:
        """Make this reply model the organization's active one (the current one is retired). A
        candidate the gate blocked needs ``force``; otherwise 409 with the gate's reason."""
        organization_id = caller_key(request).organization_id
        # Only the organization's own: the shipped decoder is restored by rollback, not promoted.
        version = get_object_or_404(
            ModelVersion, pk=pk, organization_id=organization_id, task=ModelTask.REPLIES
        )
        body = PromoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = caller_key(request).membership.user.get_username()
        promoted = do_promote(version, reason=f"promoted by {username}", force=body.validated_data["force"])
        return Response(ReplyModelSerializer(promoted, context={"active_id": promoted.pk}).data)

    @extend_schema(request=None, responses={200: ReplyModelSerializer, 409: ERROR})
    def rollback(self, request: Request) -> Response:
        """Retire the active reply model and restore the previous one (or the shipped decoder);
        409 when the organization has no reply model of its own active."""
        active = do_rollback(caller_key(request).organization_id, task=ModelTask.REPLIES)
        return Response(ReplyModelSerializer(active, context={"active_id": active.pk}).data)
