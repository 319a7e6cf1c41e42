"""X API v2 recent search as a pull connector.

Config: ``query`` (X search syntax, required), ``max_results`` (10..100, default 100),
``base_url`` (default ``https://api.x.com``), ``brand_handle`` (optional: the brand's own
account; its posts are the "agent" side of conversations, others' "customer").
Credentials: ``bearer_token`` (an app-only token).

Cursor: a sweep walks from the newest matching post back to ``since_id`` (exclusive) through
``next_token``; X returns the newest page first, so the first page's ``meta.newest_id`` is the
newest post of the sweep. While a sweep is under way the cursor is
``{"since_id": S, "next_token": T, "newest_id": N}``; once it is exhausted it becomes
``{"since_id": N}``, so the next pull asks only for what is newer. A source's first sweep (no
cursor) reaches as far back as recent search does (7 days).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from ingestion.connectors.base import Connector, ItemKind, Page, convert_items
from ingestion.connectors.wire import BaseUrl, SettingsModel, Token
from ingestion.connectors.x.client import XClient
from ingestion.connectors.x.parse import index_users, tweet_to_item

TweetId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class XConfig(SettingsModel):
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]
    max_results: int = Field(default=100, ge=10, le=100)
    base_url: BaseUrl = "https://api.x.com"
    # The brand's own account (without "@"): its posts get author_role "agent".
    brand_handle: Annotated[str, StringConstraints(pattern=r"^@?[A-Za-z0-9_]{1,15}$")] | None = None


class XCredentials(SettingsModel):
    bearer_token: Token


class XCursor(SettingsModel):
    since_id: TweetId | None = None
    next_token: str | None = None
    newest_id: TweetId | None = None


class XRecentSearchConnector(Connector[XConfig, XCredentials]):
    kind: ClassVar[ItemKind] = ItemKind.SOCIAL
    name: ClassVar[str] = "x_recent_search"
    title: ClassVar[str] = "X recent search"
    credentials_help: ClassVar[str] = (
        "Check the source's bearer token: it must be a valid app-only token of a project with "
        "access to the v2 recent search endpoint."
    )
    config_model = XConfig
    credentials_model = XCredentials

    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        config, credentials = self.settings()
        state = self.load_cursor(XCursor, cursor)
        client = XClient(self.get_json, base_url=config.base_url, bearer_token=credentials.bearer_token)
        result = client.search_recent(
            query=config.query,
            max_results=config.max_results,
            since_id=state.since_id,
            next_token=state.next_token,
        )
        meta = result.envelope.meta
        users = index_users(result.envelope.includes.users)
        handle = config.brand_handle.lstrip("@") if config.brand_handle else None
        items, skipped = convert_items(
            result.envelope.data, lambda obj: tweet_to_item(obj, users, brand_handle=handle)
        )

        # The first page of a sweep carries its newest id; later pages keep the one remembered.
        newest_id = state.newest_id if state.next_token else meta.newest_id
        if meta.next_token:
            next_cursor: dict[str, Any] = {
                "since_id": state.since_id,
                "next_token": meta.next_token,
                "newest_id": newest_id,
            }
            exhausted = False
        else:
            next_cursor = {"since_id": newest_id or state.since_id}
            exhausted = True
        return Page(
            items=items,
            next_cursor=next_cursor,
            exhausted=exhausted,
            rate_limit=result.rate_limit,
            skipped=skipped,
        )
