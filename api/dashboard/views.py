"""Page shells of the dashboard. They read nothing from the database: every figure on a page comes
from the public API, fetched by the page's own script with the analyst's API key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from listening.reports.palette import DASHES, MARKERS, OKABE_ITO, SENTIMENT_COLOURS
from models.labels import SUPPORT_INTENTS


@dataclass(frozen=True)
class Page:
    slug: str  # the template name and the URL name
    path: str
    title: str


PAGES = [
    Page("overview", "", "Overview"),
    Page("campaigns", "campaigns/", "Campaigns"),
    Page("competitors", "competitors/", "Competitors"),
    Page("audiences", "audiences/", "Audiences"),
    Page("mentions", "mentions/", "Mentions"),
    Page("models", "models/", "Models"),
    Page("alerts", "alerts/", "Alerts and webhooks"),
    Page("reports", "reports/", "Reports"),
]
LOGIN = Page("login", "login/", "Log in")

# The reports' palette, so a brand has the same colour in a PDF and on screen.
PALETTE = {
    "series": OKABE_ITO,
    "markers": MARKERS,
    "dashes": DASHES,
    "sentiment": SENTIMENT_COLOURS,
}


def _render(request: HttpRequest, page: Page) -> HttpResponse:
    response = render(
        request,
        f"dashboard/{page.slug}.html",
        {"page": page, "pages": PAGES, "palette": PALETTE, "intents": SUPPORT_INTENTS},
    )
    # The shell holds no data, but a shared machine's back button must not show a logged-out tab.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def page_view(page: Page) -> Callable[[HttpRequest], HttpResponse]:
    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        return _render(request, page)

    view.__name__ = f"dashboard_{page.slug}"
    return view
