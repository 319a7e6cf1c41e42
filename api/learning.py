"""Learning endpoints: analysts' corrections and preferences, and the model registry.

- ``POST /api/v1/mentions/{id}/feedback``: corrected sentiment and/or intent (analyst);
- ``GET /api/v1/feedback/``: the audit trail (who, when, what, used in which version);
- ``POST /api/v1/feedback/preferences``: a pairwise judgement (analyst);
- ``GET /api/v1/models/``, ``GET /api/v1/models/{id}/``: the organization's versions and the shared ones;
- ``POST /api/v1/models/{id}/promote``, ``POST /api/v1/models/rollback``: owner only. Enrichment
  picks the change up on its next batch.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import IdCursorPagination
from api.permissions import caller_key
from listening.learning.feedback import do_record_feedback, do_record_preference
from listening.learning.models import Feedback, ModelTask, ModelVersion, Preference
from listening.learning.queries import intent_labels, versions_for
from listening.learning.registry import do_promote, do_rollback
from listening.mentions.models import Mention, Sentiment
from listening.tenancy.models import Role


class ModelVersionSerializer(serializers.ModelSerializer[ModelVersion]):
    shared = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "task",
            "classifier",
            "status",
            "shared",
            "parent",
            "backbone",
            "artefact_path",
            "checksum",
            "hyperparameters",
            "data_snapshot",
            "metrics",
            "gate_reason",
            "created_at",
            "promoted_at",
        ]
        read_only_fields = fields

    def get_shared(self, obj: ModelVersion) -> bool:
        return obj.organization_id is None


class PromoteSerializer(serializers.Serializer[Any]):
    force = serializers.BooleanField(
        default=False, help_text="Promote even though the evaluation gate blocked this candidate."
    )


class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet[ModelVersion]):
    serializer_class = ModelVersionSerializer
    pagination_class = IdCursorPagination
    write_role = Role.OWNER

    def get_queryset(self) -> QuerySet[ModelVersion]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no caller
            return ModelVersion.objects.none()
        return versions_for(caller_key(self.request).organization_id)

    @extend_schema(request=PromoteSerializer, responses={200: ModelVersionSerializer})
    def promote(self, request: Request, pk: str | None = None) -> Response:
        """Make this version the organization's active one (the current one is retired)."""
        organization_id = caller_key(request).organization_id
        # Only the organization's own versions: a shared version is every tenant's, not one owner's.
        version = get_object_or_404(
            ModelVersion, pk=pk, organization_id=organization_id, task=ModelTask.SENTIMENT
        )
        body = PromoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        username = caller_key(request).membership.user.get_username()
        promoted = do_promote(version, reason=f"promoted by {username}", force=body.validated_data["force"])
        return Response(ModelVersionSerializer(promoted).data)

    @extend_schema(request=None, responses={200: ModelVersionSerializer})
    def rollback(self, request: Request) -> Response:
        """Retire the active version and restore the previous one (or the shared default)."""
        active = do_rollback(caller_key(request).organization_id)
        return Response(ModelVersionSerializer(active).data)


class FeedbackSerializer(serializers.ModelSerializer[Feedback]):
    used_in: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True, help_text="The model version trained on it."
    )

    class Meta:
        model = Feedback
        fields = [
            "id",
            "mention",
            "sentiment",
            "intent",
            "previous_sentiment",
            "author_name",
            "created_at",
            "used_in",
            "disposition",
        ]
        read_only_fields = [
            "id",
            "mention",
            "previous_sentiment",
            "author_name",
            "created_at",
            "used_in",
            "disposition",
        ]
        extra_kwargs = {
            "sentiment": {"required": False, "allow_blank": True},
            "intent": {"required": False, "allow_blank": True},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("sentiment") and not attrs.get("intent"):
            raise ValidationError("Give a corrected sentiment, an intent, or both.")
        if attrs.get("sentiment") and attrs["sentiment"] not in Sentiment.values:
            raise ValidationError({"sentiment": f"One of {', '.join(Sentiment.values)}."})
        intent = attrs.get("intent")
        if intent and intent not in (known := intent_labels(self.context["organization_id"])):
            raise ValidationError({"intent": f"One of the model's support intents: {', '.join(known)}."})
        return attrs


class MentionFeedbackView(APIView):
    """An analyst's corrected sentiment and/or intent for one mention."""

    @extend_schema(request=FeedbackSerializer, responses={201: FeedbackSerializer})
    def post(self, request: Request, pk: int) -> Response:
        key = caller_key(request)
        mention = get_object_or_404(Mention, pk=pk, organization_id=key.organization_id)
        body = FeedbackSerializer(data=request.data, context={"organization_id": key.organization_id})
        body.is_valid(raise_exception=True)
        feedback = do_record_feedback(
            mention,
            key,
            sentiment=body.validated_data.get("sentiment", ""),
            intent=body.validated_data.get("intent", ""),
        )
        return Response(FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)


class FeedbackViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Feedback]):
    """The corrections of the organization, newest first: the audit trail of human feedback."""

    serializer_class = FeedbackSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[Feedback]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no caller
            return Feedback.objects.none()
        return Feedback.objects.filter(
            organization_id=caller_key(self.request).organization_id
        ).select_related("used_in")


class PreferenceSerializer(serializers.ModelSerializer[Preference]):
    used_in: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True, help_text="The model version trained on it."
    )

    class Meta:
        model = Preference
        fields = [
            "id",
            "kind",
            "first",
            "second",
            "first_label",
            "second_label",
            "choice",
            "author_name",
            "created_at",
            "used_in",
            "disposition",
        ]
        read_only_fields = ["id", "author_name", "created_at", "used_in", "disposition"]
        extra_kwargs = {
            "first": {"queryset": Mention.objects.none()},
            "second": {"queryset": Mention.objects.none()},
        }

    def __init__(self, *args: Any, organization_id: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scoped = Mention.objects.filter(organization_id=organization_id)
        self.fields["first"].queryset = scoped  # type: ignore[attr-defined]
        self.fields["second"].queryset = scoped  # type: ignore[attr-defined]


class PreferenceView(APIView):
    """``more_negative``: which of two mentions (first, second) is more negative.
    ``better_label``: which of two sentiment labels (first_label, second_label) fits ``first`` better."""

    @extend_schema(request=PreferenceSerializer, responses={201: PreferenceSerializer})
    def post(self, request: Request) -> Response:
        key = caller_key(request)
        body = PreferenceSerializer(data=request.data, organization_id=key.organization_id)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        preference = do_record_preference(
            key,
            kind=data["kind"],
            first=data["first"],
            second=data.get("second"),
            first_label=data.get("first_label", ""),
            second_label=data.get("second_label", ""),
            choice=data["choice"],
        )
        return Response(PreferenceSerializer(preference).data, status=status.HTTP_201_CREATED)
