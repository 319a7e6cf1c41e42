"""One conditional GET of a feed, parsed by ``feedparser``.

Request: ``GET <feed url>`` with ``If-None-Match: <etag>`` and ``If-Modified-Since: <date>`` from
the last answer (RFC 9110 section 13.1), so an unchanged feed costs a ``304 Not Modified`` and no
body. ``feedparser`` (the maintained parser of RSS 0.9x/1.0/2.0 and Atom 0.3/1.0) reads the body:
it copes with wrong encodings and common breakage, sanitises entry HTML and parses the dozen date
formats feeds use. It is handed our bytes, never the URL: the fetch goes through ``HttpClient``
(timeouts, retries, no redirects followed, size cap).

A body that is no feed at all (an HTML error page, truncated XML with no entries) is a
``MalformedPageError``: it is quarantined and the validators stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import feedparser

from ingestion.connectors.errors import MalformedPageError
from ingestion.connectors.http import HttpClient, RateLimitInfo

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, */*;q=0.1"
)


@dataclass(frozen=True)
class FeedResult:
    not_modified: bool
    etag: str | None
    modified: str | None
    entries: list[Any] = field(default_factory=list)  # feedparser entries (dict subclasses)
    site: str = ""  # the feed's own link (its website), "" when absent
    title: str = ""
    rate_limit: RateLimitInfo | None = None


def fetch_feed(http: HttpClient, url: str, *, etag: str | None, modified: str | None) -> FeedResult:
    headers = {"Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    response = http.get_raw(url, headers=headers)
    new_etag = response.headers.get("ETag") or etag
    new_modified = response.headers.get("Last-Modified") or modified
    if response.not_modified:
        return FeedResult(True, new_etag, new_modified, rate_limit=response.rate_limit)
    parsed = feedparser.parse(
        response.body,
        response_headers={
            "content-type": response.headers.get("Content-Type", ""),
            "content-location": url,  # relative links in entries resolve against the feed
        },
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        why = f": {str(reason)[:200]}" if reason else ""
        raise MalformedPageError(
            f"{response.url} did not answer an RSS or Atom feed{why}",
            body=response.body.decode("utf-8", "replace"),
            url=response.url,
        )
    feed = parsed.get("feed", {})
    return FeedResult(
        not_modified=False,
        etag=new_etag,
        modified=new_modified,
        entries=list(parsed.entries),
        site=str(feed.get("link", "") or ""),
        title=str(feed.get("title", "") or ""),
        rate_limit=response.rate_limit,
    )
