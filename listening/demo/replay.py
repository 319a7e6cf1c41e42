"""The demo's Reddit-style and news-feed sources, replayed through their real connectors.

The demo corpus has no network to pull from, so a small HTTP server on 127.0.0.1 (an ephemeral
port, for the length of the replay) speaks the two wire formats over generated content: Reddit's
application-only token endpoint and search listing (``Listing`` envelopes paged by ``after``,
``X-Ratelimit-*`` headers), and an RSS 2.0 feed with ``ETag``. ``do_replay_demo_sources`` points the
demo's ``reddit`` and ``rss`` sources at it and runs ``ingestion.services.do_pull_source`` on each,
so the mentions take the same path as a real pull (connector, cleaning, loader) and arrive with
their channels (``r/CampingGear``, ``gearjournal.example``...). Afterwards the sources are left
inactive: nothing is listening on that port any more, and beat must not pull them.

Content is deterministic for a given ``now`` (its own random generator, so the push corpus is
unchanged) and external ids are stable: replaying twice stores nothing twice.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from listening.demo.corpus import COMPETITORS, OWN, PRODUCTS, DemoAuthor, _authors, _opinion, _when
from listening.mentions.models import Source

CLIENT_ID = "demo-reddit-app"
CLIENT_SECRET = "demo-reddit-secret"  # the replay server's own, not a real Reddit app  # noqa: S105
SUBREDDITS = ("CampingGear", "hiking", "Ultralight")
SITE = "gearjournal.example"
HEADLINES = {
    "positive": [
        "{brand} {product} wins our autumn field test",
        "Hands on: the {product} is {brand}'s best yet",
        "Why hikers keep buying the {brand} {product}",
    ],
    "negative": [
        "{brand} faces complaints over the {product}",
        "Long-term test: the {brand} {product} falls short",
        "Owners report problems with the {brand} {product}",
    ],
    "neutral": [
        "{brand} updates the {product} for next season",
        "Buyer's guide: where the {brand} {product} fits",
        "{brand} opens a repair service for the {product}",
    ],
}


def reddit_posts(now: datetime, *, days: int = 45, seed: int = 11) -> list[dict[str, Any]]:
    """Reddit ``t3`` things, newest first, as the listing serves them."""
    rng = random.Random(seed)
    authors = _authors(rng, 80)
    things: list[dict[str, Any]] = []
    for index in range(days * 6):
        author: DemoAuthor = rng.choice(authors)
        brand = author.loyal_to if rng.random() < 0.7 else rng.choice([OWN, *COMPETITORS])
        sentiment = rng.choices(["positive", "neutral", "negative"], weights=(0.45, 0.3, 0.25))[0]
        body = _opinion(rng, author, brand, sentiment)
        sub = rng.choice(SUBREDDITS)
        pid = f"nw{index:04d}"
        score = int(rng.paretovariate(1.4) * 4) - rng.randint(0, 3)
        things.append(
            {
                "kind": "t3",
                "data": {
                    "id": pid,
                    "name": f"t3_{pid}",
                    "title": f"{rng.choice(PRODUCTS[brand])}: thoughts?",
                    "selftext": body,
                    "author": author.handle,
                    "author_fullname": f"t2_{author.id}",
                    "subreddit": sub,
                    "created_utc": _when(rng, now - timedelta(days=days), now).timestamp(),
                    "score": score,
                    "num_comments": rng.randint(0, 40),
                    "upvote_ratio": round(rng.uniform(0.6, 1.0), 2),
                    "permalink": f"/r/{sub}/comments/{pid}/thoughts/",
                    "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/thoughts/",
                    "over_18": False,
                },
            }
        )
    things.sort(key=lambda t: t["data"]["created_utc"], reverse=True)
    return things


def news_items(now: datetime, *, days: int = 45, seed: int = 13) -> list[dict[str, Any]]:
    """Articles of one gear-news site, newest first."""
    rng = random.Random(seed)
    authors = _authors(rng, 20)
    articles: list[dict[str, Any]] = []
    for index in range(days):
        brand = rng.choice([OWN, OWN, *COMPETITORS])
        sentiment = rng.choices(["positive", "neutral", "negative"], weights=(0.4, 0.35, 0.25))[0]
        product = rng.choice(PRODUCTS[brand])
        paragraphs = [_opinion(rng, rng.choice(authors), brand, sentiment) for _ in range(2)]
        articles.append(
            {
                "guid": f"https://{SITE}/articles/{index:04d}",
                "title": rng.choice(HEADLINES[sentiment]).format(brand=brand, product=product),
                "html": "".join(f"<p>{escape(p)}</p>" for p in paragraphs),
                "published": _when(rng, now - timedelta(days=days), now),
                "author": rng.choice(authors).name,
            }
        )
    articles.sort(key=lambda a: a["published"], reverse=True)
    return articles


def _rss(articles: list[dict[str, Any]]) -> bytes:
    items = "".join(
        f"<item><title>{escape(a['title'])}</title><link>{a['guid']}</link>"
        f"<guid isPermaLink='true'>{a['guid']}</guid>"
        f"<pubDate>{format_datetime(a['published'], usegmt=True)}</pubDate>"
        f"<dc:creator>{escape(a['author'])}</dc:creator>"
        f"<description>{escape(a['html'])}</description></item>"
        for a in articles
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        f"<channel><title>Gear Journal</title><link>https://{SITE}/</link><description>Outdoor gear news"
        f"</description>{items}</channel></rss>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    posts: list[dict[str, Any]] = []
    feed: bytes = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        self._send(
            200, json.dumps({"access_token": "demo-token", "token_type": "bearer", "expires_in": 86400})
        )

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/feed.xml":
            self._send(200, self.feed, "application/rss+xml; charset=utf-8", {"ETag": '"demo"'})
            return
        if parts.path != "/search":
            self._send(404, json.dumps({"message": "Not Found", "error": 404}))
            return
        names = [t["data"]["name"] for t in self.posts]
        start = names.index(query["after"]) + 1 if query.get("after") in names else 0
        limit = min(100, int(query.get("limit", "25")))
        window = self.posts[start : start + limit]
        after = window[-1]["data"]["name"] if window and start + limit < len(self.posts) else None
        listing = {"kind": "Listing", "data": {"after": after, "dist": len(window), "children": window}}
        rate = {"X-Ratelimit-Used": "1", "X-Ratelimit-Remaining": "599.0", "X-Ratelimit-Reset": "600"}
        self._send(200, json.dumps(listing), headers=rate)

    def _send(
        self,
        status: int,
        body: str | bytes,
        kind: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", kind)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(now: datetime) -> Iterator[str]:
    """A replay server for ``now``'s content; yields its base URL."""
    handler = type("DemoHandler", (_Handler,), {"posts": reddit_posts(now), "feed": _rss(news_items(now))})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def do_replay_demo_sources(reddit: Source, feed: Source, now: datetime) -> dict[str, int]:
    """Pull the demo's Reddit and feed sources from the replay server; stored counts by source."""
    from ingestion.services import do_pull_source

    stored: dict[str, int] = {}
    with serving(now) as base_url:
        reddit.config = {
            "query": "northwind OR summit OR trailpeak",
            "base_url": base_url,
            "auth_url": base_url,
        }
        reddit.credentials = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        feed.config = {"url": f"{base_url}/feed.xml"}
        for source in (reddit, feed):
            # A fresh cursor each time: the replay's content is regenerated, ids are stable.
            source.cursor = {}
            source.is_active = True
            source.save()
            result = do_pull_source(source.pk, max_pages=50)
            if result.error:
                raise RuntimeError(f"demo replay of {source.name} failed: {result.error}")
            stored[source.name] = result.stored
    # Nothing serves that port any more: keep beat from pulling it.
    Source.objects.filter(pk__in=[reddit.pk, feed.pk]).update(is_active=False)
    return stored
