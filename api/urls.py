from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from api import analyze, learning, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("brands", views.BrandViewSet, basename="brand")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("sources", views.SourceViewSet, basename="source")
router.register("mentions", views.MentionViewSet, basename="mention")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("models", learning.ModelVersionViewSet, basename="model-version")
router.register("feedback", learning.FeedbackViewSet, basename="feedback")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("analyze", analyze.AnalyzeView.as_view(), name="analyze"),
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
    path("feedback/preferences", learning.PreferenceView.as_view(), name="feedback-preferences"),
    path("", include(router.urls)),
]
