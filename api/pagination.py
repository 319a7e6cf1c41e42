from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from listening.mentions.models import Mention
from listening.mentions.queries import LINK_ORDERING


class TimeCursorPagination(CursorPagination):
    """Newest first, stable under inserts; ``page_size`` is clamped to ``API_MAX_PAGE_SIZE``."""

    ordering: tuple[str, ...] = ("-published_at", "-id")
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        # Read per request (not at import) so the settings apply without a code reload.
        self.page_size = int(settings.API_PAGE_SIZE)
        self.max_page_size = int(settings.API_MAX_PAGE_SIZE)


class IdCursorPagination(TimeCursorPagination):
    ordering = ("-id",)


class MentionCursorPagination(TimeCursorPagination):
    """Mentions newest first. A brand's or campaign's list pages through its links instead (rows of
    ``listening.mentions.queries.page_links``), in the same order, so a cursor means the same
    position on either path."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any = None) -> tuple[str, ...]:
        if queryset.model is not Mention:
            return LINK_ORDERING
        return super().get_ordering(request, queryset, view)
