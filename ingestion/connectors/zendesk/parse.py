"""Zendesk tickets and comments, and their translation into one ``RawItem`` per ticket.

A ticket (one element of the export's ``tickets``)::

    {"id": 35436, "subject": "Refund for order 1234", "description": "...", "status": "open",
     "priority": "normal", "type": "question", "requester_id": 20978392, "assignee_id": 235323,
     "created_at": "2024-05-20T22:55:29Z", "updated_at": "2024-05-21T08:00:00Z",
     "tags": ["refund"], "via": {"channel": "email"}, "satisfaction_rating": {"score": "bad"}}

A comment (``GET /api/v2/tickets/{id}/comments.json?include=users``, key ``comments``)::

    {"id": 1274, "type": "Comment", "author_id": 20978392, "body": "My order never came",
     "public": true, "created_at": "2024-05-20T22:55:29Z"}

and its side-loaded author (key ``users``): ``{"id": 20978392, "name": "Jane", "role": "end-user",
"locale": "en-US"}`` with ``role`` one of ``end-user``, ``agent``, ``admin``.

Who said what: an ``end-user`` author is the ``customer``; ``agent`` and ``admin`` are the
``agent``. An author missing from the side-load is the customer when they are the ticket's
requester, else ``unknown``. Every comment becomes a turn in ``extra["turns"]`` (in time order,
internal notes included with ``public: false``), so agents' replies stay available as training
material. The item's ``text`` is the customer's public turns joined by blank lines: what the
customer said is what listening reads; the agents' side stays in the turns. A ticket with no public
customer turn (an outbound message nobody answered) is skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import Field, ValidationError

from ingestion.connectors.base import Author, ItemKind, ItemRejected, RawItem
from ingestion.connectors.wire import AwareDatetime, WireModel, describe_validation_error

ZendeskId = Annotated[int, Field(ge=1)]


class Via(WireModel):
    channel: str | int = ""


class Satisfaction(WireModel):
    score: str | None = None


class Ticket(WireModel):
    id: ZendeskId
    subject: str | None = None
    status: str = ""
    priority: str | None = None
    type: str | None = None
    requester_id: ZendeskId
    assignee_id: ZendeskId | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    tags: list[str] = []
    via: Via | None = None
    satisfaction_rating: Satisfaction | None = None


class Comment(WireModel):
    id: ZendeskId
    author_id: int  # -1 is Zendesk's "system" author
    body: str | None = None
    plain_body: str | None = None
    public: bool = True
    created_at: AwareDatetime


class ZendeskUser(WireModel):
    id: int
    name: str = ""
    role: str = ""
    locale: str | None = None


_ROLE = {"end-user": "customer", "agent": "agent", "admin": "agent"}


def index_users(objects: Sequence[Any]) -> dict[int, ZendeskUser]:
    users: dict[int, ZendeskUser] = {}
    for obj in objects:
        try:
            user = ZendeskUser.model_validate(obj)
        except ValidationError:
            continue  # a malformed side-loaded user only costs us its role/name
        users[user.id] = user
    return users


def parse_ticket(obj: Any) -> Ticket:
    return Ticket.model_validate(obj)


def ticket_to_item(
    ticket: Ticket, raw: Any, comments: Sequence[Any], users: Mapping[int, ZendeskUser], *, web_base: str
) -> RawItem:
    """``comments`` are the raw comment objects of the ticket, ``users`` their side-loaded authors.

    A malformed comment rejects the whole ticket: a transcript with a hole in it is not training
    material.
    """
    turns: list[dict[str, Any]] = []
    for position, obj in enumerate(comments):
        try:
            comment = Comment.model_validate(obj)
        except ValidationError as exc:
            raise ItemRejected(
                f"ticket {ticket.id}: comment {position} is malformed: {describe_validation_error(exc)}"
            ) from exc
        author = users.get(comment.author_id)
        if author is not None and author.role in _ROLE:
            role = _ROLE[author.role]
        elif comment.author_id == ticket.requester_id:
            role = "customer"
        else:
            role = "unknown"
        turns.append(
            {
                "comment_id": comment.id,
                "role": role,
                "author_id": comment.author_id,
                "public": comment.public,
                "created_at": comment.created_at.isoformat(),
                "body": comment.body if comment.body is not None else (comment.plain_body or ""),
            }
        )
    turns.sort(key=lambda turn: (turn["created_at"], turn["comment_id"]))
    customer_text = "\n\n".join(
        turn["body"].strip()
        for turn in turns
        if turn["role"] == "customer" and turn["public"] and turn["body"].strip()
    )
    if not customer_text:
        raise ItemRejected(f"ticket {ticket.id} has no public customer turn")
    requester = users.get(ticket.requester_id)
    locale = requester.locale if requester is not None else None
    language = locale[:2].lower() if locale and locale[:2].isalpha() else None
    return RawItem(
        external_id=str(ticket.id),
        kind=ItemKind.SUPPORT,
        text=customer_text,
        author=Author(
            id=str(ticket.requester_id), handle="", name=requester.name if requester is not None else ""
        ),
        published_at=ticket.created_at,
        url=f"{web_base}/agent/tickets/{ticket.id}",
        engagement={},
        language=language,
        extra={
            "ticket_id": ticket.id,
            "subject": ticket.subject or "",
            "status": ticket.status,
            "priority": ticket.priority,
            "type": ticket.type,
            "channel": str(ticket.via.channel) if ticket.via is not None else "",
            "tags": list(ticket.tags),
            "requester_id": ticket.requester_id,
            "assignee_id": ticket.assignee_id,
            "updated_at": ticket.updated_at.isoformat() if ticket.updated_at else None,
            "satisfaction": ticket.satisfaction_rating.score if ticket.satisfaction_rating else None,
            "turns": turns,
        },
        raw={"ticket": raw, "comments": list(comments)},
    )
