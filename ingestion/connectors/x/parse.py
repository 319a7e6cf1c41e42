"""X API v2 tweet and user objects, and their translation into ``RawItem``.

Wire format (https://docs.x.com/x-api/posts/search-recent-posts), one element of ``data``::

    {"id": "1853...", "text": "...", "created_at": "2024-11-05T10:00:00.000Z",
     "author_id": "2244994945", "lang": "en", "conversation_id": "1853...",
     "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 0,
                        "bookmark_count": 0, "impression_count": 120},
     "entities": {"hashtags": [{"start": 0, "end": 5, "tag": "acme"}], "mentions": [...], "urls": [...]},
     "referenced_tweets": [{"type": "retweeted", "id": "1852..."}]}

and of ``includes.users`` (joined on ``author_id``)::

    {"id": "2244994945", "username": "acme", "name": "Acme Inc", "verified": false,
     "public_metrics": {"followers_count": 10, "following_count": 2, "tweet_count": 30, "listed_count": 1}}

``id``/``text``/``created_at`` are required; an item without them (or with a wrong type) is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError

from ingestion.connectors.base import Author, ItemKind, RawItem
from ingestion.connectors.wire import AwareDatetime, WireModel

Count = Annotated[int, Field(ge=0)]
SnowflakeId = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]


class TweetMetrics(WireModel):
    retweet_count: Count = 0
    reply_count: Count = 0
    like_count: Count = 0
    quote_count: Count = 0
    bookmark_count: Count = 0
    impression_count: Count = 0


class UserMetrics(WireModel):
    followers_count: Count = 0
    following_count: Count = 0
    tweet_count: Count = 0
    listed_count: Count = 0


class ReferencedTweet(WireModel):
    type: str  # retweeted, quoted, replied_to
    id: SnowflakeId


class User(WireModel):
    id: SnowflakeId
    username: str
    name: str = ""
    verified: bool = False
    public_metrics: UserMetrics | None = None


class Tweet(WireModel):
    id: SnowflakeId
    text: str
    created_at: AwareDatetime
    author_id: SnowflakeId | None = None
    lang: str | None = None
    conversation_id: SnowflakeId | None = None
    public_metrics: TweetMetrics | None = None
    entities: dict[str, Any] | None = None
    referenced_tweets: list[ReferencedTweet] | None = None


def index_users(objects: list[Any]) -> dict[str, User]:
    """``includes.users`` by id; a malformed user is left out (its tweets keep the bare author id)."""
    users: dict[str, User] = {}
    for obj in objects:
        try:
            user = User.model_validate(obj)
        except ValidationError:
            continue
        users[user.id] = user
    return users


def _role(tweet: Tweet, user: User | None, in_reply_to: str, brand_handle: str | None) -> str:
    """ "agent" for the brand's own account; "customer" for anyone else inside a conversation
    (a reply, or a post others replied to); "" when no brand handle is configured or the post
    stands alone."""
    if not brand_handle:
        return ""
    if user is not None and user.username.lower() == brand_handle.lower():
        return "agent"
    in_thread = bool(in_reply_to) or (tweet.conversation_id is not None and tweet.conversation_id != tweet.id)
    replied_to = tweet.public_metrics is not None and tweet.public_metrics.reply_count > 0
    return "customer" if in_thread or replied_to else ""


def tweet_to_item(obj: Any, users: Mapping[str, User], *, brand_handle: str | None = None) -> RawItem:
    """``brand_handle`` (without "@") is the brand's own account: its posts are the agent's side of
    a conversation."""
    tweet = Tweet.model_validate(obj)
    user = users.get(tweet.author_id) if tweet.author_id else None
    in_reply_to = next((ref.id for ref in tweet.referenced_tweets or [] if ref.type == "replied_to"), "")
    metrics = tweet.public_metrics or TweetMetrics()
    url = (
        f"https://x.com/{user.username}/status/{tweet.id}"
        if user is not None
        else f"https://x.com/i/web/status/{tweet.id}"
    )
    extra: dict[str, Any] = {
        "conversation_id": tweet.conversation_id,
        "entities": tweet.entities or {},
        "referenced_tweets": [ref.model_dump() for ref in tweet.referenced_tweets or []],
        "author_verified": user.verified if user is not None else None,
        "author_followers": user.public_metrics.followers_count
        if user is not None and user.public_metrics is not None
        else None,
    }
    return RawItem(
        external_id=tweet.id,
        kind=ItemKind.SOCIAL,
        text=tweet.text,
        author=Author(
            id=tweet.author_id or "",
            handle=user.username if user is not None else "",
            name=user.name if user is not None else "",
        ),
        published_at=tweet.created_at,
        url=url,
        engagement={
            "likes": metrics.like_count,
            "reposts": metrics.retweet_count,
            "replies": metrics.reply_count,
            "quotes": metrics.quote_count,
            "views": metrics.impression_count,
        },
        # "und" (undetermined), "zxx" (no text), "qme" (media only)... are not languages.
        language=tweet.lang if tweet.lang and len(tweet.lang) == 2 else None,
        extra=extra,
        conversation_id=tweet.conversation_id or "",
        in_reply_to=in_reply_to,
        author_role=_role(tweet, user, in_reply_to, brand_handle),
        raw=obj,
    )
