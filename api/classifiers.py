"""Custom classifiers over HTTP.

- ``/api/v1/classifiers/``: define (owner or analyst), list, change, delete an organization's
  classifiers: a name, a scope, labels with descriptions and examples, single- or multi-label.
  Saving queues a training; the versions are registry rows (``GET /api/v1/models/``).
- ``POST /api/v1/classifiers/{id}/tags/``: an analyst's labels for one mention (feedback);
  ``GET /api/v1/classifiers/{id}/tags/``: the audit trail.
- ``GET /api/v1/classifiers/{id}/uncertain/``: the mentions whose labels are least certain, to tag next.
- ``POST /api/v1/classifiers/{id}/train``, ``POST /api/v1/classifiers/{id}/rollback``.
- ``GET /api/v1/classifiers/{id}/mix/?brands=1,2&from&to&interval``: each label's share per brand.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.analytics import ComparisonQuerySerializer, _parse
from api.fields import OrgScopedPrimaryKeyRelatedField
from api.learning import ModelVersionSerializer
from api.pagination import IdCursorPagination
from api.permissions import caller_key
from api.schema import QuerySerializers, typed
from api.scoping import OrganizationScopedMixin
from listening.analytics.answers import LabelMix
from listening.analytics.queries import MAX_COMPARED_BRANDS
from listening.brands.models import Brand
from listening.classifiers.aggregation import LabelMixError, label_mix
from listening.classifiers.models import (
    MAX_DESCRIPTION_CHARS,
    MAX_EXAMPLE_CHARS,
    MAX_EXAMPLES_PER_LABEL,
    MAX_LABELS,
    MAX_NAME_CHARS,
    MIN_LABELS,
    Classifier,
    ClassifierTag,
)
from listening.classifiers.queries import active_version_of, uncertain_readings
from listening.classifiers.services import (
    ClassifierError,
    LabelSpec,
    do_queue_training,
    do_save_classifier,
    do_tag,
)
from listening.learning.registry import do_rollback
from listening.mentions.models import Mention
from listening.tenancy.models import Role

ACTIVE_VERSION = inline_serializer(
    "ClassifierActiveVersion",
    {"id": serializers.IntegerField(), "name": serializers.CharField(), "metrics": serializers.DictField()},
    allow_null=True,
)


class LabelSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=MAX_NAME_CHARS)
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION_CHARS, required=False, allow_blank=True, default=""
    )
    examples = serializers.ListField(
        child=serializers.CharField(max_length=MAX_EXAMPLE_CHARS),
        max_length=MAX_EXAMPLES_PER_LABEL,
        required=False,
        default=list,
        help_text=f"Example texts of this label, at most {MAX_EXAMPLES_PER_LABEL}.",
    )


class LabelListField(serializers.ListField):
    """The labels, written as a list and read from the classifier's label rows."""

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        # A PATCH is partial for the classifier, never for a label: DRF would pass ``partial`` down
        # and skip a label's missing name, so each label is validated as a whole on its own.
        result: list[Any] = []
        errors: dict[str, Any] = {}
        for index, item in enumerate(data):
            label = LabelSerializer(data=item)
            if label.is_valid():
                result.append(label.validated_data)
            else:
                errors[str(index)] = label.errors
        if errors:
            raise ValidationError(errors)
        return result

    def to_representation(self, data: Any) -> list[Any]:
        return [
            {"name": label.name, "description": label.description, "examples": label.examples}
            for label in data.all()
        ]


class ClassifierSerializer(serializers.ModelSerializer[Classifier]):
    labels = LabelListField(
        child=LabelSerializer(),
        min_length=MIN_LABELS,
        max_length=MAX_LABELS,
        help_text=f"{MIN_LABELS} to {MAX_LABELS} labels with unique names.",
    )
    brand = OrgScopedPrimaryKeyRelatedField(queryset=Brand.objects.all(), required=False, allow_null=True)
    active_version = serializers.SerializerMethodField()

    class Meta:
        model = Classifier
        fields = [
            "id",
            "name",
            "scope",
            "brand",
            "source_kind",
            "multi_label",
            "labels",
            "active_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "active_version", "created_at", "updated_at"]

    @extend_schema_field(ACTIVE_VERSION)
    def get_active_version(self, obj: Classifier) -> dict[str, Any] | None:
        version = active_version_of(obj.pk)
        if version is None:
            return None
        return {"id": version.pk, "name": version.name, "metrics": version.metrics}

    def validate_name(self, value: str) -> str:
        organization_id = caller_key(self.context["request"]).organization_id
        clash = Classifier.objects.filter(organization_id=organization_id, name=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError("A classifier of this organization already has this name.")
        return value


class TagSerializer(serializers.ModelSerializer[ClassifierTag]):
    mention = OrgScopedPrimaryKeyRelatedField(queryset=Mention.objects.all())
    labels = serializers.ListField(
        child=serializers.CharField(max_length=MAX_NAME_CHARS), max_length=MAX_LABELS
    )
    used_in: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )

    class Meta:
        model = ClassifierTag
        fields = [
            "id",
            "mention",
            "labels",
            "previous_labels",
            "author_name",
            "created_at",
            "used_in",
            "disposition",
        ]
        read_only_fields = ["id", "previous_labels", "author_name", "created_at", "used_in", "disposition"]


UncertainSerializer = inline_serializer(
    "UncertainMention",
    {
        "mention": serializers.IntegerField(),
        "text": serializers.CharField(),
        "labels": serializers.ListField(child=serializers.CharField()),
        "scores": serializers.DictField(child=serializers.FloatField()),
        "uncertainty": serializers.FloatField(),
    },
    many=True,
)


class MixQuerySerializer(ComparisonQuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["brands"].required = False
        for name in ("topics", "seed", "classifier", "group_by"):
            fields.pop(name)
        return fields


class ClassifierViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[Classifier]):
    model = Classifier
    serializer_class = ClassifierSerializer
    pagination_class = IdCursorPagination
    write_role = Role.ANALYST
    query_serializers: ClassVar[QuerySerializers] = {"mix": MixQuerySerializer}

    def get_queryset(self) -> QuerySet[Classifier]:
        return super().get_queryset().prefetch_related("labels")

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer, Classifier(organization=caller_key(self.request).organization))

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer, serializer.instance)

    def _save(self, serializer: Any, classifier: Classifier) -> None:
        data = dict(serializer.validated_data)
        labels = data.pop("labels", None)
        for field, value in data.items():
            setattr(classifier, field, value)
        specs = None if labels is None else [LabelSpec(**label) for label in labels]
        try:
            serializer.instance = do_save_classifier(classifier, specs)
        except ClassifierError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc

    @extend_schema(request=TagSerializer, responses={201: TagSerializer})
    @action(detail=True, methods=["post"], url_path="tags")
    def tag(self, request: Request, pk: str | None = None) -> Response:
        """Tag one mention with this classifier's labels (single-label: exactly one)."""
        classifier = self.get_object()
        key = caller_key(request)
        body = TagSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        try:
            tag = do_tag(classifier, body.validated_data["mention"], key, body.validated_data["labels"])
        except ClassifierError as exc:
            raise ValidationError({"labels": [str(exc)]}) from exc
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: TagSerializer(many=True)})
    @tag.mapping.get
    def tags(self, request: Request, pk: str | None = None) -> Response:
        """The classifier's tags, newest first: who tagged what, and which version used it."""
        classifier = self.get_object()
        rows = ClassifierTag.objects.filter(classifier=classifier).select_related("used_in")
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(TagSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT, description="1-100, default 20")],
        responses={200: UncertainSerializer},
    )
    # A bounded list (``limit``), not a page: no cursor, so the schema shows no pagination either.
    @action(detail=True, methods=["get"], pagination_class=None)
    def uncertain(self, request: Request, pk: str | None = None) -> Response:
        """The untagged mentions whose labels are least certain, most uncertain first: tag these next."""
        classifier = self.get_object()
        raw = request.query_params.get("limit", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise ValidationError({"limit": ["An integer from 1 to 100."]})
        return Response(uncertain_readings(classifier, int(raw)))

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def train(self, request: Request, pk: str | None = None) -> Response:
        """Queue a training now (a new candidate, promoted only if it beats the active version)."""
        classifier = self.get_object()
        do_queue_training(classifier.pk)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ModelVersionSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        """Retire the classifier's active version and restore the one before it (owner only)."""
        classifier = self.get_object()
        if caller_key(request).role != Role.OWNER:
            return Response(
                {"detail": "Only an owner may roll back a version."}, status=status.HTTP_403_FORBIDDEN
            )
        version = do_rollback(classifier.organization_id, classifier_id=classifier.pk)
        return Response(ModelVersionSerializer(version).data)

    @extend_schema(parameters=[MixQuerySerializer], responses={200: typed(LabelMix)})
    @action(detail=True, methods=["get"])
    def mix(self, request: Request, pk: str | None = None) -> Response:
        """Each label's share of each brand's labelled mentions, its series, and who leads or lags."""
        classifier = self.get_object()
        params = _parse(MixQuerySerializer, request)
        organization_id = caller_key(request).organization_id
        brands = Brand.objects.filter(organization_id=organization_id).order_by("pk")
        if params.get("brands"):
            ids: list[int] = params["brands"]
            found = {brand.pk: brand for brand in brands.filter(pk__in=ids)}
            if len(found) != len(ids):
                raise NotFound("One or more brands do not exist.")
            chosen = [found[pk] for pk in ids]
        else:
            chosen = list(brands[:MAX_COMPARED_BRANDS])
        try:
            return Response(
                label_mix(classifier, chosen, params["interval"], params.get("from"), params.get("to"))
            )
        except LabelMixError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
