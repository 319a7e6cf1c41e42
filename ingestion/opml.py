"""OPML subscription lists (what feed readers export) into feed references. Pure: bytes in.

OPML 1.0/2.0: ``<opml><body><outline text="..." type="rss" xmlUrl="https://..."/>...`` with
outlines nested in folders to any depth. Every outline with an ``xmlUrl`` is a feed; a folder's
``text`` is kept as its category. A DOCTYPE is refused (no entity tricks), the file is capped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_BYTES = 2 * 1024 * 1024
MAX_FEEDS = 500


class OpmlError(ValueError):
    """The file is not a usable OPML subscription list; the message says why."""


@dataclass(frozen=True)
class FeedRef:
    url: str
    title: str
    category: str = ""


def parse_opml(data: bytes) -> list[FeedRef]:
    """The feeds of an OPML document, in document order, each URL once (``OpmlError`` otherwise)."""
    if len(data) > MAX_BYTES:
        raise OpmlError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise OpmlError("DOCTYPE and entity declarations are not accepted in OPML")
    try:
        root = ET.fromstring(data)  # noqa: S314 (see the import)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root.tag != "opml" or root.find("body") is None:
        raise OpmlError("not an OPML document (no <opml><body>)")
    feeds: list[FeedRef] = []
    seen: set[str] = set()
    problems: list[str] = []

    def walk(node: ET.Element, category: str) -> None:
        for outline in node.findall("outline"):
            label = (outline.get("title") or outline.get("text") or "").strip()
            url = (outline.get("xmlUrl") or "").strip()
            if url:
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    problems.append(f"{label or url[:60]!r}: xmlUrl is not an http(s) URL")
                elif url not in seen:
                    seen.add(url)
                    feeds.append(FeedRef(url=url, title=(label or parts.hostname)[:200], category=category))
            walk(outline, label if not url else category)

    walk(root.find("body"), "")  # type: ignore[arg-type]
    if problems:
        raise OpmlError(
            "; ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")
        )
    if not feeds:
        raise OpmlError("the OPML lists no feeds (no outline has an xmlUrl)")
    if len(feeds) > MAX_FEEDS:
        raise OpmlError(f"the OPML lists {len(feeds)} feeds; at most {MAX_FEEDS} at a time")
    return feeds
