"""``GET /api/v1/``: what a new user opening the API's address sees — where the docs are and
which resources exist. Public: it names routes, never data."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# The list endpoints a dashboard starts from; detail, action and per-object routes hang off them
# (the OpenAPI document lists every route).
RESOURCES = (
    ("me", "me"),
    ("brands", "brand-list"),
    ("campaigns", "campaign-list"),
    ("sources", "source-list"),
    ("mentions", "mention-list"),
    ("comparisons", "comparisons"),
    ("alert_rules", "alert-rule-list"),
    ("alerts", "alert-list"),
    ("webhooks", "webhook-list"),
    ("reports", "report-list"),
    ("models", "model-version-list"),
    ("classifiers", "classifier-list"),
    ("feedback", "feedback-list"),
    ("api_keys", "api-key-list"),
    ("ingest", "ingest"),
    ("analyze", "analyze"),
)


class ApiRootView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes: list[type] = []

    @extend_schema(
        summary="The API's index: documentation links and the top-level resources",
        responses=inline_serializer(
            "ApiRoot",
            fields={
                "docs": serializers.URLField(),
                "schema": serializers.URLField(),
                "authentication": serializers.CharField(),
                "resources": serializers.DictField(child=serializers.URLField()),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "docs": reverse("docs", request=request),
                "schema": reverse("schema", request=request),
                "authentication": "Send 'Authorization: Api-Key <key>' on every other route.",
                "resources": {name: reverse(route, request=request) for name, route in RESOURCES},
            }
        )
