"""Feed entries (as ``feedparser`` normalises RSS and Atom) into ``RawItem``.

``feedparser`` maps both formats onto one entry shape: ``id`` (RSS ``guid`` / Atom ``id``),
``link``, ``title``, ``summary`` (RSS ``description`` / Atom ``summary``), ``content`` (a list of
``{"type": "text/html", "value": ...}``: ``content:encoded`` / Atom ``content``), ``author``,
``published_parsed`` / ``updated_parsed`` (``time.struct_time`` in UTC), ``tags``.

The external id is the guid, else the link, else a hash of title and date (stable across fetches,
so a re-fetched entry is a duplicate, never a second mention); ids longer than the column are
hashed too. The text is the title, a blank line, and the longest of content and summary with its
HTML turned into plain paragraphs. The date is the published date, else the updated one, else the
fetch time (``extra["dated_by"]`` says which). The channel is the site's host (``example.com``).
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ingestion.cleaning.text import clean_display_text
from ingestion.connectors.base import Author, ItemKind, ItemRejected, RawItem

_ID_MAX = 255
# Block-level ends become line breaks before tags go: paragraphs stay paragraphs.
_BLOCK_END = re.compile(r"<(?:br\s*/?|/p|/div|/li|/h[1-6]|/blockquote|/tr)\b[^<>]{0,100}>", re.I)


def html_to_text(markup: str) -> str:
    return clean_display_text(_BLOCK_END.sub("\n", markup))


def site_of(url: str) -> str:
    """``https://www.example.com/feed`` → ``example.com`` (the channel of a feed's mentions)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _entry_id(entry: Mapping[str, Any], title: str, date: datetime | None) -> str:
    value = str(entry.get("id") or entry.get("link") or "").strip()
    if not value:
        if not title:
            raise ItemRejected("entry has no guid, no link and no title")
        value = f"{title}|{date.isoformat() if date else ''}"
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    if len(value) > _ID_MAX:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def _date(entry: Mapping[str, Any]) -> tuple[datetime | None, str]:
    for key, label in (("published_parsed", "published"), ("updated_parsed", "updated")):
        value = entry.get(key)
        if value is not None:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC), label
            except (TypeError, ValueError, OverflowError):
                continue
    return None, "fetched"


def entry_to_item(entry: Mapping[str, Any], *, channel: str, fetched_at: datetime) -> RawItem:
    if not isinstance(entry, Mapping):
        raise ItemRejected("entry is not an object")
    title = html_to_text(str(entry.get("title", "") or ""))
    bodies = [
        str(part.get("value", "")) for part in entry.get("content", []) or [] if isinstance(part, Mapping)
    ]
    bodies.append(str(entry.get("summary", "") or ""))
    body = html_to_text(max(bodies, key=len))
    if not title and not body:
        raise ItemRejected("entry has neither title nor text")
    text = body if not title or body.startswith(title) else f"{title}\n\n{body}" if body else title
    published, dated_by = _date(entry)
    link = str(entry.get("link", "") or "")
    return RawItem(
        external_id=_entry_id(entry, title, published),
        kind=ItemKind.NEWS,
        text=text,
        author=Author(name=str(entry.get("author", "") or "")[:200]),
        published_at=published or fetched_at,
        url=link if link.startswith(("https://", "http://")) else "",
        extra={
            "title": title,
            "dated_by": dated_by,
            "tags": [
                str(t.get("term"))
                for t in entry.get("tags", []) or []
                if isinstance(t, Mapping) and t.get("term")
            ],
        },
        channel=channel,
        raw={
            "id": entry.get("id"),
            "link": link,
            "title": entry.get("title"),
            "published": entry.get("published"),
        },
    )
