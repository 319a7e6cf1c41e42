"""Reddit subreddit listings and search as a pull connector.

Config: ``subreddit`` (a name without ``r/``) and/or ``query`` (Reddit search syntax; with a
subreddit the search is restricted to it); ``listing``: ``"posts"`` (default) or ``"comments"``
(a subreddit's newest comments, with their thread structure; not with ``query``); ``limit``
(1..100, default 100); ``base_url`` (default ``https://oauth.reddit.com``) and ``auth_url``
(default ``https://www.reddit.com``, where the token is asked for). Credentials: ``client_id`` and
``client_secret`` of a Reddit app (application-only OAuth, no user account involved).

Cursor: listings come newest first and page backwards through ``after``. A sweep starts at the
newest item and walks back until it meets an item no newer than ``since`` (the newest item of the
sweep before) or the listing ends: ``{"since": S, "after": A, "sweep_newest": N}`` while under way,
``{"since": N}`` once done. Items met again at the seam are re-stored as duplicates (storage is
idempotent on the fullname), so nothing between two sweeps is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from ingestion.connectors.base import Connector, ItemKind, Page, convert_items, sweep_cursor
from ingestion.connectors.reddit.client import TOKEN_PATH, RedditClient
from ingestion.connectors.reddit.parse import Fullname, created_at, thing_to_item
from ingestion.connectors.wire import BaseUrl, SettingsModel, Token

SearchQuery = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]


class RedditConfig(SettingsModel):
    subreddit: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{2,21}$")] | None = None
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)] | None = (
        None
    )
    listing: Literal["posts", "comments"] = "posts"
    limit: int = Field(default=100, ge=1, le=100)
    base_url: BaseUrl = "https://oauth.reddit.com"
    auth_url: BaseUrl = "https://www.reddit.com"

    @model_validator(mode="after")
    def _what_to_read(self) -> Self:
        if not self.subreddit and not self.query:
            raise ValueError("name a subreddit, a query, or both")
        if self.query and self.listing == "comments":
            raise ValueError("Reddit search finds posts only: use listing 'posts' with a query")
        return self


class RedditCredentials(SettingsModel):
    client_id: Token
    client_secret: Token


class RedditCursor(SettingsModel):
    since: float | None = Field(default=None, ge=0)
    after: Fullname | None = None
    sweep_newest: float | None = Field(default=None, ge=0)


class RedditConnector(Connector[RedditConfig, RedditCredentials]):
    kind: ClassVar[ItemKind] = ItemKind.SOCIAL
    name: ClassVar[str] = "reddit"
    title: ClassVar[str] = "Reddit"
    credentials_help: ClassVar[str] = (
        "Check the source's client id and secret: they must be those of a Reddit app "
        "(https://www.reddit.com/prefs/apps) allowed to use the API."
    )
    config_model = RedditConfig
    credentials_model = RedditCredentials

    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        config, credentials = self.settings()
        state = self.load_cursor(RedditCursor, cursor)
        client = RedditClient(
            self.get_json,
            lambda: self.access_token(
                config.auth_url + TOKEN_PATH,
                data={"grant_type": "client_credentials"},
                auth=(credentials.client_id, credentials.client_secret),
                api="Reddit's token endpoint",
            ),
            base_url=config.base_url,
        )
        what: Literal["new", "comments", "search"] = (
            "search" if config.query else ("comments" if config.listing == "comments" else "new")
        )
        result = client.listing(
            subreddit=config.subreddit, what=what, query=config.query, limit=config.limit, after=state.after
        )
        children = result.listing.children
        items, skipped = convert_items(children, thing_to_item)

        next_cursor, exhausted = sweep_cursor(
            [t for t in (created_at(child) for child in children) if t is not None],
            since=state.since,
            sweep_newest=state.sweep_newest,
            first_page=not state.after,
            more={"after": result.listing.after} if result.listing.after and children else None,
        )
        return Page(
            items=items,
            next_cursor=next_cursor,
            exhausted=exhausted,
            rate_limit=result.rate_limit,
            skipped=skipped,
        )
