"""A fake X API v2 recent search (GET /2/tweets/search/recent) speaking its wire format.

Posts are kept newest first (X ids grow with time). The server honours ``since_id``, ``max_results``
(10..100, else 400 as X answers), ``next_token`` (opaque; an unknown one is a 400), returns only the
``tweet.fields``/``user.fields`` asked for, joins authors in ``includes.users`` when
``expansions=author_id``, and stamps ``x-rate-limit-*`` headers on every answer.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.ingestion.servers.harness import FakeApi, Request, Response

SEARCH_PATH = "/2/tweets/search/recent"
BEARER = "test-bearer-token"
RATE_LIMIT = 450


def make_user(user_id: str, username: str, name: str = "", followers: int = 10) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": username,
        "name": name or username.title(),
        "verified": False,
        "public_metrics": {
            "followers_count": followers,
            "following_count": 5,
            "tweet_count": 100,
            "listed_count": 1,
        },
    }


def make_tweet(
    tweet_id: int, text: str, author_id: str, *, minutes_ago: int = 0, likes: int = 0
) -> dict[str, Any]:
    created = datetime(2026, 11, 20, 12, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago)
    return {
        "id": str(tweet_id),
        "text": text,
        "edit_history_tweet_ids": [str(tweet_id)],
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "author_id": author_id,
        "lang": "en",
        "conversation_id": str(tweet_id),
        "public_metrics": {
            "retweet_count": 1,
            "reply_count": 2,
            "like_count": likes,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 100,
        },
        "entities": {"hashtags": [{"start": 0, "end": 5, "tag": "acme"}]},
    }


def _problem(status: int, title: str, detail: str, **more: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status, **more}


class XApi(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.tweets: list[Any] = []  # any JSON objects: tests add malformed ones too
        self.users: dict[str, dict[str, Any]] = {}
        self.remaining = RATE_LIMIT

    def add_user(self, user: dict[str, Any]) -> None:
        self.users[user["id"]] = user

    def add_tweets(self, *tweets: dict[str, Any]) -> None:
        self.tweets.extend(tweets)
        self.tweets.sort(key=lambda t: _numeric_id(t) or 0, reverse=True)

    def rate_headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(RATE_LIMIT),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }

    def handle(self, request: Request) -> Response:
        if request.path != SEARCH_PATH:
            return Response.json(_problem(404, "Not Found Error", f"Could not find {request.path}"), 404)
        if request.headers.get("authorization") != f"Bearer {BEARER}":
            return Response.json(_problem(401, "Unauthorized", "Unauthorized"), 401)
        self.remaining = max(0, self.remaining - 1)
        query = request.query
        error = self._invalid(query)
        if error:
            problem = {
                "errors": [{"parameters": {error[0]: [query.get(error[0], "")]}, "message": error[1]}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }
            return Response.json(problem, 400, self.rate_headers())

        max_results = int(query.get("max_results", "10"))
        since_id = int(query["since_id"]) if "since_id" in query else 0
        matching = [t for t in self.tweets if _newer_than(t, since_id)]
        offset = _decode_token(query["next_token"]) if "next_token" in query else 0
        window = matching[offset : offset + max_results]
        more = offset + max_results < len(matching)

        wanted = set(filter(None, query.get("tweet.fields", "").split(",")))
        data = [
            {k: v for k, v in t.items() if k in {"id", "text", "edit_history_tweet_ids"} | wanted}
            if isinstance(t, dict)
            else t
            for t in window
        ]
        meta: dict[str, Any] = {"result_count": len(window)}
        ids = [t["id"] for t in window if _numeric_id(t) is not None]
        if ids:
            meta["newest_id"], meta["oldest_id"] = ids[0], ids[-1]
        if more:
            meta["next_token"] = _encode_token(offset + max_results)
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
            if "author_id" in query.get("expansions", "").split(","):
                user_fields = set(filter(None, query.get("user.fields", "").split(",")))
                authors = {t.get("author_id") for t in window if isinstance(t, dict)}
                users = [
                    {k: v for k, v in self.users[a].items() if k in {"id", "name", "username"} | user_fields}
                    for a in sorted(a for a in authors if a in self.users)
                ]
                if users:
                    body["includes"] = {"users": users}
        return Response.json(body, 200, self.rate_headers())

    @staticmethod
    def _invalid(query: dict[str, str]) -> tuple[str, str] | None:
        if not query.get("query"):
            return "query", "The `query` query parameter can not be empty"
        raw = query.get("max_results", "10")
        if not raw.isdigit() or not 10 <= int(raw) <= 100:
            return "max_results", f"The `max_results` query parameter value [{raw}] is not between 10 and 100"
        if "since_id" in query and not query["since_id"].isdigit():
            return "since_id", f"The `since_id` query parameter value [{query['since_id']}] is not valid"
        if "next_token" in query and _decode_token(query["next_token"]) < 0:
            return "next_token", "The `next_token` query parameter value is not valid"
        return None


def _numeric_id(tweet: Any) -> int | None:
    value = tweet.get("id") if isinstance(tweet, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _newer_than(tweet: Any, since_id: int) -> bool:
    """Posts without a readable id (malformed test data) are always served."""
    number = _numeric_id(tweet)
    return number is None or number > since_id


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"x:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, offset = text.split(":")
        return int(offset) if prefix == "x" else -1
    except ValueError:
        return -1
