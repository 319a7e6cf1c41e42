"""``POST /api/v1/analyze``: score ad-hoc texts through an ``enrich`` worker (the web process never
loads the model), storing nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import caller_key
from api.schema import ERROR
from api.serializers import ReadingSerializer
from api.waiting import wait_for_worker
from ingestion.push import invalid_unicode_at
from listening.mentions.models import SourceKind
from listening.tenancy.models import Role


class AnalyzeRequestSerializer(serializers.Serializer[Any]):
    texts = serializers.ListField(child=serializers.CharField(allow_blank=False, trim_whitespace=False))
    kind = serializers.ChoiceField(
        choices=SourceKind.choices,
        required=False,
        help_text="Where the texts come from. With support every text may show an intent; otherwise "
        "(and by default) only questions and complaints do.",
    )

    def validate_texts(self, value: list[str]) -> list[str]:
        if not value:
            raise serializers.ValidationError("Give at least one text.")
        if len(value) > settings.ANALYZE_MAX_TEXTS:
            raise serializers.ValidationError(f"At most {settings.ANALYZE_MAX_TEXTS} texts per call.")
        too_long = [i for i, text in enumerate(value) if len(text) > settings.ANALYZE_MAX_CHARS]
        if too_long:
            raise serializers.ValidationError(
                f"Texts at positions {too_long[:10]} are longer than {settings.ANALYZE_MAX_CHARS} characters."
            )
        invalid = [i for i, text in enumerate(value) if invalid_unicode_at(text) is not None]
        if invalid:
            raise serializers.ValidationError(f"Texts at positions {invalid[:10]} are not valid UTF-8.")
        return [text.replace("\x00", "") for text in value]


class AnalyzeView(APIView):
    write_role = Role.VIEWER  # scoring stores nothing, so any member may call it

    @extend_schema(
        request=AnalyzeRequestSerializer,
        responses={
            200: inline_serializer(
                "AnalyzeResponse",
                {
                    "model_version": serializers.CharField(),
                    "results": ReadingSerializer(many=True),
                },
            ),
            503: ERROR,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = AnalyzeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        from workers.tasks.enrich import analyze  # imports no torch: the model loads in the worker

        body = serializer.validated_data
        result = analyze.delay(body["texts"], caller_key(request).organization_id, body.get("kind"))
        payload = wait_for_worker(
            result, timeout=float(settings.ANALYZE_TIMEOUT_SECONDS), worker="enrichment", retry_after=5
        )
        return payload if isinstance(payload, Response) else Response(payload)
