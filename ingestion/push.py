"""Validation of pushed and imported items (the push format of ``POST /api/v1/ingest``).

Each item is checked on its own: a bad item yields a ``ItemError`` with a reason a person can act
on, and never stops the rest of the batch. Pure: no Django.

Push format (one JSON object per item)::

    {"external_id": "123", "text": "...", "published_at": "2026-11-01T10:00:00Z",
     "author": {"id": "42", "handle": "maya", "name": "Maya"}, "url": "https://...",
     "language": "en", "engagement": {"likes": 3, "reposts": 1}, "rating": 4, "extra": {...},
     "conversation_id": "t-9", "in_reply_to": "122", "author_role": "agent"}

Only ``external_id`` and ``text`` are required; ``published_at`` defaults to the time of receipt.
``conversation_id`` names the thread, ``in_reply_to`` is the external id (same source) of the
message this one answers, ``author_role`` is ``customer`` or ``agent`` (the brand's own reply).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ingestion.connectors.base import AUTHOR_ROLES, Author, ItemKind, RawItem

MAX_ID_CHARS = 255
MAX_FIELD_CHARS = 2000
MAX_EXTRA_BYTES = 64_000
MAX_ENGAGEMENT_KEYS = 16
MAX_EXTRA_DEPTH = 32


# A surrogate code point in a decoded string is never text: it is a lone ``\ud800`` escape in the
# JSON, or a byte of invalid UTF-8 kept by the ``surrogateescape`` decoder. Neither can be stored.
_SURROGATE = re.compile("[\ud800-\udfff]")


class ItemError(ValueError):
    """An item that cannot be stored; ``str(error)`` is the reason recorded in quarantine."""


def invalid_unicode_at(text: str) -> int | None:
    """Position of the first character that is not valid Unicode text (a surrogate), or None."""
    bad = _SURROGATE.search(text)
    return None if bad is None else bad.start()


def _storable_str(text: str, name: str) -> str:
    """``text`` if PostgreSQL can store it; ItemError for NUL and invalid Unicode."""
    if "\x00" in text:
        raise ItemError(f"{name} contains a NUL character")
    position = invalid_unicode_at(text)
    if position is not None:
        raise ItemError(f"{name} is not valid UTF-8 (invalid character at position {position})")
    return text


def _short_str(value: Any, name: str, limit: int = MAX_FIELD_CHARS) -> str:
    if type(value) is str:  # the common case first: eight fields per item
        text = value.strip()
    elif value is None:
        return ""
    elif isinstance(value, bool) or not isinstance(value, str | int):
        raise ItemError(f"{name} must be a string")
    else:
        text = str(value).strip()
    if len(text) > limit:
        raise ItemError(f"{name} is longer than {limit} characters")
    return _storable_str(text, name)


def _check_json(value: Any, name: str) -> None:
    """Every key and string of a JSON value storable, every number finite (jsonb refuses NUL,
    invalid Unicode and NaN), nesting at most MAX_EXTRA_DEPTH deep (so that no later step that
    recurses, serialising it for the database say, can run out of stack). Iterative itself."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXTRA_DEPTH:
            raise ItemError(f"{name} is nested deeper than {MAX_EXTRA_DEPTH} levels")
        if isinstance(node, str):
            _storable_str(node, name)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ItemError(f"{name} holds a number that is not finite")
        elif isinstance(node, Mapping):
            for key, child in node.items():
                _storable_str(str(key), f"{name} key")
                stack.append((child, depth + 1))
        elif isinstance(node, list | tuple):
            stack.extend((child, depth + 1) for child in node)


def storable_text(text: str) -> str:
    """``text`` with NUL and invalid Unicode replaced by U+FFFD: PostgreSQL can store it."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))


def storable_payload(payload: Any) -> str:
    """A rejected item as text that the quarantine can always store: JSON where possible."""
    try:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = "<payload that cannot be serialised (nested too deeply or not JSON)>"
    return storable_text(text)


def parse_datetime(value: Any, *, now: datetime) -> datetime:
    """ISO 8601 (``Z`` or offset; naive means UTC) or epoch seconds; not more than a day ahead."""
    if value is None or value == "":
        return now
    if isinstance(value, bool):
        raise ItemError("published_at must be an ISO 8601 timestamp")
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ItemError("published_at is not a valid epoch timestamp") from exc
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ItemError(f"published_at {value[:40]!r} is not an ISO 8601 timestamp") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        raise ItemError("published_at must be an ISO 8601 timestamp")
    if moment.year < 2000 or (moment - now).total_seconds() > 86_400:
        raise ItemError("published_at is implausible (before 2000 or in the future)")
    # In UTC: PostgreSQL refuses offsets beyond ±15:59, which Python parses ("-16:29").
    return moment.astimezone(UTC)


def parse_item(obj: Any, *, kind: str, now: datetime, max_text_chars: int) -> RawItem:
    """One pushed object → a RawItem, or ItemError saying what is wrong."""
    if not isinstance(obj, Mapping):
        raise ItemError("item must be a JSON object")
    if "__error__" in obj:  # the file reader could not parse this record
        raise ItemError(str(obj["__error__"]))
    external_id = obj.get("external_id", obj.get("id"))
    if external_id is None or external_id == "":
        raise ItemError("external_id is required")
    external_id = _short_str(external_id, "external_id", MAX_ID_CHARS)
    if not external_id:
        raise ItemError("external_id is required")
    text = obj.get("text")
    if not isinstance(text, str):
        raise ItemError("text is required and must be a string")
    if len(text) > max_text_chars:
        raise ItemError(f"text is longer than {max_text_chars} characters ({len(text)})")
    position = invalid_unicode_at(text)
    if position is not None:  # NUL is fine here: cleaning removes it with the other invisible characters
        raise ItemError(f"text is not valid UTF-8 (invalid character at position {position})")

    author = obj.get("author") or {}
    if isinstance(author, str):
        author = {"handle": author}
    if not isinstance(author, Mapping):
        raise ItemError("author must be an object {id, handle, name} or a handle string")

    engagement_in = obj.get("engagement") or {}
    if not isinstance(engagement_in, Mapping) or len(engagement_in) > MAX_ENGAGEMENT_KEYS:
        raise ItemError(f"engagement must be an object of at most {MAX_ENGAGEMENT_KEYS} counts")
    engagement: dict[str, int] = {}
    for key, value in engagement_in.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            raise ItemError(f"engagement.{key} must be a non-negative integer")
        engagement[_short_str(key, "engagement key", 32)] = value

    rating = obj.get("rating")
    if rating is not None:
        try:
            rating = int(rating)
        except (TypeError, ValueError) as exc:
            raise ItemError("rating must be an integer from 1 to 5") from exc
        if not 1 <= rating <= 5:
            raise ItemError("rating must be an integer from 1 to 5")

    extra = obj.get("extra") or {}
    if not isinstance(extra, Mapping):
        raise ItemError("extra must be an object")
    try:
        extra_size = len(json.dumps(extra, default=str)) if extra else 0  # most items carry none
    except (RecursionError, ValueError) as exc:
        raise ItemError("extra is nested too deeply") from exc
    if extra_size > MAX_EXTRA_BYTES:  # (outside the try: ItemError is a ValueError too)
        raise ItemError(f"extra is larger than {MAX_EXTRA_BYTES} bytes")
    _check_json(extra, "extra")

    url = _short_str(obj.get("url"), "url")
    if url and not url.startswith(("http://", "https://")):
        raise ItemError("url must be an http(s) URL")

    author_role = _short_str(obj.get("author_role"), "author_role", 16).lower()
    if author_role not in AUTHOR_ROLES:
        raise ItemError("author_role must be 'customer', 'agent' or absent")
    in_reply_to = _short_str(obj.get("in_reply_to"), "in_reply_to", MAX_ID_CHARS)
    if in_reply_to and in_reply_to == external_id:
        raise ItemError("in_reply_to must name another message, not the item itself")

    extra = dict(extra)
    if rating is not None:
        extra["rating"] = rating
    return RawItem(
        external_id=external_id,
        kind=ItemKind(kind),
        text=text,
        author=Author(
            id=_short_str(author.get("id"), "author.id", 255),
            handle=_short_str(author.get("handle"), "author.handle", 255).lstrip("@"),
            name=_short_str(author.get("name"), "author.name", 255),
        ),
        published_at=parse_datetime(obj.get("published_at"), now=now),
        url=url,
        engagement=engagement,
        language=_short_str(obj.get("language"), "language", 8).lower() or None,
        extra=extra,
        conversation_id=_short_str(obj.get("conversation_id"), "conversation_id", MAX_ID_CHARS),
        in_reply_to=in_reply_to,
        author_role=author_role,
        raw=obj,
    )
