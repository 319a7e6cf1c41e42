"""An RSS or Atom feed as a pull connector: one feed is one Source.

Config: ``url`` (the feed; https, or http to a loopback address for tests and local proxies; a
query string is allowed, many feeds are ``?format=rss``), ``channel`` (optional: the facet value;
by default the host of the feed's website, e.g. ``example.com``). No credentials.

Cursor: ``{"etag": E, "modified": M}``, the validators of the last answer, sent back as
``If-None-Match`` / ``If-Modified-Since``. A feed is one page: every fetch is ``exhausted`` (the
next one comes one pull interval later). Entries already stored come again in the next fetch
and are dropped by storage (idempotent on the guid); an entry repeated inside one feed is kept once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

from ingestion.connectors.base import Connector, ItemKind, Page, convert_items
from ingestion.connectors.feeds.client import fetch_feed
from ingestion.connectors.feeds.parse import entry_to_item, site_of
from ingestion.connectors.wire import SettingsModel

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _check_feed_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("must not carry user info or a fragment")
    return value


FeedUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_check_feed_url)
]
Validator = Annotated[str, StringConstraints(max_length=512, pattern=r"^[\x20-\x7e]*$")]


class FeedConfig(SettingsModel):
    url: FeedUrl
    channel: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None


class FeedCredentials(SettingsModel):
    """A public feed needs none."""


class FeedCursor(SettingsModel):
    etag: Validator | None = None
    modified: Validator | None = None


class FeedConnector(Connector[FeedConfig, FeedCredentials]):
    kind: ClassVar[ItemKind] = ItemKind.NEWS
    name: ClassVar[str] = "rss"
    title: ClassVar[str] = "RSS/Atom feed"
    credentials_help: ClassVar[str] = "The feed asks for a login: only public feeds can be followed."
    config_model = FeedConfig
    credentials_model = FeedCredentials

    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        config, _ = self.settings()
        state = self.load_cursor(FeedCursor, cursor)
        with self.worded_auth_errors():
            result = fetch_feed(self.http, config.url, etag=state.etag, modified=state.modified)
        next_cursor = {"etag": result.etag, "modified": result.modified}
        if result.not_modified:
            return Page(items=[], next_cursor=next_cursor, exhausted=True, rate_limit=result.rate_limit)
        channel = config.channel or site_of(result.site) or site_of(config.url)
        fetched_at = self.http.clock.now()
        items, skipped = convert_items(
            result.entries, lambda entry: entry_to_item(entry, channel=channel, fetched_at=fetched_at)
        )
        seen: set[str] = set()
        unique = []
        for item in items:
            if item.external_id not in seen:
                seen.add(item.external_id)
                unique.append(item)
        return Page(
            items=unique,
            next_cursor=next_cursor,
            exhausted=True,
            rate_limit=result.rate_limit,
            skipped=skipped,
        )
