"""A fake Reddit OAuth API: the application-only token endpoint and the listings, in Reddit's wire
format.

``POST /api/v1/access_token`` wants HTTP Basic ``client_id:client_secret`` and
``grant_type=client_credentials`` (401 otherwise, as Reddit answers). Listings
(``/r/{sub}/new``, ``/r/{sub}/comments``, ``/r/{sub}/search``, ``/search``) want
``Authorization: bearer <token>``, are served newest first in ``Listing`` envelopes, page through
``after`` (the fullname of the last child; an unknown one yields an empty listing, as on Reddit),
honour ``limit`` (1..100) and stamp ``X-Ratelimit-Used/Remaining/Reset`` on every answer.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.ingestion.servers.harness import FakeApi, Request, Response

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
TOKEN = "test-reddit-token"
WINDOW = 600  # seconds: Reddit's rate-limit window
BASE_TIME = 1_795_000_000.0  # 2026-11-18T...Z


def make_post(
    pid: str, title: str, *, sub: str = "acme", selftext: str = "", age: int = 0, score: int = 1
) -> dict[str, Any]:
    return {
        "kind": "t3",
        "data": {
            "id": pid,
            "name": f"t3_{pid}",
            "title": title,
            "selftext": selftext,
            "author": f"user_{pid}",
            "author_fullname": f"t2_{pid}",
            "subreddit": sub,
            "subreddit_name_prefixed": f"r/{sub}",
            "created_utc": BASE_TIME - age,
            "score": score,
            "ups": max(score, 0),
            "num_comments": 0,
            "upvote_ratio": 0.9,
            "permalink": f"/r/{sub}/comments/{pid}/slug/",
            "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/slug/",
            "over_18": False,
            "is_self": True,
        },
    }


def make_comment(
    cid: str, body: str, *, parent: str, link: str, sub: str = "acme", age: int = 0
) -> dict[str, Any]:
    return {
        "kind": "t1",
        "data": {
            "id": cid,
            "name": f"t1_{cid}",
            "body": body,
            "author": f"user_{cid}",
            "author_fullname": f"t2_{cid}",
            "subreddit": sub,
            "created_utc": BASE_TIME - age,
            "score": 2,
            "parent_id": parent,
            "link_id": link,
            "link_title": "A thread",
            "permalink": f"/r/{sub}/comments/{link[3:]}/slug/{cid}/",
        },
    }


class RedditApi(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.things: list[Any] = []  # any JSON: tests add malformed children too
        self.used = 0
        self.remaining = 600.0
        self.tokens_issued = 0

    def add(self, *things: Any) -> None:
        self.things.extend(things)
        self.things.sort(key=_created, reverse=True)

    def rate_headers(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Used": str(self.used),
            "X-Ratelimit-Remaining": f"{self.remaining:.1f}",
            "X-Ratelimit-Reset": "412",
        }

    def handle(self, request: Request) -> Response:
        if request.path == "/api/v1/access_token":
            return self._token(request)
        if request.headers.get("authorization") != f"bearer {TOKEN}":
            return Response.json({"message": "Unauthorized", "error": 401}, 401)
        self.used += 1
        self.remaining = max(0.0, self.remaining - 1)
        parts = request.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "r":
            sub, what = parts[1], parts[2]
        elif parts == ["search"]:
            sub, what = None, "search"
        else:
            return Response.json({"message": "Not Found", "error": 404}, 404)
        query = request.query
        if what not in ("new", "comments", "search") or query.get("raw_json") != "1":
            return Response.json({"message": "Not Found", "error": 404}, 404)
        limit = int(query.get("limit", "25"))
        if not 1 <= limit <= 100:
            return Response.json({"message": "Bad Request", "error": 400}, 400)
        wanted = "t1" if what == "comments" else "t3"
        pool = [t for t in self.things if not isinstance(t, dict) or t.get("kind") in (wanted, None, "bogus")]
        if sub is not None and (what != "search" or query.get("restrict_sr") == "1"):
            pool = [t for t in pool if _sub(t) in (sub, None)]
        if what == "search":
            words = query.get("q", "").lower().split()
            pool = [t for t in pool if all(w in _text(t) for w in words)]
        start = 0
        if query.get("after"):
            names = [_name(t) for t in pool]
            if query["after"] not in names:
                pool, start = [], 0
            else:
                start = names.index(query["after"]) + 1
        window = pool[start : start + limit]
        after = _name(window[-1]) if window and start + limit < len(pool) else None
        body = {
            "kind": "Listing",
            "data": {"after": after, "before": None, "dist": len(window), "modhash": "", "children": window},
        }
        return Response.json(body, 200, self.rate_headers())

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.method != "POST" or request.headers.get("authorization") != f"Basic {expected}":
            return Response.json({"message": "Unauthorized", "error": 401}, 401)
        if request.form.get("grant_type") != "client_credentials":
            return Response.json({"error": "unsupported_grant_type"}, 200)
        self.tokens_issued += 1
        return Response.json(
            {"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )


def _data(thing: Any) -> dict[str, Any]:
    if isinstance(thing, dict) and isinstance(thing.get("data"), dict):
        return thing["data"]
    return {}


def _created(thing: Any) -> float:
    value = _data(thing).get("created_utc")
    return float(value) if isinstance(value, int | float) else 0.0


def _name(thing: Any) -> str:
    return str(_data(thing).get("name", ""))


def _sub(thing: Any) -> str | None:
    value = _data(thing).get("subreddit")
    return value if isinstance(value, str) else None


def _text(thing: Any) -> str:
    data = _data(thing)
    return f"{data.get('title', '')} {data.get('selftext', '')}".lower()
