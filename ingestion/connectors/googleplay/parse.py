"""Google Play reviews (``reviews[]`` of ``reviews.list``) and their translation into ``RawItem``.

One review::

    {"reviewId": "gp:AOqpTOH...", "authorName": "Jane",
     "comments": [
       {"userComment": {"text": "Title\\tBody", "lastModified": {"seconds": "1795000000", "nanos": 0},
                        "starRating": 4, "reviewerLanguage": "en", "device": "klte",
                        "androidOsVersion": 33, "appVersionCode": 321, "appVersionName": "3.2.1",
                        "thumbsUpCount": 2, "thumbsDownCount": 0, "originalText": "..."}},
       {"developerComment": {"text": "Thanks!", "lastModified": {"seconds": "1795003600"}}}]}

``seconds`` is an int64, which the JSON mapping of protobuf writes as a string (a number is taken
too). A title and a body written apart come joined by a tab. ``originalText`` is there when the
text was translated (``translationLanguage``). Google gives no creation time: a review is stamped
with its last modification, so an edited review comes again, newer.

A review becomes the customer's item (id ``reviewId``, rating, version, device) and, where the
developer answered, an agent item (id ``{reviewId}:reply``, ``in_reply_to`` the review), so the
pair builder sees the answer to the review as a reply, as it does for an X or Reddit thread. Both
share ``conversation_id`` (the review id) and ``channel`` (the app).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import BeforeValidator, Field, StringConstraints

from ingestion.connectors.base import Author, ItemKind, ItemRejected, RawItem
from ingestion.connectors.wire import WireModel

REPLY_SUFFIX = ":reply"
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the protobuf Timestamp's range


def _int64(value: Any) -> Any:
    """An int64 as protobuf's JSON mapping writes it ("1795000000"); strict validation then
    rejects anything that is not a whole number."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value):
        return int(value)
    return value


Count = Annotated[int, Field(ge=0)]


class Timestamp(WireModel):
    seconds: Annotated[int, BeforeValidator(_int64), Field(ge=0, le=_MAX_SECONDS)]
    nanos: int = Field(default=0, ge=0, le=999_999_999)

    @property
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC) + timedelta(microseconds=self.nanos // 1000)


class UserComment(WireModel):
    text: str
    last_modified: Timestamp = Field(alias="lastModified")
    star_rating: int = Field(alias="starRating", ge=1, le=5)
    reviewer_language: str | None = Field(default=None, alias="reviewerLanguage")
    device: str | None = None
    android_os_version: int | None = Field(default=None, alias="androidOsVersion")
    app_version_code: int | None = Field(default=None, alias="appVersionCode")
    app_version_name: str | None = Field(default=None, alias="appVersionName")
    thumbs_up_count: Count = Field(default=0, alias="thumbsUpCount")
    thumbs_down_count: Count = Field(default=0, alias="thumbsDownCount")
    original_text: str | None = Field(default=None, alias="originalText")


class DeveloperComment(WireModel):
    text: str
    last_modified: Timestamp = Field(alias="lastModified")


class Comment(WireModel):
    user_comment: UserComment | None = Field(default=None, alias="userComment")
    developer_comment: DeveloperComment | None = Field(default=None, alias="developerComment")


class Review(WireModel):
    review_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(alias="reviewId")
    author_name: str = Field(default="", alias="authorName")
    comments: list[Comment]

    @property
    def user(self) -> UserComment | None:
        return next((c.user_comment for c in self.comments if c.user_comment is not None), None)

    @property
    def reply(self) -> DeveloperComment | None:
        return next((c.developer_comment for c in self.comments if c.developer_comment is not None), None)


def last_modified(obj: Any) -> datetime | None:
    """The latest stamp of a raw review (its text or the developer's answer), or ``None`` when it
    is unreadable (it is then skipped by the conversion, with the reason)."""
    try:
        review = Review.model_validate(obj)
    except ValueError:  # pydantic's ValidationError is a ValueError
        return None
    stamps = [c.user_comment.last_modified.moment for c in review.comments if c.user_comment is not None]
    stamps += [c.developer_comment.last_modified.moment for c in review.comments if c.developer_comment]
    return max(stamps, default=None)


def _language(code: str | None) -> str | None:
    head = (code or "")[:2].lower()
    return head if len(head) == 2 and head.isascii() and head.isalpha() else None


def review_to_items(
    obj: Any,
    *,
    package_name: str,
    channel: str,
    developer_name: str,
    translation_language: str | None,
    since: datetime | None,
) -> list[RawItem]:
    """The review and the developer's reply, leaving out either when it is older than ``since``
    (stored by an earlier sweep; one stamped exactly ``since`` comes again and storage drops it)."""
    review = Review.model_validate(obj)
    user = review.user
    if user is None:
        raise ItemRejected(f"review {review.review_id[:60]!r} has no user comment")
    title, tab, body = user.text.partition("\t")
    title, body = (title.strip(), body.strip()) if tab else ("", title.strip())
    if not body and not title:
        raise ItemRejected(f"review {review.review_id[:60]!r} has no text")
    text = f"{title}\n\n{body}" if title and body else body or title
    url = f"https://play.google.com/store/apps/details?id={quote(package_name)}&reviewId={quote(review.review_id)}"
    translated = bool(translation_language) and user.original_text is not None
    items: list[RawItem] = []
    stamp = user.last_modified.moment
    if since is None or stamp >= since:
        items.append(
            RawItem(
                external_id=review.review_id,
                kind=ItemKind.REVIEW,
                text=text,
                author=Author(name=review.author_name),
                published_at=stamp,
                url=url,
                engagement={"likes": user.thumbs_up_count},
                language=_language(translation_language if translated else user.reviewer_language),
                extra={
                    "rating": user.star_rating,
                    "title": title,
                    "body": body,
                    "app_version": user.app_version_name or "",
                    "app_version_code": user.app_version_code,
                    "device": user.device or "",
                    "android_os_version": user.android_os_version,
                    "reviewer_language": user.reviewer_language or "",
                    "thumbs_down": user.thumbs_down_count,
                    "original_text": user.original_text if translated else None,
                    "package_name": package_name,
                    "store": "google_play",
                },
                channel=channel,
                conversation_id=review.review_id,
                author_role="customer",
                raw=obj,
            )
        )
    reply = review.reply
    if reply is not None and reply.text.strip():
        replied = reply.last_modified.moment
        if since is None or replied >= since:
            items.append(
                RawItem(
                    external_id=review.review_id + REPLY_SUFFIX,
                    kind=ItemKind.REVIEW,
                    text=reply.text.strip(),
                    author=Author(name=developer_name),
                    published_at=replied,
                    url=url,
                    extra={"package_name": package_name, "store": "google_play", "developer_reply": True},
                    channel=channel,
                    conversation_id=review.review_id,
                    in_reply_to=review.review_id,
                    author_role="agent",
                    raw=obj,
                )
            )
    return items
