"""Report schedules (``/api/v1/reports/``), their runs and the stored files.

Runs are nested under their schedule and looked up through the caller's schedules, so a run of
another organization is a 404 like any foreign object. Downloads are plain file responses with the
format's content type and an attachment ``Content-Disposition``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from api.fields import OrgScopedPrimaryKeyRelatedField
from api.pagination import IdCursorPagination
from api.permissions import caller_key
from api.scoping import OrganizationScopedMixin
from api.serializers import _UniqueNameMixin
from listening.analytics.queries import MAX_COMPARED_BRANDS
from listening.brands.models import Brand, Campaign
from listening.reports import services
from listening.reports.models import Period, ReportFormat, ReportRun, ReportSchedule
from listening.reports.schedule import (
    MAX_LOOKBACK_DAYS,
    ScheduleError,
    next_fire,
    parse_timezone,
    validate_cron,
)

MAX_CAMPAIGNS = 10


class ReportScheduleSerializer(_UniqueNameMixin, serializers.ModelSerializer[ReportSchedule]):
    brands = OrgScopedPrimaryKeyRelatedField(many=True, queryset=Brand.objects.all(), required=False)
    competitors = OrgScopedPrimaryKeyRelatedField(
        many=True,
        queryset=Brand.objects.all(),
        required=False,
        help_text="Brands to compare with; empty: the selected brands' own competitors.",
    )
    campaigns = OrgScopedPrimaryKeyRelatedField(many=True, queryset=Campaign.objects.all(), required=False)
    cron = serializers.CharField(
        max_length=120,
        help_text="Five cron fields in the schedule's time zone, e.g. '0 8 * * 1' (Mondays 08:00).",
    )
    timezone = serializers.CharField(
        max_length=64, default="UTC", help_text="IANA name, e.g. 'Europe/Paris'."
    )
    lookback_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_LOOKBACK_DAYS,
        help_text="Only for period=custom.",
    )
    formats = serializers.ListField(
        child=serializers.ChoiceField(choices=ReportFormat.choices),
        min_length=1,
        max_length=3,
        default=["pdf"],
    )
    recipients = serializers.ListField(
        child=serializers.EmailField(max_length=254), required=False, default=list
    )
    next_run_at = serializers.SerializerMethodField()

    class Meta:
        model = ReportSchedule
        fields = [
            "id",
            "name",
            "brands",
            "competitors",
            "campaigns",
            "period",
            "lookback_days",
            "cron",
            "timezone",
            "formats",
            "recipients",
            "is_active",
            "next_run_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def get_next_run_at(self, obj: ReportSchedule) -> str | None:
        if not obj.is_active:
            return None
        try:
            return next_fire(obj.cron, parse_timezone(obj.timezone), _now()).isoformat()
        except ScheduleError:
            return None

    def validate_cron(self, value: str) -> str:
        try:
            return validate_cron(value)
        except ScheduleError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_timezone(self, value: str) -> str:
        try:
            parse_timezone(value.strip())
        except ScheduleError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value.strip()

    def validate_recipients(self, value: list[str]) -> list[str]:
        unique = list(dict.fromkeys(address.strip().lower() for address in value))
        if len(unique) > settings.REPORTS_MAX_RECIPIENTS:
            raise serializers.ValidationError(f"At most {settings.REPORTS_MAX_RECIPIENTS} recipients.")
        return unique

    def validate_formats(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def validate_campaigns(self, value: list[Campaign]) -> list[Campaign]:
        if len(value) > MAX_CAMPAIGNS:
            raise serializers.ValidationError(f"At most {MAX_CAMPAIGNS} campaigns per report.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            if name in attrs:
                return attrs[name]
            if self.instance is None:
                return [] if name in {"brands", "competitors", "campaigns"} else None
            value = getattr(self.instance, name)
            return list(value.all()) if name in {"brands", "competitors", "campaigns"} else value

        brands, competitors, campaigns = current("brands"), current("competitors"), current("campaigns")
        if not brands and not campaigns:
            raise ValidationError({"brands": ["Select at least one brand or campaign."]})
        if len({b.pk for b in brands} | {b.pk for b in competitors}) > MAX_COMPARED_BRANDS:
            raise ValidationError(
                {"competitors": [f"At most {MAX_COMPARED_BRANDS} brands and competitors in all."]}
            )
        period = current("period") or Period.LAST_7_DAYS
        lookback = current("lookback_days")
        if period == Period.CUSTOM and lookback is None:
            raise ValidationError({"lookback_days": ["Required when period is 'custom'."]})
        if period != Period.CUSTOM:
            if attrs.get("lookback_days") is not None:
                raise ValidationError({"lookback_days": ["Only used when period is 'custom'."]})
            attrs["lookback_days"] = None  # switching away from custom clears it
        return attrs


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


class ReportRunSerializer(serializers.ModelSerializer[ReportRun]):
    formats = serializers.SerializerMethodField()

    class Meta:
        model = ReportRun
        fields = [
            "id",
            "schedule",
            "period_start",
            "period_end",
            "scheduled_for",
            "status",
            "attempts",
            "started_at",
            "finished_at",
            "error",
            "formats",
            "summary",
            "delivered_at",
            "delivered_to",
            "created_at",
        ]
        read_only_fields = fields

    def get_formats(self, obj: ReportRun) -> list[str]:
        return sorted(obj.files)


class ReportScheduleViewSet(OrganizationScopedMixin, viewsets.ModelViewSet[ReportSchedule]):
    """Scheduled reports: which brands, campaigns and competitors, which period, when (cron in an IANA
    time zone), which formats, and who receives them by e-mail."""

    model = ReportSchedule
    serializer_class = ReportScheduleSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[ReportSchedule]:
        only_id = Prefetch("brands", Brand.objects.only("id"))
        return (
            super()
            .get_queryset()
            .prefetch_related(
                only_id,
                Prefetch("competitors", Brand.objects.only("id")),
                Prefetch("campaigns", Campaign.objects.only("id")),
            )
        )

    def perform_create(self, serializer: Any) -> None:
        key = caller_key(self.request)
        serializer.save(organization=key.organization, created_by=key.membership.user.get_username())


def _schedule(request: Request, report_pk: int) -> ReportSchedule:
    return get_object_or_404(
        ReportSchedule, pk=report_pk, organization_id=caller_key(request).organization_id
    )


class ReportRunViewSet(viewsets.ReadOnlyModelViewSet[ReportRun]):
    """Runs of one schedule, newest period first."""

    serializer_class = ReportRunSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self) -> QuerySet[ReportRun]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no schedule
            return ReportRun.objects.none()
        schedule = _schedule(self.request, int(self.kwargs["report_pk"]))
        return ReportRun.objects.filter(schedule=schedule, organization_id=schedule.organization_id)


class _IgnoreFormatParameter(DefaultContentNegotiation):
    """``?format=pdf`` names the file to download here, not a DRF renderer; errors stay JSON."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        renderer = renderers[0]
        return renderer, renderer.media_type


class ReportRunDownloadView(APIView):
    """The stored report file of one run: ``?format=pdf|html|csv`` (default: the first produced)."""

    content_negotiation_class = _IgnoreFormatParameter

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=[f.value for f in ReportFormat])],
        responses={
            (200, services.CONTENT_TYPES[fmt].split(";")[0]): OpenApiResponse(OpenApiTypes.BINARY)
            for fmt in ReportFormat
        },
    )
    def get(self, request: Request, report_pk: int, pk: int) -> FileResponse:
        schedule = _schedule(request, report_pk)
        run = get_object_or_404(ReportRun, pk=pk, schedule=schedule)
        requested = request.query_params.get("format") or next(
            iter(sorted(run.files)), ReportFormat.PDF.value
        )
        if requested not in ReportFormat.values:
            raise ValidationError({"format": [f"One of {', '.join(ReportFormat.values)}."]})
        path = services.stored_file(run, requested)
        if path is None:
            raise NotFound(f"This run has no {requested} file (not requested, not rendered yet, or removed).")
        response = FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=run.files[requested].get("filename") or path.name,
            content_type=services.CONTENT_TYPES[ReportFormat(requested)],
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
