"""Alert rules and the alerts they raise.

Rules need an analyst to write; alerts are read by anyone in the organization and marked false
positive by analysts. Webhook endpoints and their delivery log are ``api/webhooks.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.fields import OrgScopedPrimaryKeyRelatedField
from api.filters import AlertFilter
from api.pagination import IdCursorPagination
from api.permissions import caller_key
from api.schema import QuerySerializers
from api.scoping import OrganizationScopedMixin
from listening.alerts.detection import threshold_for
from listening.alerts.models import Alert, AlertRule, Metric
from listening.alerts.queries import BacktestRangeError, rule_backtest
from listening.alerts.services import do_mark_false_positive
from listening.brands.models import Brand, Campaign
from listening.classifiers.models import Classifier

# --- serializers --------------------------------------------------------------------------------


class AlertRuleSerializer(serializers.ModelSerializer[AlertRule]):
    brand = OrgScopedPrimaryKeyRelatedField(queryset=Brand.objects.all(), required=False, allow_null=True)
    campaign = OrgScopedPrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True
    )
    classifier = OrgScopedPrimaryKeyRelatedField(
        queryset=Classifier.objects.all(),
        required=False,
        allow_null=True,
        help_text="label_volume / label_share: the custom classifier whose label is watched.",
    )
    sensitivity = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    window_minutes = serializers.IntegerField(min_value=5, max_value=1440, required=False)
    cooldown_minutes = serializers.IntegerField(min_value=0, max_value=7 * 1440, required=False)
    min_volume = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    min_negative = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    threshold = serializers.SerializerMethodField(help_text="Score (-log10 p) at which the rule fires.")

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "brand",
            "campaign",
            "metric",
            "classifier",
            "label",
            "sensitivity",
            "threshold",
            "min_volume",
            "min_negative",
            "cooldown_minutes",
            "window_minutes",
            "is_active",
            "last_checked_at",
            "last_score",
            "last_check",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "threshold",
            "last_checked_at",
            "last_score",
            "last_check",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "last_check": {
                "help_text": (
                    "The last check: score, threshold, anomalous, reason (why the rule is quiet, "
                    "window by window) and each window's numbers (1 h, 6 h and 24 h are judged "
                    "together with the rule's own window)."
                )
            }
        }

    def get_threshold(self, obj: AlertRule) -> float:
        return round(threshold_for(obj.sensitivity), 3)

    def validate_window_minutes(self, value: int) -> int:
        if 1440 % value:
            raise serializers.ValidationError("Must divide a day (e.g. 5, 10, 15, 30, 60, 120 minutes).")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        brand = attrs.get("brand", getattr(self.instance, "brand", None))
        campaign = attrs.get("campaign", getattr(self.instance, "campaign", None))
        if (brand is None) == (campaign is None):
            raise serializers.ValidationError("Give exactly one of brand and campaign.")
        metric = attrs.get("metric", getattr(self.instance, "metric", Metric.NEGATIVE_VOLUME))
        classifier = attrs.get("classifier", getattr(self.instance, "classifier", None))
        label = attrs.get("label", getattr(self.instance, "label", ""))
        if metric in (Metric.LABEL_VOLUME, Metric.LABEL_SHARE):
            if classifier is None:
                raise serializers.ValidationError({"classifier": "A label metric needs a classifier."})
            names = list(classifier.labels.values_list("name", flat=True))
            if label not in names:
                raise serializers.ValidationError(
                    {"label": f"One of the classifier's labels: {', '.join(names)}."}
                )
        elif classifier is not None or label:
            raise serializers.ValidationError(
                {"classifier": "Only label_volume and label_share watch a label."}
            )
        return attrs


class AlertSerializer(serializers.ModelSerializer[Alert]):
    marked_false_positive_by = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "brand",
            "campaign",
            "metric",
            "status",
            "fired_at",
            "updated_at",
            "resolved_at",
            "window_start",
            "window_end",
            "peak_score",
            "peak_negative",
            "numbers",
            "explanation",
            "is_false_positive",
            "marked_false_positive_by",
            "marked_false_positive_at",
        ]
        read_only_fields = fields

    def get_marked_false_positive_by(self, obj: Alert) -> str | None:
        user = obj.marked_false_positive_by
        return user.get_username() if user is not None else None


# --- views --------------------------------------------------------------------------------------


class BacktestQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """``from``/``to`` of the query string (``from`` is a Python keyword, hence get_fields)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "from": serializers.DateTimeField(help_text="Start (inclusive, ISO 8601)."),
            "to": serializers.DateTimeField(help_text="End (exclusive, ISO 8601); at most 31 days."),
        }


class BacktestEpisodeSerializer(serializers.Serializer[dict[str, Any]]):
    fired_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True, help_text="Null: still open at 'to'.")
    peak_score = serializers.FloatField()
    peak_at = serializers.DateTimeField()
    peak_window = serializers.DictField(help_text="{from, to} of the window that scored highest.")
    numbers = serializers.DictField(help_text="That window's numbers, as an alert shows them.")


class BacktestSerializer(serializers.Serializer[dict[str, Any]]):
    rule = serializers.IntegerField()
    check_every_minutes = serializers.IntegerField()
    windows_minutes = serializers.ListField(child=serializers.IntegerField())
    threshold = serializers.FloatField()
    episodes = BacktestEpisodeSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        dates = {"from": serializers.DateTimeField(), "to": serializers.DateTimeField()}
        return {**dates, **super().get_fields()}


class AlertRuleViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[AlertRule]):
    model = AlertRule
    serializer_class = AlertRuleSerializer
    pagination_class = IdCursorPagination
    # What each action reads from the query string (the schema's parameters are checked against it).
    query_serializers: ClassVar[QuerySerializers] = {"backtest": BacktestQuerySerializer}

    @extend_schema(
        parameters=[BacktestQuerySerializer],
        responses={200: BacktestSerializer},
    )
    @action(detail=True, methods=["get"])
    def backtest(self, request: Request, pk: str | None = None) -> Response:
        """The episodes the rule, as configured now, would have fired over a past range: tune it
        on last month's data, mark peaks on charts. Checks are replayed about hourly."""
        rule = self.get_object()
        query = BacktestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            answer = rule_backtest(rule, query.validated_data["from"], query.validated_data["to"])
        except BacktestRangeError as error:
            raise ValidationError({"to": [str(error)]}) from error
        return Response(answer)


class AlertViewSet(OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet[Alert]):
    """Alerts, newest first; ``?status=open|resolved``, ``?brand=<id>``, ``?rule=<id>``."""

    model = Alert
    serializer_class = AlertSerializer
    pagination_class = IdCursorPagination
    filterset_class = AlertFilter

    def get_queryset(self) -> QuerySet[Alert]:
        return super().get_queryset().select_related("marked_false_positive_by")

    @extend_schema(request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"], url_path="false-positive")
    def false_positive(self, request: Request, pk: str | None = None) -> Response:
        """Mark a false positive; the rule's sensitivity adapts (see the rule's threshold)."""
        alert = self.get_object()
        updated = do_mark_false_positive(alert.pk, user_id=caller_key(request).membership.user_id)
        updated = self.get_queryset().get(pk=updated.pk)
        return Response(AlertSerializer(updated, context=self.get_serializer_context()).data)


__all__ = ["AlertRuleViewSet", "AlertViewSet"]
