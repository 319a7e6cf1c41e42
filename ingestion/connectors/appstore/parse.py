"""App Store review entries and their translation into ``RawItem``.

One element of ``feed.entry`` (every value wrapped in ``{"label": ...}``)::

    {"author": {"name": {"label": "jane"}, "uri": {"label": "https://itunes.apple.com/us/reviews/id1"}},
     "updated": {"label": "2026-11-20T04:00:00-07:00"},
     "im:rating": {"label": "4"}, "im:version": {"label": "3.2.1"},
     "id": {"label": "11223344556"}, "title": {"label": "Great"},
     "content": {"label": "Works well", "attributes": {"type": "text"}},
     "im:voteSum": {"label": "2"}, "im:voteCount": {"label": "3"}}

The older feed put the app itself first (an entry with ``im:name`` and no rating): it is not a
review and is left out by the caller. The feed carries no developer replies (only the App Store
Connect API does, with the developer's own key). ``channel`` is the app and the territory.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ingestion.connectors.base import Author, ItemKind, ItemRejected, RawItem
from ingestion.connectors.wire import AwareDatetime, WireModel


class Label(WireModel):
    label: str


class DateLabel(WireModel):
    label: AwareDatetime


class ReviewAuthor(WireModel):
    name: Label
    uri: Label | None = None


class Entry(WireModel):
    id: Label
    author: ReviewAuthor
    updated: DateLabel
    title: Label = Label(label="")
    content: Label
    rating: Label = Field(alias="im:rating")
    version: Label = Field(default=Label(label=""), alias="im:version")
    vote_sum: Label = Field(default=Label(label="0"), alias="im:voteSum")
    vote_count: Label = Field(default=Label(label="0"), alias="im:voteCount")


def is_app_entry(obj: Any) -> bool:
    """The app's own entry of the older feed layout (``im:name``, no rating)."""
    return isinstance(obj, dict) and "im:name" in obj and "im:rating" not in obj


def entry_to_item(obj: Any, *, app_id: str, country: str, channel: str) -> RawItem:
    entry = Entry.model_validate(obj)
    review_id = entry.id.label
    if not review_id.isdigit():
        raise ItemRejected(f"review id is not numeric: {review_id[:30]!r}")
    if not entry.rating.label.isdigit() or not 1 <= int(entry.rating.label) <= 5:
        raise ItemRejected(f"rating is not 1..5: {entry.rating.label[:10]!r}")
    title, body = entry.title.label.strip(), entry.content.label.strip()
    if not body and not title:
        raise ItemRejected("review has neither title nor text")
    text = body if not title or body.startswith(title) else f"{title}\n\n{body}"
    votes = int(entry.vote_count.label) if entry.vote_count.label.isdigit() else 0
    return RawItem(
        external_id=review_id,
        kind=ItemKind.REVIEW,
        text=text,
        author=Author(name=entry.author.name.label),
        published_at=entry.updated.label,
        url=f"https://apps.apple.com/{country}/app/id{app_id}?see-all=reviews",
        engagement={"likes": votes},
        extra={
            "rating": int(entry.rating.label),
            "title": title,
            "body": body,
            "app_version": entry.version.label,
            "territory": country.upper(),
            "store": "app_store",
        },
        channel=channel,
        raw=obj,
    )
