"""Product reviews from a Trustpilot-style business-units API as a pull connector.

Config: ``business_unit_id`` (required), ``per_page`` (1..100, default 100), ``language``
(optional ISO 639-1 filter), ``start`` (optional ISO 8601 timestamp: the first sweep starts there;
by default it reads the whole history), ``base_url`` (default ``https://api.trustpilot.com``).
Credentials: ``api_key``.

Cursor: a sweep reads reviews oldest first (``orderBy=createdat.asc``) from ``start`` (inclusive),
page by page: ``{"start": S, "page": P, "high_water": H}`` where H is the newest ``createdAt``
seen so far in the sweep. Oldest-first keeps page numbers stable while new reviews arrive (they
land at the end). When the last page is read the cursor becomes ``{"start": H, "page": 1}``: the
next sweep re-reads the reviews stamped exactly H (the filter is inclusive) and storage, which is
idempotent on the review id, drops them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from ingestion.connectors.base import Connector, ItemKind, Page, convert_items
from ingestion.connectors.trustpilot.client import TrustpilotClient
from ingestion.connectors.trustpilot.parse import review_to_item
from ingestion.connectors.wire import BaseUrl, SettingsModel, Token, UtcDatetime, iso_utc


class TrustpilotConfig(SettingsModel):
    business_unit_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    per_page: int = Field(default=100, ge=1, le=100)
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] | None = None
    start: UtcDatetime | None = None
    base_url: BaseUrl = "https://api.trustpilot.com"


class TrustpilotCredentials(SettingsModel):
    api_key: Token


class TrustpilotCursor(SettingsModel):
    start: UtcDatetime | None = None
    page: int = Field(default=1, ge=1)
    high_water: UtcDatetime | None = None


class TrustpilotReviewsConnector(Connector[TrustpilotConfig, TrustpilotCredentials]):
    kind: ClassVar[ItemKind] = ItemKind.REVIEW
    name: ClassVar[str] = "trustpilot_reviews"
    title: ClassVar[str] = "Reviews API"
    credentials_help: ClassVar[str] = (
        "Check the source's API key: it must be an active key of the application that has access "
        "to this business unit."
    )
    config_model = TrustpilotConfig
    credentials_model = TrustpilotCredentials

    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        config, credentials = self.settings()
        state = self.load_cursor(TrustpilotCursor, cursor) if cursor else TrustpilotCursor(start=config.start)
        client = TrustpilotClient(
            self.get_json,
            base_url=config.base_url,
            business_unit_id=config.business_unit_id,
            api_key=credentials.api_key,
        )
        result = client.reviews(
            page=state.page, per_page=config.per_page, start=state.start, language=config.language
        )
        items, skipped = convert_items(result.envelope.reviews, review_to_item)

        high_water = max(
            (t for t in [state.high_water, *(item.published_at for item in items)] if t is not None),
            default=None,
        )
        # An empty page ends the sweep even if a next link is (wrongly) there: no endless paging.
        if result.envelope.has_next_page and result.envelope.reviews:
            next_cursor: dict[str, Any] = {
                "start": iso_utc(state.start),
                "page": state.page + 1,
                "high_water": iso_utc(high_water),
            }
            exhausted = False
        else:
            next_cursor = {"start": iso_utc(high_water or state.start), "page": 1}
            exhausted = True
        return Page(
            items=items,
            next_cursor=next_cursor,
            exhausted=exhausted,
            rate_limit=result.rate_limit,
            skipped=skipped,
        )
