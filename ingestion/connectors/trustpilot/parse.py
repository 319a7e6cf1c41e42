"""Trustpilot-style review objects and their translation into ``RawItem``.

One element of ``reviews``::

    {"id": "6650f0c2a1b2c3d4e5f60718",
     "consumer": {"id": "5f...", "displayName": "Jane D.", "displayLocation": "Leeds, GB",
                  "numberOfReviews": 3},
     "stars": 4,                                  # integer 1..5
     "title": "Quick delivery", "text": "Arrived in two days...",
     "language": "en",
     "createdAt": "2024-05-24T08:15:30Z",          # ISO 8601, UTC ("Z" may be left out)
     "updatedAt": null, "isVerified": true, "numberOfLikes": 2, "status": "active",
     "companyReply": {"text": "Thanks Jane!", "createdAt": "2024-05-25T09:00:00Z"} | null}

``id``, ``stars``, ``text`` and ``createdAt`` are required. The item's ``text`` is the title and
the body joined by a blank line (the title often carries the verdict: "Never again"), unless the
body already starts with the title; ``extra`` keeps ``rating``, ``title`` and ``body`` apart.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ingestion.connectors.base import Author, ItemKind, ItemRejected, RawItem
from ingestion.connectors.wire import UtcDatetime, WireModel

REVIEW_PAGE_URL = "https://www.trustpilot.com/reviews/{id}"


class Consumer(WireModel):
    id: str = ""
    displayName: str = ""
    displayLocation: str | None = None


class CompanyReply(WireModel):
    text: str
    createdAt: UtcDatetime | None = None


class Review(WireModel):
    id: Annotated[str, Field(min_length=1, max_length=255)]
    consumer: Consumer = Consumer()
    stars: Annotated[int, Field(ge=1, le=5)]
    title: str = ""
    text: str
    language: str | None = None
    createdAt: UtcDatetime
    updatedAt: UtcDatetime | None = None
    isVerified: bool = False
    numberOfLikes: Annotated[int, Field(ge=0)] = 0
    status: str = "active"
    companyReply: CompanyReply | None = None


def review_to_item(obj: Any) -> RawItem:
    review = Review.model_validate(obj)
    title, body = review.title.strip(), review.text.strip()
    if not title and not body:
        raise ItemRejected("review has neither title nor text")
    text = body if not title or body.startswith(title.rstrip(".…")) else f"{title}\n\n{body}"
    reply = review.companyReply
    return RawItem(
        external_id=review.id,
        kind=ItemKind.REVIEW,
        text=text,
        author=Author(id=review.consumer.id, handle="", name=review.consumer.displayName),
        published_at=review.createdAt,
        url=REVIEW_PAGE_URL.format(id=review.id),
        engagement={"likes": review.numberOfLikes},
        language=review.language or None,
        extra={
            "rating": review.stars,
            "title": review.title,
            "body": review.text,
            "verified": review.isVerified,
            "status": review.status,
            "updated_at": review.updatedAt.isoformat() if review.updatedAt else None,
            "author_location": review.consumer.displayLocation,
            "company_reply": {
                "text": reply.text,
                "created_at": reply.createdAt.isoformat() if reply.createdAt else None,
            }
            if reply is not None
            else None,
        },
        raw=obj,
    )
