from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", include("api.urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[], throttle_classes=[]),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[], throttle_classes=[]
        ),
        name="docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[], throttle_classes=[]
        ),
        name="redoc",
    ),
    path("", include("django_prometheus.urls")),  # /metrics
    # The reference dashboard at / (its pages call the public API above with the analyst's key).
    path("", include("api.dashboard.urls")),
]

handler400 = "api.fallbacks.bad_request"
handler404 = "api.fallbacks.not_found"
handler500 = "api.fallbacks.server_error"
