from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import CursorPagination


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
