from __future__ import annotations

from django.urls import path

from api.dashboard.views import LOGIN, PAGES, page_view

app_name = "dashboard"
urlpatterns = [path(page.path, page_view(page), name=page.slug) for page in [*PAGES, LOGIN]]
