"""Reddit "things" (posts ``t3``, comments ``t1``) and their translation into ``RawItem``.

One element of a listing's ``children`` (https://www.reddit.com/dev/api#listings)::

    {"kind": "t3", "data": {"id": "1gq2x7", "name": "t3_1gq2x7", "title": "...", "selftext": "...",
     "author": "jane_doe", "author_fullname": "t2_abc", "subreddit": "acme",
     "created_utc": 1732096800.0, "score": 42, "num_comments": 7, "upvote_ratio": 0.93,
     "permalink": "/r/acme/comments/1gq2x7/...", "url": "https://...", "over_18": false}}
    {"kind": "t1", "data": {"id": "lx9k2", "name": "t1_lx9k2", "body": "...", "author": "...",
     "subreddit": "acme", "created_utc": 1732097000.0, "score": 3,
     "parent_id": "t3_1gq2x7" | "t1_lx9a0", "link_id": "t3_1gq2x7", "permalink": "...",
     "link_title": "..."}}

The external id is the fullname (``t3_...``/``t1_...``), the form ``parent_id`` and ``link_id``
use, so ``in_reply_to`` names the parent's external id and ``conversation_id`` the thread's post.
Score (up minus down votes, may be negative) is kept in ``extra["score"]``; ``engagement`` holds
its non-negative part as likes and the post's comment count as replies. The subreddit is the
channel (``r/acme``). Removed or deleted text (``[removed]``, ``[deleted]``) is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from ingestion.connectors.base import Author, ItemKind, ItemRejected, RawItem
from ingestion.connectors.wire import WireModel

SITE = "https://www.reddit.com"
Fullname = Annotated[str, StringConstraints(pattern=r"^t[1-6]_[0-9a-z]{1,16}$")]
_GONE = frozenset({"[removed]", "[deleted]"})


class _Thing(WireModel):
    id: Annotated[str, StringConstraints(pattern=r"^[0-9a-z]{1,16}$")]
    name: Fullname
    author: str = ""
    author_fullname: str | None = None
    subreddit: str
    created_utc: float = Field(ge=0)
    score: int = 0
    permalink: str = ""


class Post(_Thing):
    title: str
    selftext: str = ""
    num_comments: int = Field(default=0, ge=0)
    upvote_ratio: float | None = None
    url: str = ""
    over_18: bool = False
    link_flair_text: str | None = None


class Comment(_Thing):
    body: str
    parent_id: Fullname
    link_id: Fullname
    link_title: str | None = None


class PostThing(WireModel):
    kind: Literal["t3"]
    data: Post


class CommentThing(WireModel):
    kind: Literal["t1"]
    data: Comment


def created_at(obj: Any) -> float | None:
    """The ``created_utc`` of a raw child, if it has a readable one (for the sweep's stop mark)."""
    if isinstance(obj, dict) and isinstance(obj.get("data"), dict):
        value = obj["data"].get("created_utc")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _author(thing: _Thing) -> Author:
    handle = "" if thing.author in _GONE else thing.author
    return Author(id=thing.author_fullname or "", handle=handle, name="")


def thing_to_item(obj: Any) -> RawItem:
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind == "t3":
        post = PostThing.model_validate(obj).data
        body = "" if post.selftext.strip() in _GONE else post.selftext.strip()
        title = post.title.strip()
        if not title:
            raise ItemRejected("post has no title")
        return RawItem(
            external_id=post.name,
            kind=ItemKind.SOCIAL,
            text=f"{title}\n\n{body}" if body else title,
            author=_author(post),
            published_at=datetime.fromtimestamp(post.created_utc, UTC),
            url=SITE + post.permalink if post.permalink.startswith("/") else post.url,
            engagement={"likes": max(post.score, 0), "replies": post.num_comments},
            extra={
                "score": post.score,
                "title": post.title,
                "upvote_ratio": post.upvote_ratio,
                "link_url": post.url,
                "over_18": post.over_18,
                "flair": post.link_flair_text,
            },
            channel=f"r/{post.subreddit}",
            conversation_id=post.name,
            raw=obj,
        )
    if kind == "t1":
        comment = CommentThing.model_validate(obj).data
        text = comment.body.strip()
        if not text or text in _GONE:
            raise ItemRejected("comment was removed or deleted")
        return RawItem(
            external_id=comment.name,
            kind=ItemKind.SOCIAL,
            text=text,
            author=_author(comment),
            published_at=datetime.fromtimestamp(comment.created_utc, UTC),
            url=SITE + comment.permalink if comment.permalink.startswith("/") else "",
            engagement={"likes": max(comment.score, 0)},
            extra={"score": comment.score, "thread_title": comment.link_title},
            channel=f"r/{comment.subreddit}",
            conversation_id=comment.link_id,
            in_reply_to=comment.parent_id,
            raw=obj,
        )
    raise ItemRejected(f"not a post or comment (kind {str(kind)[:10]!r})")
