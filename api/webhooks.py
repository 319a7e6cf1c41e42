"""Webhook endpoints and their delivery log (owner only: endpoints hold signing secrets).

A secret appears in exactly two responses: endpoint creation and secret rotation.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.pagination import IdCursorPagination
from api.permissions import caller_key
from api.scoping import OrganizationScopedMixin
from listening.tenancy.models import Role
from listening.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from listening.webhooks.services import (
    ALL_EVENT_TYPES,
    check_endpoint_url,
    do_create_endpoint,
    do_redeliver,
    do_rotate_secret,
    do_send_test,
    do_update_endpoint,
)
from listening.webhooks.transport import UnsafeDestinationError

# --- serializers --------------------------------------------------------------------------------


def _event_types(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise serializers.ValidationError("Must be a list of event type names.")
    unknown = sorted(set(value) - set(ALL_EVENT_TYPES))
    if unknown:
        raise serializers.ValidationError(f"Unknown event types {unknown}; known: {list(ALL_EVENT_TYPES)}.")
    return sorted(set(value))


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    url = serializers.CharField(max_length=2048)
    event_types = serializers.JSONField(required=False, help_text="Empty: every event type.")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "url",
            "event_types",
            "is_active",
            "slack_format",
            "secret_prefix",
            "previous_secret_expires_at",
            "disabled_reason",
            "disabled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "secret_prefix",
            "previous_secret_expires_at",
            "disabled_reason",
            "disabled_at",
            "created_at",
            "updated_at",
        ]

    def validate_url(self, value: str) -> str:
        try:
            check_endpoint_url(value)
        except UnsafeDestinationError as exc:
            raise serializers.ValidationError(f"This URL cannot receive webhooks ({exc.reason}).") from exc
        return value

    def validate_event_types(self, value: Any) -> list[str]:
        return _event_types(value)

    def create(self, validated_data: dict[str, Any]) -> WebhookEndpoint:
        endpoint, secret = do_create_endpoint(
            caller_key(self.context["request"]).organization_id, **validated_data
        )
        endpoint._plaintext_secret = secret  # type: ignore[attr-defined]
        return endpoint

    def update(self, instance: WebhookEndpoint, validated_data: dict[str, Any]) -> WebhookEndpoint:
        return do_update_endpoint(instance, **validated_data)


class IssuedWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "attempt_no",
            "started_at",
            "duration_ms",
            "outcome",
            "status_code",
            "error",
            "response_excerpt",
            "remote_ip",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)
    payload = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "alert",
            "event_type",
            "msg_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "updated_at",
            "payload",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_payload(self, obj: WebhookDelivery) -> str:
        return obj.body


# --- views --------------------------------------------------------------------------------------


class WebhookEndpointViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[WebhookEndpoint]):
    """Webhook endpoints (owner only). The secret is returned by create and rotate-secret, once."""

    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    pagination_class = IdCursorPagination
    read_role = Role.OWNER
    write_role = Role.OWNER

    @extend_schema(request=WebhookEndpointSerializer, responses={201: IssuedWebhookEndpointSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = serializer.save()
        data = IssuedWebhookEndpointSerializer(endpoint, context=self.get_serializer_context()).data
        data["secret"] = endpoint._plaintext_secret  # type: ignore[attr-defined]
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: IssuedWebhookEndpointSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new secret, shown once; the old one keeps signing for WEBHOOK_SECRET_OVERLAP_HOURS."""
        endpoint, secret = do_rotate_secret(self.get_object().pk)
        data = IssuedWebhookEndpointSerializer(endpoint, context=self.get_serializer_context()).data
        data["secret"] = secret
        return Response(data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request: Request, pk: str | None = None) -> Response:
        """Queue a ``webhook.test`` ping (409 while the endpoint is disabled)."""
        endpoint = self.get_object()
        if not endpoint.is_active:
            return Response(
                {"detail": "This endpoint is disabled; re-enable it (is_active) first."},
                status=status.HTTP_409_CONFLICT,
            )
        delivery = do_send_test(endpoint)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    def _deliveries(self, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
        return WebhookDelivery.objects.filter(
            endpoint=endpoint, organization_id=endpoint.organization_id
        ).prefetch_related(Prefetch("attempt_log", DeliveryAttempt.objects.order_by("attempt_no")))

    @extend_schema(request=None, responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="deliveries")
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The endpoint's deliveries, newest first, each with every attempt."""
        paginator = self.paginator
        assert paginator is not None
        page = paginator.paginate_queryset(self._deliveries(self.get_object()), request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]+)/redeliver")
    def redeliver(self, request: Request, pk: str | None = None, delivery_id: str | None = None) -> Response:
        """Send a delivery again now: same webhook-id and body, fresh retry schedule."""
        delivery = get_object_or_404(self._deliveries(self.get_object()), pk=delivery_id)
        redone = do_redeliver(delivery)
        return Response(WebhookDeliverySerializer(redone).data, status=status.HTTP_202_ACCEPTED)


__all__ = ["WebhookEndpointViewSet"]
