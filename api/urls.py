from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from api import (
    alerts,
    analytics,
    analyze,
    brands,
    classifiers,
    ingest,
    learning,
    mentions,
    replies,
    reply_models,
    reports,
    root,
    sources,
    tenancy,
    webhooks,
)

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("brands", brands.BrandViewSet, basename="brand")
router.register("campaigns", brands.CampaignViewSet, basename="campaign")
router.register("sources", sources.SourceViewSet, basename="source")
router.register("mentions", mentions.MentionViewSet, basename="mention")
router.register("api-keys", tenancy.ApiKeyViewSet, basename="api-key")
router.register("alert-rules", alerts.AlertRuleViewSet, basename="alert-rule")
router.register("alerts", alerts.AlertViewSet, basename="alert")
router.register("webhooks", webhooks.WebhookEndpointViewSet, basename="webhook")
router.register("reports", reports.ReportScheduleViewSet, basename="report")
router.register(r"reports/(?P<report_pk>\d+)/runs", reports.ReportRunViewSet, basename="report-run")
router.register("models", learning.ModelVersionViewSet, basename="model-version")
router.register("reply-models", reply_models.ReplyModelViewSet, basename="reply-model")
router.register("feedback", learning.FeedbackViewSet, basename="feedback")
router.register("classifiers", classifiers.ClassifierViewSet, basename="classifier")
router.register("reply-feedback", replies.ReplyFeedbackViewSet, basename="reply-feedback")
router.register("reply-suggestions", replies.ReplySuggestionViewSet, basename="reply-suggestion")

urlpatterns = [
    path("", root.ApiRootView.as_view(), name="api-root"),
    path("me/", tenancy.MeView.as_view(), name="me"),
    path("ingest", ingest.IngestView.as_view(), name="ingest"),
    path("analyze", analyze.AnalyzeView.as_view(), name="analyze"),
    path("campaigns/<int:pk>/metrics/", analytics.CampaignMetricsView.as_view(), name="campaign-metrics"),
    path("comparisons/", analytics.ComparisonView.as_view(), name="comparisons"),
    path("brands/<int:pk>/topics/", analytics.BrandTopicsView.as_view(), name="brand-topics"),
    path("brands/<int:pk>/affinities/", analytics.BrandAffinitiesView.as_view(), name="brand-affinities"),
    path(
        "reports/<int:report_pk>/runs/<int:pk>/download",
        reports.ReportRunDownloadView.as_view(),
        name="report-run-download",
    ),
    path("mentions/<int:pk>/replies", replies.MentionRepliesView.as_view(), name="mention-replies"),
    path(
        "brands/<int:pk>/reply-guidelines",
        replies.ReplyGuidelinesView.as_view(),
        name="brand-reply-guidelines",
    ),
    path(
        "reply-suggestions/<int:pk>/feedback",
        replies.ReplySuggestionFeedbackView.as_view(),
        name="reply-suggestion-feedback",
    ),
    path("mentions/<int:pk>/feedback", learning.MentionFeedbackView.as_view(), name="mention-feedback"),
    # The spelling (no trailing slash), like analyze; list and detail stay on the router.
    path(
        "models/rollback", learning.ModelVersionViewSet.as_view({"post": "rollback"}), name="model-rollback"
    ),
    path(
        "models/<int:pk>/promote",
        learning.ModelVersionViewSet.as_view({"post": "promote"}),
        name="model-promote",
    ),
    path(
        "reply-models/rollback",
        reply_models.ReplyModelViewSet.as_view({"post": "rollback"}),
        name="reply-model-rollback",
    ),
    path(
        "reply-models/<int:pk>/promote",
        reply_models.ReplyModelViewSet.as_view({"post": "promote"}),
        name="reply-model-promote",
    ),
    path("feedback/preferences", learning.PreferenceView.as_view(), name="feedback-preferences"),
    path("", include(router.urls)),
]
