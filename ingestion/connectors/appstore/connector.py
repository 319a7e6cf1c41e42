"""Apple App Store reviews of one app in one territory as a pull connector.

Config: ``app_id`` (the numeric id of ``apps.apple.com/.../id<app_id>``), ``country`` (ISO 3166-1
alpha-2 territory, default ``us``), ``app_name`` (optional, for the channel: "Acme (US)"),
``base_url`` (default ``https://itunes.apple.com``). No credentials: the feed is public.

Cursor: reviews come newest first, 10 pages at most. A sweep reads pages 1, 2, ... until a page
holds a review no newer than ``since`` (the newest review of the sweep before), a page is empty,
or page 10 is read: ``{"since": S, "page": P, "sweep_newest": N}`` while under way, ``{"since": N}``
once done. Reviews at the seam come again and storage (idempotent on the review id) drops them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from ingestion.connectors.appstore.client import MAX_PAGE, AppStoreClient
from ingestion.connectors.appstore.parse import entry_to_item, is_app_entry
from ingestion.connectors.base import Connector, ItemKind, Page, convert_items, sweep_cursor
from ingestion.connectors.wire import BaseUrl, SettingsModel, UtcDatetime, iso_utc


class AppStoreConfig(SettingsModel):
    app_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]
    country: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "us"
    app_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = (
        None
    )
    base_url: BaseUrl = "https://itunes.apple.com"


class AppStoreCredentials(SettingsModel):
    """The feed is public."""


class AppStoreCursor(SettingsModel):
    since: UtcDatetime | None = None
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    sweep_newest: UtcDatetime | None = None


class AppStoreReviewsConnector(Connector[AppStoreConfig, AppStoreCredentials]):
    kind: ClassVar[ItemKind] = ItemKind.REVIEW
    name: ClassVar[str] = "app_store_reviews"
    title: ClassVar[str] = "App Store reviews"
    credentials_help: ClassVar[str] = "The feed is public: Apple refused it, try again later."
    config_model = AppStoreConfig
    credentials_model = AppStoreCredentials

    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        config, _ = self.settings()
        state = self.load_cursor(AppStoreCursor, cursor)
        client = AppStoreClient(
            self.get_json, base_url=config.base_url, app_id=config.app_id, country=config.country
        )
        result = client.reviews(state.page)
        channel = f"{config.app_name or 'id' + config.app_id} ({config.country.upper()})"
        reviews = [obj for obj in result.entries if not is_app_entry(obj)]
        items, skipped = convert_items(
            reviews,
            lambda obj: entry_to_item(obj, app_id=config.app_id, country=config.country, channel=channel),
        )
        next_cursor, exhausted = sweep_cursor(
            [item.published_at for item in items],
            since=state.since,
            sweep_newest=state.sweep_newest,
            first_page=state.page == 1,
            more={"page": state.page + 1} if reviews and state.page < MAX_PAGE else None,
            encode=iso_utc,
        )
        return Page(
            items=items,
            next_cursor=next_cursor,
            exhausted=exhausted,
            rate_limit=result.rate_limit,
            skipped=skipped,
        )
