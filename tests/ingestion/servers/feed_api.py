"""A fake news site serving an RSS 2.0 feed and an Atom 1.0 feed, with HTTP validators.

``GET /rss.xml`` and ``GET /atom.xml`` answer the feed with ``ETag`` and ``Last-Modified``; a
request whose ``If-None-Match`` equals the current ETag (or, without one, whose
``If-Modified-Since`` is not older than the last change) gets ``304 Not Modified`` and no body,
as RFC 9110 says. Adding an entry changes both validators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from xml.sax.saxutils import escape

from tests.ingestion.servers.harness import FakeApi, Request, Response

CHANGED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class Entry:
    guid: str
    title: str
    html: str
    published: datetime | None
    link: str = ""
    author: str = "Staff writer"
    tags: list[str] = field(default_factory=list)


def make_entry(n: int, title: str, html: str = "", *, hours_ago: int = 0) -> Entry:
    return Entry(
        guid=f"https://news.example.com/a/{n}",
        title=title,
        html=html or f"<p>Story {n}.</p><p>Second <b>paragraph</b> &amp; more.</p>",
        published=CHANGED - timedelta(hours=hours_ago),
        link=f"https://news.example.com/a/{n}",
    )


class FeedSite(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        self.version = 0
        self.changed = CHANGED

    def add(self, *entries: Entry) -> None:
        self.entries[:0] = entries
        self.version += 1
        self.changed += timedelta(minutes=1)

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'

    def handle(self, request: Request) -> Response:
        validators = {"ETag": self.etag, "Last-Modified": format_datetime(self.changed, usegmt=True)}
        if request.path not in ("/rss.xml", "/atom.xml"):
            return Response(404, b"<html>Not found</html>", {"Content-Type": "text/html"})
        if_none_match = request.headers.get("if-none-match")
        since = request.headers.get("if-modified-since")
        if if_none_match is not None:
            if if_none_match == self.etag:
                return Response(304, b"", validators)
        elif since and parsedate_to_datetime(since) >= self.changed.replace(microsecond=0):
            return Response(304, b"", validators)
        if request.path == "/rss.xml":
            return Response(
                200, self.rss().encode(), {"Content-Type": "application/rss+xml; charset=utf-8", **validators}
            )
        return Response(
            200, self.atom().encode(), {"Content-Type": "application/atom+xml; charset=utf-8", **validators}
        )

    def rss(self) -> str:
        items = []
        for e in self.entries:
            date = f"<pubDate>{format_datetime(e.published, usegmt=True)}</pubDate>" if e.published else ""
            permalink = "true" if e.guid.startswith("https://") else "false"
            guid = f"<guid isPermaLink='{permalink}'>{escape(e.guid)}</guid>" if e.guid else ""
            link = f"<link>{escape(e.link)}</link>" if e.link else ""
            cats = "".join(f"<category>{escape(t)}</category>" for t in e.tags)
            items.append(
                f"<item><title>{escape(e.title)}</title>{link}{guid}{date}<dc:creator>{escape(e.author)}</dc:creator>"
                f"{cats}<description>{escape(e.html)}</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Example News</title>'
            "<link>https://www.news.example.com/</link><description>News</description>"
            + "".join(items)
            + "</channel></rss>"
        )

    def atom(self) -> str:
        entries = []
        for e in self.entries:
            stamp = (e.published or CHANGED).isoformat().replace("+00:00", "Z")
            published = f"<published>{stamp}</published>" if e.published else ""
            entries.append(
                f"<entry><id>{escape(e.guid)}</id><title>{escape(e.title)}</title>"
                f"<link rel='alternate' href='{escape(e.link)}'/>{published}<updated>{stamp}</updated>"
                f"<author><name>{escape(e.author)}</name></author>"
                f"<content type='html'>{escape(e.html)}</content></entry>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>Example Blog</title><link href='https://blog.example.org/'/>"
            "<id>urn:example:blog</id><updated>2026-11-20T12:00:00Z</updated>" + "".join(entries) + "</feed>"
        )
