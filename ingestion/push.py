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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

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
    """An item that cannot be stored: ``errors`` are all that is wrong with it, ``str(error)`` (the
    reason recorded in quarantine) is them joined."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(errors))


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
    """One pushed object → a RawItem, or ItemError saying everything that is wrong with it."""
    return parse_item_checked(obj, kind=kind, now=now, max_text_chars=max_text_chars)[0]


T = TypeVar("T")


def parse_item_checked(
    obj: Any, *, kind: str, now: datetime, max_text_chars: int
) -> tuple[RawItem, list[str]]:
    """One pushed object → (RawItem, warnings), or ItemError listing every error of the item
    (``ItemError.errors``), not only the first.

    A warning says what was changed to store the item: NUL characters removed from the text, a
    number given as ``external_id`` stored as its decimal string, a string given as ``author``
    read as the handle. The schema documents strings and objects; these are accepted, and said."""
    if not isinstance(obj, Mapping):
        raise ItemError("item must be a JSON object")
    if "__error__" in obj:  # the file reader could not parse this record
        raise ItemError(str(obj["__error__"]))
    errors: list[str] = []
    warnings: list[str] = []

    def attempt(check: Callable[[], T], default: T) -> T:
        try:
            return check()
        except ItemError as error:
            errors.extend(error.errors)
            return default

    def string(value: Any, name: str, limit: int = MAX_FIELD_CHARS) -> str:
        return attempt(lambda: _short_str(value, name, limit), "")

    external_id = obj.get("external_id", obj.get("id"))
    if external_id is None or external_id == "":
        errors.append("external_id is required")
        external_id = ""
    else:
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            warnings.append(f"external_id was a number; stored as the string {str(external_id)!r}")
        external_id = string(external_id, "external_id", MAX_ID_CHARS)
        if not external_id and not errors:
            errors.append("external_id is required")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append("text is required and must be a string")
        text = ""
    elif len(text) > max_text_chars:
        errors.append(f"text is longer than {max_text_chars} characters ({len(text)})")
    else:
        position = invalid_unicode_at(text)
        if position is not None:
            errors.append(f"text is not valid UTF-8 (invalid character at position {position})")
        elif "\x00" in text:
            warnings.append(f"text held {text.count(chr(0))} NUL character(s); they were removed")
            text = text.replace("\x00", "")

    author = obj.get("author") or {}
    if isinstance(author, str):
        warnings.append("author was a string; read as the author's handle")
        author = {"handle": author}
    if not isinstance(author, Mapping):
        errors.append("author must be an object {id, handle, name} or a handle string")
        author = {}

    engagement_in = obj.get("engagement") or {}
    engagement: dict[str, int] = {}
    if not isinstance(engagement_in, Mapping) or len(engagement_in) > MAX_ENGAGEMENT_KEYS:
        errors.append(f"engagement must be an object of at most {MAX_ENGAGEMENT_KEYS} counts")
        engagement_in = {}
    for key, value in engagement_in.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            errors.append(f"engagement.{key} must be a non-negative integer")
            continue
        name = string(key, "engagement key", 32)
        if name:
            engagement[name] = value

    rating = obj.get("rating")
    if rating is not None:
        try:
            rating = int(rating)
        except (TypeError, ValueError):
            rating = None
            errors.append("rating must be an integer from 1 to 5")
        else:
            if not 1 <= rating <= 5:
                errors.append("rating must be an integer from 1 to 5")

    extra = obj.get("extra") or {}
    if not isinstance(extra, Mapping):
        errors.append("extra must be an object")
        extra = {}
    else:
        try:
            extra_size = len(json.dumps(extra, default=str)) if extra else 0  # most items carry none
        except (RecursionError, ValueError):
            errors.append("extra is nested too deeply")
        else:
            if extra_size > MAX_EXTRA_BYTES:
                errors.append(f"extra is larger than {MAX_EXTRA_BYTES} bytes")
            else:
                attempt(lambda: _check_json(extra, "extra"), None)

    url = string(obj.get("url"), "url")
    if url and not url.startswith(("http://", "https://")):
        errors.append("url must be an http(s) URL")
    author_fields = {key: string(author.get(key), f"author.{key}", 255) for key in ("id", "handle", "name")}
    published_at = attempt(lambda: parse_datetime(obj.get("published_at"), now=now), now)
    language = string(obj.get("language"), "language", 8)
    if errors:
        raise ItemError(*errors)

    author_role = _short_str(obj.get("author_role"), "author_role", 16).lower()
    if author_role not in AUTHOR_ROLES:
        raise ItemError("author_role must be 'customer', 'agent' or absent")
    in_reply_to = _short_str(obj.get("in_reply_to"), "in_reply_to", MAX_ID_CHARS)
    if in_reply_to and in_reply_to == external_id:
        raise ItemError("in_reply_to must name another message, not the item itself")

    extra = dict(extra)
    if rating is not None:
        extra["rating"] = rating
    item = RawItem(
        external_id=external_id,
        kind=ItemKind(kind),
        text=text,
        author=Author(
            id=author_fields["id"], handle=author_fields["handle"].lstrip("@"), name=author_fields["name"]
        ),
        published_at=published_at,
        url=url,
        engagement=engagement,
        language=language.lower() or None,
        extra=extra,
        conversation_id=_short_str(obj.get("conversation_id"), "conversation_id", MAX_ID_CHARS),
        in_reply_to=in_reply_to,
        author_role=author_role,
        raw=obj,
    )
    return item, warnings
