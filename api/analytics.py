"""Analytics endpoints: campaign metrics, brand comparisons, topics and audience affinities.

Views are thin: they parse the query string, resolve the caller's objects (a foreign or unknown id
is a 404, so other tenants' ids are not revealed) and call one function of
``listening.analytics.queries`` (``affinities`` for audiences). Their answers' shapes, and so the
documented responses, are the TypedDicts of ``listening.analytics.answers``; a range that cannot be
answered is a 400 (``api.exceptions``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import caller_key
from api.schema import ERROR, QuerySerializers, typed
from listening.analytics import affinities, channels, queries, topic_queries
from listening.analytics.answers import BrandAffinities, BrandTopics, CampaignMetrics, Comparison
from listening.analytics.models import Interval
from listening.brands.models import Brand, Campaign
from listening.classifiers.aggregation import label_mix
from listening.classifiers.models import Classifier


class RangeQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """``from``/``to``/``interval`` of the query string (``from`` is a Python keyword, hence get_fields)."""

    default_interval = Interval.DAY.value

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "from": serializers.DateTimeField(required=False, help_text="Start (inclusive, ISO 8601)."),
            "to": serializers.DateTimeField(required=False, help_text="End (exclusive, ISO 8601)."),
            "interval": serializers.ChoiceField(
                choices=Interval.choices, default=self.default_interval, help_text="Bucket size."
            ),
        }


class LabelledRangeQuerySerializer(RangeQuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            **super().get_fields(),
            "classifier": serializers.IntegerField(
                required=False,
                min_value=1,
                help_text="A custom classifier's id: adds its label mix per brand (`labels`).",
            ),
        }


def _classifier(request: Request, params: dict[str, Any]) -> Classifier | None:
    if params.get("classifier") is None:
        return None
    organization_id = caller_key(request).organization_id
    return get_object_or_404(Classifier, pk=params["classifier"], organization_id=organization_id)


class ComparisonQuerySerializer(LabelledRangeQuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            **super().get_fields(),
            "brands": serializers.CharField(
                max_length=400, help_text="Comma-separated brand ids (1 to 20), e.g. 1,2,3."
            ),
            "topics": serializers.BooleanField(
                required=False,
                default=False,
                help_text="Also cluster the brands' mentions into topics (slower: reads embeddings).",
            ),
            "seed": serializers.IntegerField(
                required=False,
                min_value=0,
                max_value=2**31 - 1,
                default=0,
                help_text="Random seed of the topic clustering (default 0): same seed, same topics.",
            ),
            "group_by": serializers.ChoiceField(
                choices=channels.GROUP_BY_CHOICES,
                required=False,
                help_text="Also answer share of voice by channel (subreddit, site, app and territory) "
                "or by source kind, in `groups`.",
            ),
        }

    def validate_brands(self, value: str) -> list[int]:
        try:
            ids = list(dict.fromkeys(int(part) for part in value.split(",") if part.strip()))
        except ValueError:
            raise serializers.ValidationError("Give brand ids as integers separated by commas.") from None
        if not ids:
            raise serializers.ValidationError("Give at least one brand id.")
        if len(ids) > queries.MAX_COMPARED_BRANDS:
            raise serializers.ValidationError(f"Compare at most {queries.MAX_COMPARED_BRANDS} brands.")
        return ids


def _parse(serializer_class: type[RangeQuerySerializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _brand(request: Request, pk: int) -> Brand:
    return get_object_or_404(Brand, pk=pk, organization_id=caller_key(request).organization_id)


class CampaignMetricsView(APIView):
    """Volume, sentiment, engagement, unique authors, terms, themes, lift and the time series of a
    campaign. The range defaults to the campaign's window (clamped to now)."""

    query_serializers: ClassVar[QuerySerializers] = {"get": LabelledRangeQuerySerializer}

    @extend_schema(parameters=[LabelledRangeQuerySerializer], responses={200: typed(CampaignMetrics)})
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=pk, organization_id=caller_key(request).organization_id)
        params = _parse(LabelledRangeQuerySerializer, request)
        classifier = _classifier(request, params)
        answer = queries.campaign_metrics(campaign, params["interval"], params.get("from"), params.get("to"))
        if classifier is not None:
            answer["labels"] = label_mix(
                classifier,
                [campaign.brand],
                params["interval"],
                params.get("from"),
                params.get("to"),
                campaign_id=campaign.pk,
            )
        return Response(answer)


class ComparisonView(APIView):
    """Share of voice, sentiment, leading/lagging themes and time series of several brands.
    The range defaults to the last 30 days."""

    query_serializers: ClassVar[QuerySerializers] = {"get": ComparisonQuerySerializer}

    @extend_schema(parameters=[ComparisonQuerySerializer], responses={200: typed(Comparison), 404: ERROR})
    def get(self, request: Request) -> Response:
        params = _parse(ComparisonQuerySerializer, request)
        ids: list[int] = params["brands"]
        found = {
            brand.pk: brand
            for brand in Brand.objects.filter(organization_id=caller_key(request).organization_id, pk__in=ids)
        }
        if len(found) != len(ids):
            raise NotFound("One or more brands do not exist.")
        brands = [found[pk] for pk in ids]
        classifier = _classifier(request, params)
        answer = queries.brand_comparison(
            brands,
            params["interval"],
            params.get("from"),
            params.get("to"),
            topics=params["topics"],
            seed=params["seed"],
        )
        if params.get("group_by"):
            span = answer["range"]
            answer["groups"] = channels.share_by_channel(ids, span["from"], span["to"], by=params["group_by"])
        if classifier is not None:
            answer["labels"] = label_mix(
                classifier, brands, params["interval"], params.get("from"), params.get("to")
            )
        return Response(answer)


class TopicQuerySerializer(RangeQuerySerializer):
    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields.pop("interval")
        fields["k"] = serializers.IntegerField(
            required=False,
            min_value=2,
            max_value=30,
            help_text="Number of topics (default: chosen by NPMI coherence x diversity).",
        )
        fields["seed"] = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=2**31 - 1,
            default=0,
            help_text="Random seed (default 0): same seed, same topics.",
        )
        return fields


class BrandTopicsView(APIView):
    """Topic clusters of all the brand's enriched mentions (default: last 30 days), labelled by
    c-TF-IDF without stop words and the brand's own query terms; ``basis`` says what was counted."""

    query_serializers: ClassVar[QuerySerializers] = {"get": TopicQuerySerializer}

    @extend_schema(parameters=[TopicQuerySerializer], responses={200: typed(BrandTopics)})
    def get(self, request: Request, pk: int) -> Response:
        brand = _brand(request, pk)
        params = _parse(TopicQuerySerializer, request)
        return Response(
            topic_queries.brand_topics(
                brand, params.get("from"), params.get("to"), k=params.get("k"), seed=params["seed"]
            )
        )


class BrandAffinitiesView(APIView):
    """The brand's audience clusters from the latest run (built once its mentions are first
    enriched, then nightly); ``model`` is what its labels and embeddings came from when it was built.

    Before the first run it answers 200 with ``status: "not_built"`` and an explanation."""

    @extend_schema(responses={200: typed(BrandAffinities)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(affinities.brand_affinities(_brand(request, pk)))
