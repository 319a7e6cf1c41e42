"""Reply suggestions: ``POST /api/v1/mentions/{id}/replies`` drafts them through a ``generate``
worker (the web process never loads the decoder), each brand's voice at
``/api/v1/brands/{id}/reply-guidelines``, analysts' judgements at
``POST /api/v1/reply-suggestions/{id}/feedback`` and their audit trail at ``/api/v1/reply-feedback/``."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import IdCursorPagination
from api.permissions import caller_key
from api.schema import ERROR
from api.waiting import wait_for_worker
from ingestion.push import invalid_unicode_at
from listening import jobs
from listening.brands.models import Brand
from listening.jobs import Queue, TaskName
from listening.mentions.models import AuthorRole, Mention
from listening.replies.feedback import FeedbackCapReached, do_record_reply_feedback
from listening.replies.models import FeedbackAction, ReplyFeedback, ReplySuggestion, SuggestionOrigin
from listening.replies.queries import mention_thread
from listening.replies.services import do_set_guidelines, guidelines_of


class TurnSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=AuthorRole.choices)
    text = serializers.CharField(allow_blank=False, trim_whitespace=True)

    def validate_text(self, value: str) -> str:
        limit = int(settings.REPLIES_MAX_MESSAGE_CHARS)
        if len(value) > limit:
            raise serializers.ValidationError(
                f"A message is at most {limit} characters ({len(value)} given)."
            )
        if invalid_unicode_at(value) is not None:
            raise serializers.ValidationError("The message is not valid UTF-8.")
        return value.replace("\x00", "")


class RepliesRequestSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField(
        required=False, default=3, help_text="How many suggestions (1 to REPLIES_MAX_N)."
    )
    thread = TurnSerializer(
        many=True,
        required=False,
        help_text="The conversation so far, oldest first, ending with the customer's message to answer; "
        "by default the stored thread of the mention.",
    )

    def validate_n(self, value: int) -> int:
        limit = int(settings.REPLIES_MAX_N)
        if not 1 <= value <= limit:
            raise serializers.ValidationError(f"n must be between 1 and {limit}.")
        return value

    def validate_thread(self, value: list[dict[str, str]]) -> list[dict[str, str]]:
        if not value:
            raise serializers.ValidationError("The thread is empty: give at least the customer's message.")
        if len(value) > int(settings.REPLIES_MAX_TURNS):
            raise serializers.ValidationError(f"At most {settings.REPLIES_MAX_TURNS} turns.")
        if value[-1]["role"] != AuthorRole.CUSTOMER:
            raise serializers.ValidationError("The last turn must be the customer's message to answer.")
        return value


SUGGESTION = inline_serializer(
    "ReplySuggestion",
    {
        "id": serializers.IntegerField(),
        "rank": serializers.IntegerField(),
        "text": serializers.CharField(),
        "score": serializers.FloatField(help_text="Mean log-likelihood per token under the drafting model."),
        "origin": serializers.ChoiceField(
            choices=SuggestionOrigin.choices,
            help_text="draft: written by the reply model; past_reply: the brand's own past reply to a "
            "near-identical message (then rank 1).",
        ),
        "past_pair": serializers.IntegerField(
            allow_null=True, help_text="The past exchange a past_reply suggestion comes from."
        ),
    },
)


class MentionRepliesView(APIView):
    """Draft ``n`` ranked reply suggestions (default 3) for a customer's mention, conditioned on the
    thread, the brand's reply guidelines and the organization's most similar past exchanges."""

    @extend_schema(
        request=RepliesRequestSerializer,
        responses={
            200: inline_serializer(
                "RepliesResponse",
                {
                    "mention": serializers.IntegerField(),
                    "request_id": serializers.CharField(),
                    "model_version": serializers.CharField(),
                    "reply_model": serializers.IntegerField(
                        help_text="The reply model (GET /api/v1/reply-models/) that drafted them."
                    ),
                    "retrieved_pairs": serializers.ListField(child=serializers.IntegerField()),
                    "dropped": serializers.IntegerField(help_text="Drafts the guard rails removed."),
                    "suggestions": serializers.ListField(child=SUGGESTION),
                },
            ),
            # 400 is the default ValidationError shape: a bad body names its fields
            # ({"thread": [...]}), a thread with nothing to answer says so in "detail".
            404: ERROR,
            503: ERROR,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        mention = get_object_or_404(Mention, pk=pk, organization_id=caller_key(request).organization_id)
        body = RepliesRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        thread = body.validated_data.get("thread")
        if thread is None:
            if mention.author_role == AuthorRole.AGENT:
                return _bad("This mention is the brand's own reply; there is nothing to answer.")
            stored = mention_thread(mention)
            if not stored or stored[-1].role != AuthorRole.CUSTOMER:
                return _bad("The mention's thread has no customer message to answer.")
        timeout = float(settings.REPLIES_TIMEOUT_SECONDS)
        # The request expires when this view stops waiting: revoke() reaches only the workers
        # running now, so without it a worker started later (or one busy with a training cycle,
        # which shares the generate worker) would still draft every abandoned request, in order,
        # before the next client's.
        task_id = jobs.send(
            TaskName.GENERATE_REPLIES,
            [mention.pk, body.validated_data["n"], thread],
            queue=Queue.GENERATE.value,
            expires=timeout,
        )
        payload = wait_for_worker(
            current_app.AsyncResult(task_id), timeout=timeout, worker="generation", retry_after=10
        )
        if isinstance(payload, Response):
            return payload
        if "error" in payload:
            return _bad(str(payload["error"]))
        return Response(payload)


def _bad(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_400_BAD_REQUEST)


class GuidelinesSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(
        allow_blank=True, max_length=4000, required=False, default="", help_text="Tone, what may be promised."
    )
    sign_off = serializers.CharField(allow_blank=True, max_length=200, required=False, default="")
    refusals = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=50,
        required=False,
        default=list,
        help_text="Phrases a suggestion must never contain (a draft with one is dropped).",
    )


class ReplyGuidelinesView(APIView):
    """A brand's voice for reply suggestions; an analyst's PUT replaces it."""

    @extend_schema(responses={200: GuidelinesSerializer, 404: ERROR})
    def get(self, request: Request, pk: int) -> Response:
        brand = get_object_or_404(Brand, pk=pk, organization_id=caller_key(request).organization_id)
        return Response(GuidelinesSerializer(guidelines_of(brand)).data)

    @extend_schema(request=GuidelinesSerializer, responses={200: GuidelinesSerializer, 404: ERROR})
    def put(self, request: Request, pk: int) -> Response:
        brand = get_object_or_404(Brand, pk=pk, organization_id=caller_key(request).organization_id)
        body = GuidelinesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = do_set_guidelines(brand, **body.validated_data)
        return Response(GuidelinesSerializer(guidelines_of(brand, row)).data)


class ReplyFeedbackSerializer(serializers.ModelSerializer[ReplyFeedback]):
    """An analyst's judgement as the audit trail shows it."""

    class Meta:
        model = ReplyFeedback
        fields = [
            "id",
            "mention",
            "suggestion",
            "request_id",
            "action",
            "ranking",
            "text",
            "author_name",
            "created_at",
            "disposition",
            "used_in",
        ]
        read_only_fields = fields


class ReplyFeedbackRequestSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(
        choices=FeedbackAction.choices,
        help_text="rank: order suggestions drafted together, best first; pick: this one is the best; "
        "send: this one was sent (edited or not): the text sent counts as the best.",
    )
    ranking = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=20,
        help_text="With rank: ids of suggestions drafted together, best first (two or more, this one too).",
    )
    text = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=True,
        help_text="With send: the text actually sent, if the analyst edited the suggestion.",
    )

    def validate_text(self, value: str) -> str:
        return TurnSerializer().validate_text(value) if value else value


class ReplySuggestionFeedbackView(APIView):
    """An analyst ranks, picks, or sends (edited or not) a reply suggestion: the preferences the
    organization's reply model learns from. Capped per analyst per day (429 beyond)."""

    @extend_schema(
        request=ReplyFeedbackRequestSerializer,
        responses={201: ReplyFeedbackSerializer, 404: ERROR, 429: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        key = caller_key(request)
        suggestion = get_object_or_404(ReplySuggestion, pk=pk, organization_id=key.organization_id)
        body = ReplyFeedbackRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            row = do_record_reply_feedback(
                suggestion,
                key,
                action=body.validated_data["action"],
                ranking=body.validated_data["ranking"],
                text=body.validated_data["text"],
            )
        except FeedbackCapReached as exc:
            return Response(
                {"detail": str(exc)},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return Response(ReplyFeedbackSerializer(row).data, status=status.HTTP_201_CREATED)


class ReplyFeedbackViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[ReplyFeedback]):
    """The organization's judgements of reply suggestions, newest first: who, when, what, and what
    a cycle did with each."""

    serializer_class = ReplyFeedbackSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[ReplyFeedback]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no caller
            return ReplyFeedback.objects.none()
        return ReplyFeedback.objects.filter(organization_id=caller_key(self.request).organization_id)


class ReplySuggestionSerializer(serializers.ModelSerializer[ReplySuggestion]):
    class Meta:
        model = ReplySuggestion
        fields = [
            "id",
            "mention",
            "request_id",
            "rank",
            "text",
            "score",
            "origin",
            "past_pair",
            "model_version",
            "retrieved_pairs",
            "created_at",
        ]
        read_only_fields = fields


class ReplySuggestionViewSet(viewsets.ReadOnlyModelViewSet[ReplySuggestion]):
    """The organization's drafted replies, newest first (those drafted together share a
    ``request_id``); an analyst judges one at ``/api/v1/reply-suggestions/{id}/feedback``."""

    serializer_class = ReplySuggestionSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[ReplySuggestion]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no caller
            return ReplySuggestion.objects.none()
        return ReplySuggestion.objects.filter(organization_id=caller_key(self.request).organization_id)
