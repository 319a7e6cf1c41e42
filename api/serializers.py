"""Explicit serializer fields for every resource; the organization is never client-writable."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import AsIsFieldsMixin, OrgScopedPrimaryKeyRelatedField, bounded_json
from api.permissions import caller_key
from ingestion.connectors import CONNECTORS, ConnectorConfigError, get_connector
from ingestion.query import QuerySyntaxError, validate
from listening.brands.models import Brand, Campaign
from listening.mentions.models import Enrichment, Mention, Sentiment, Source
from listening.mentions.queries import MentionRelations, relations_of
from listening.tenancy.models import ApiKey

# A campaign without an explicit baseline is compared with this long a period just before it.
DEFAULT_BASELINE = timedelta(days=30)
CONFIG_MAX_BYTES = 16_384


class _UniqueNameMixin:
    """``organization`` is not a serializer field, so DRF's UniqueTogetherValidator cannot see it."""

    def validate_name(self, value: str) -> str:
        serializer: Any = self
        model = serializer.Meta.model
        queryset = model.objects.filter(
            organization_id=caller_key(serializer.context["request"]).organization_id, name=value
        )
        if serializer.instance is not None:
            queryset = queryset.exclude(pk=serializer.instance.pk)
        if queryset.exists():
            raise serializers.ValidationError(f"A {model._meta.verbose_name} with this name already exists.")
        return value.strip()


def validate_listening_query(value: str) -> str:
    try:
        validate(value)
    except QuerySyntaxError as exc:
        raise serializers.ValidationError(str(exc)) from exc
    return value


PUSH = "push"


class BrandSerializer(_UniqueNameMixin, serializers.ModelSerializer[Brand]):
    competitors = OrgScopedPrimaryKeyRelatedField(
        many=True, queryset=Brand.objects.all(), required=False, help_text="Ids of competitor brands."
    )

    class Meta:
        model = Brand
        fields = [
            "id",
            "name",
            "query",
            "description",
            "competitors",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_query(self, value: str) -> str:
        return validate_listening_query(value)

    def validate_competitors(self, value: list[Brand]) -> list[Brand]:
        if self.instance is not None and any(brand.pk == self.instance.pk for brand in value):
            raise serializers.ValidationError("A brand cannot be its own competitor.")
        return value


class CampaignSerializer(_UniqueNameMixin, serializers.ModelSerializer[Campaign]):
    brand = OrgScopedPrimaryKeyRelatedField(queryset=Brand.objects.all())

    class Meta:
        model = Campaign
        fields = [
            "id",
            "brand",
            "name",
            "query",
            "starts_at",
            "ends_at",
            "baseline_starts_at",
            "baseline_ends_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_query(self, value: str) -> str:
        return validate_listening_query(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def pick(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        starts_at, ends_at = pick("starts_at"), pick("ends_at")
        if ends_at is not None and ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": "Must be after starts_at."})
        base_start, base_end = pick("baseline_starts_at"), pick("baseline_ends_at")
        if (base_start is None) != (base_end is None):
            raise serializers.ValidationError(
                "Give both baseline_starts_at and baseline_ends_at, or neither."
            )
        if base_start is None:
            length = (ends_at - starts_at) if ends_at is not None else DEFAULT_BASELINE
            try:
                attrs["baseline_starts_at"], attrs["baseline_ends_at"] = starts_at - length, starts_at
            except OverflowError:  # an equally long period before starts_at would begin before year 1
                raise serializers.ValidationError(
                    {"baseline_starts_at": "No default baseline fits before starts_at; give one."}
                ) from None
        elif base_end <= base_start:
            raise serializers.ValidationError({"baseline_ends_at": "Must be after baseline_starts_at."})
        return attrs


class SourceSerializer(_UniqueNameMixin, serializers.ModelSerializer[Source]):
    credentials = serializers.JSONField(
        write_only=True, required=False, validators=[bounded_json(4096)], help_text="Write-only secrets."
    )
    config = serializers.JSONField(required=False, validators=[bounded_json(CONFIG_MAX_BYTES)])
    has_credentials = serializers.SerializerMethodField()
    pull_interval_seconds = serializers.IntegerField(min_value=60, max_value=86_400, required=False)

    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "kind",
            "connector",
            "config",
            "credentials",
            "has_credentials",
            "cursor",
            "is_active",
            "pull_interval_seconds",
            "last_pulled_at",
            "last_error",
            "created_at",
        ]
        read_only_fields = ["id", "cursor", "last_pulled_at", "last_error", "created_at"]

    def get_has_credentials(self, obj: Source) -> bool:
        return bool(obj.credentials)

    def validate_credentials(self, value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise serializers.ValidationError("Must be an object of string values.")
        return value

    def validate_config(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def validate_connector(self, value: str) -> str:
        if value != PUSH and value not in CONNECTORS:
            raise serializers.ValidationError(
                f"Unknown connector; one of: {', '.join([PUSH, *sorted(CONNECTORS)])}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A pull source's config and credentials are checked by its connector (no network)."""
        connector = attrs.get("connector", getattr(self.instance, "connector", PUSH))
        if connector != PUSH:
            config = attrs.get("config", getattr(self.instance, "config", {}))
            credentials = attrs.get("credentials", getattr(self.instance, "credentials", {}))
            try:
                get_connector(connector)(config, credentials).validate_config()
            except ConnectorConfigError as exc:
                raise serializers.ValidationError({"config": str(exc)}) from exc
            kind = attrs.get("kind", getattr(self.instance, "kind", None))
            if kind is not None and kind != get_connector(connector).kind:
                raise serializers.ValidationError(
                    {"kind": f"The {connector} connector yields {get_connector(connector).kind} items."}
                )
        return attrs


# What one model reading of one text shows: the fields enrichment stores and ``POST /analyze``
# returns (``listening.mentions.enrichment.served_fields``). intent/intent_prob may be null.
READING_FIELDS = [
    "sentiment",
    "sentiment_probs",
    "emotion",
    "emotion_probs",
    "irony_prob",
    "irony",
    "intent",
    "intent_prob",
]


class EnrichmentSerializer(AsIsFieldsMixin, serializers.ModelSerializer[Enrichment]):
    class Meta:
        model = Enrichment
        fields = ["model_version", *READING_FIELDS, "created_at"]
        read_only_fields = fields


class ReadingSerializer(serializers.ModelSerializer[Enrichment]):
    """One text's reading as ``POST /analyze`` returns it: an enrichment's fields, stored nowhere."""

    class Meta:
        model = Enrichment
        fields = READING_FIELDS
        read_only_fields = fields


class AuthorSerializer(serializers.Serializer[Mention]):
    id = serializers.CharField(source="author_id")
    handle = serializers.CharField(source="author_handle")
    name = serializers.CharField(source="author_name")


class MentionSerializer(AsIsFieldsMixin, serializers.ModelSerializer[Mention]):
    author = AuthorSerializer(source="*", read_only=True)
    url = serializers.CharField(read_only=True, help_text="Link to the original; empty when unknown.")
    sentiment = serializers.ChoiceField(
        choices=Sentiment.choices, allow_blank=True, read_only=True, help_text="Empty until enriched."
    )
    brands = serializers.SerializerMethodField()
    campaigns = serializers.SerializerMethodField()
    enrichment = serializers.SerializerMethodField()

    class Meta:
        model = Mention
        fields = [
            "id",
            "source",
            "kind",
            "channel",
            "external_id",
            "text",
            "clean_text",
            "language",
            "author",
            "published_at",
            "url",
            "engagement",
            "engagement_total",
            "rating",
            "bot_score",
            "duplicate_count",
            "canonical",
            "sentiment",
            "brands",
            "campaigns",
            "enrichment",
            "created_at",
        ]
        read_only_fields = fields

    # The view loads these for the whole page (``relations`` in the context): each method reads
    # memory, not the database.
    def _relations(self, obj: Mention) -> MentionRelations:
        relations = self.context.get("relations")
        return relations if relations is not None else relations_of([obj.pk])

    def get_brands(self, obj: Mention) -> list[int]:
        return self._relations(obj).brands.get(obj.pk, [])

    def get_campaigns(self, obj: Mention) -> list[int]:
        return self._relations(obj).campaigns.get(obj.pk, [])

    @cached_property
    def _enrichment(self) -> EnrichmentSerializer:
        # One serializer for the whole list: building one per row deep-copies its declared fields
        # every time, which was a fifth of a 50-mention page's serialization.
        return EnrichmentSerializer(context=self.context)

    @extend_schema_field(EnrichmentSerializer(allow_null=True, help_text="Null until enriched."))
    def get_enrichment(self, obj: Mention) -> dict[str, Any] | None:
        latest = self._relations(obj).latest_enrichment.get(obj.pk)
        return self._enrichment.to_representation(latest) if latest is not None else None


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    role = serializers.CharField(source="membership.role", read_only=True)
    user = serializers.CharField(source="membership.user.username", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "user", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "role", "user", "created_at", "last_used_at", "revoked_at"]


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The plaintext key. Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
