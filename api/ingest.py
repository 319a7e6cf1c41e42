"""``POST /api/v1/ingest``: bulk JSON push into the same pipeline as pulls and imports."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.guards import PayloadTooLarge, idempotent, parse_json, read_body
from api.permissions import caller_key
from api.schema import ERROR
from ingestion.services import ingest_items
from listening.mentions.models import Source

_ITEM_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "external_id": serializers.CharField(max_length=255),
    "text": serializers.CharField(),
    "published_at": serializers.DateTimeField(required=False),
    "author": serializers.DictField(required=False, help_text="{id, handle, name}"),
    "url": serializers.URLField(required=False),
    "language": serializers.CharField(required=False),
    "engagement": serializers.DictField(child=serializers.IntegerField(), required=False),
    "rating": serializers.IntegerField(required=False, min_value=1, max_value=5),
    "extra": serializers.DictField(required=False),
    "conversation_id": serializers.CharField(
        max_length=255, required=False, help_text="The thread this message belongs to."
    ),
    "in_reply_to": serializers.CharField(
        max_length=255,
        required=False,
        help_text="External id (same source) of the message this one answers.",
    ),
    "author_role": serializers.ChoiceField(
        choices=["customer", "agent"],
        required=False,
        help_text="agent: the brand's own reply; a customer message answered by an agent is a "
        "reply-training pair.",
    ),
}


class IngestView(APIView):
    """Push up to ``INGEST_MAX_ITEMS`` items (``INGEST_MAX_BYTES`` bytes, gzip allowed) into a source.

    Answers 200 with one outcome per item, in order: ``stored`` (with the mention id), ``duplicate``
    (this external id was already stored for the source) or ``rejected`` (with every error of the
    item; it is quarantined). An item stored after a change (NUL removed, a number id or a string
    author accepted) says so in its ``warnings``. Good items of a batch are stored even when others
    are rejected. With an ``Idempotency-Key`` header, a retried request replays the first answer.
    """

    @extend_schema(
        request=inline_serializer(
            "IngestRequest",
            {
                "source": serializers.IntegerField(),
                "items": serializers.ListField(child=inline_serializer("IngestItem", _ITEM_FIELDS)),
            },
        ),
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={
            200: inline_serializer(
                "IngestResponse",
                {
                    "stored": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "rejected": serializers.IntegerField(),
                    "items": serializers.ListField(
                        child=inline_serializer(
                            "IngestOutcome",
                            {
                                "index": serializers.IntegerField(),
                                "status": serializers.ChoiceField(
                                    choices=["stored", "duplicate", "rejected"]
                                ),
                                "id": serializers.IntegerField(required=False, help_text="The mention."),
                                "reason": serializers.CharField(
                                    required=False, help_text="Rejected: every error, joined."
                                ),
                                "errors": serializers.ListField(
                                    child=serializers.CharField(),
                                    required=False,
                                    help_text="Rejected: every error of the item, one per entry.",
                                ),
                                "warnings": serializers.ListField(
                                    child=serializers.CharField(),
                                    required=False,
                                    help_text=(
                                        "Stored, but changed to be: NUL characters removed from the "
                                        "text, a number external_id stored as a string, a string "
                                        "author read as the handle."
                                    ),
                                ),
                            },
                        )
                    ),
                },
            ),
            404: ERROR,
        },
        examples=[
            OpenApiExample(
                "Two posts",
                value={
                    "source": 1,
                    "items": [
                        {
                            "external_id": "1",
                            "text": "Love my new @northwind jacket",
                            "published_at": "2026-11-01T10:00:00Z",
                        },
                        {
                            "external_id": "2",
                            "text": "Zipper broke after a week",
                            "author": {"handle": "maya"},
                        },
                    ],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        max_bytes = int(settings.INGEST_MAX_BYTES)
        body = read_body(request, max_bytes=max_bytes)
        return idempotent(
            request,
            scope="ingest",
            body=body,
            ttl=int(settings.IDEMPOTENCY_TTL_SECONDS),
            produce=lambda: self._run(request, body),
        )

    def _run(self, request: Request, body: bytes) -> Response:
        payload: Any = parse_json(body, keep_invalid_utf8=True)
        if not isinstance(payload, dict):
            raise ValidationError({"detail": "The body must be an object with 'source' and 'items'."})
        source_id, items = payload.get("source"), payload.get("items")
        if not isinstance(source_id, int) or isinstance(source_id, bool):
            raise ValidationError({"source": "Must be the integer id of one of your sources."})
        if not isinstance(items, list):
            raise ValidationError({"items": "Must be a list."})
        if not items:
            raise ValidationError({"items": "Must not be empty."})
        if len(items) > int(settings.INGEST_MAX_ITEMS):
            raise PayloadTooLarge(f"At most {settings.INGEST_MAX_ITEMS} items per request; got {len(items)}.")
        source = Source.objects.filter(
            organization_id=caller_key(request).organization_id, pk=source_id
        ).first()
        if source is None:
            raise NotFound("No such source.")
        summary = ingest_items(source, items, channel="push", batch_ref=f"push:{request.auth.prefix}")  # type: ignore[union-attr]
        return Response(summary.as_dict(), status=status.HTTP_200_OK)
