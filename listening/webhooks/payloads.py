"""Webhook payloads for alert events: the Standard Webhooks JSON envelope, and a Slack variant.

Both are built from one *alert dict* (the Django layer assembles it from an Alert row):

``id``
    str or int, the alert's id (stable for an episode).
``brand``
    ``{"id": ..., "name": str}``; ``campaign`` the same shape or absent/None.
``metric``
    ``"negative_volume"``, ``"negative_share"``, or ``"label_volume"`` / ``"label_share"`` with
    ``label``: ``{"classifier": int, "name": str}`` (a custom classifier's label; else absent/None).
``status``
    ``"open"`` or ``"resolved"``.
``started_at``, ``updated_at``, ``resolved_at``
    datetimes (aware) or ISO-8601 strings; the last two optional.
``numbers``
    flat mapping of str to number: observed, expected, total, negative_share, expected_share,
    p_value, score, ratio... (non-finite floats become null).
``explanation``
    ``{"top_terms": [str | {"term": str, "count": int}], "sources": [{"name": str, "count": int}],
    "sample_mentions": [{"id", "text", "url", "source", "published_at", "sentiment"}]}``.
``url``
    optional link to the alert in the dashboard.

Mention text, terms, source and brand names are untrusted (anyone on the internet wrote them): they
are carried as data only, truncated, and in Slack never rendered as markup. Unknown keys are dropped,
so nothing reaches a receiver by accident.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EVENT_TYPES",
    "MAX_PAYLOAD_BYTES",
    "PayloadError",
    "build_event",
    "encode",
    "slack_payload",
]

EVENT_TYPES = ("alert.fired", "alert.updated", "alert.resolved")
MAX_PAYLOAD_BYTES = 20_000  # the spec recommends payloads "usually smaller than 20kb"
MAX_TEXT = 500
MAX_NAME = 200
MAX_TERM = 64
MAX_TERMS = 10
MAX_SOURCES = 10
MAX_SAMPLES = 5
MAX_URL = 2048
_METRICS = ("negative_volume", "negative_share", "label_volume", "label_share")
_STATUSES = ("open", "resolved")
_SLACK_SECTION_LIMIT = 3000
_SLACK_HEADER_LIMIT = 150


class PayloadError(ValueError):
    """The alert dict lacks a required field or has one of the wrong type."""


def _truncate(value: object, limit: int) -> str:
    text = "" if value is None else str(value)
    # Drop C0 controls except newline/tab: they carry nothing for a reader and upset some receivers.
    text = "".join(c for c in text if c in "\n\t" or ord(c) >= 0x20)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iso(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PayloadError("datetimes must be timezone-aware")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        try:
            return _iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError as exc:
            raise PayloadError(f"not an ISO-8601 datetime: {value[:40]!r}") from exc
    raise PayloadError(f"not a datetime: {type(value).__name__}")


def _number(value: object) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _id(value: object) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise PayloadError("ids must be non-empty str or int")
    return value if isinstance(value, int) else _truncate(value, 128)


def _url(value: object) -> str | None:
    if not isinstance(value, str) or not value.lower().startswith(("https://", "http://")):
        return None
    return value if len(value) <= MAX_URL and not any(ord(c) <= 0x20 for c in value) else None


def _ref(value: object, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or "id" not in value:
        raise PayloadError(f"{what} must be a mapping with an id")
    return {"id": _id(value["id"]), "name": _truncate(value.get("name", ""), MAX_NAME)}


def _items(value: object, what: str) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise PayloadError(f"{what} must be a list")
    return value


def _explanation(raw: object) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise PayloadError("explanation must be a mapping")
    terms = []
    for term in _items(raw.get("top_terms"), "top_terms")[:MAX_TERMS]:
        if isinstance(term, Mapping):
            terms.append({"term": _truncate(term.get("term"), MAX_TERM), "count": _number(term.get("count"))})
        else:
            terms.append({"term": _truncate(term, MAX_TERM), "count": None})
    sources = [
        {"name": _truncate(s.get("name"), MAX_NAME), "count": _number(s.get("count"))}
        for s in _items(raw.get("sources"), "sources")[:MAX_SOURCES]
        if isinstance(s, Mapping)
    ]
    samples = [
        {
            "id": _id(m["id"]) if "id" in m else None,
            "text": _truncate(m.get("text"), MAX_TEXT),
            "url": _url(m.get("url")),
            "source": _truncate(m.get("source"), MAX_NAME),
            "published_at": _iso(m.get("published_at")),
            "sentiment": _truncate(m.get("sentiment"), 32),
        }
        for m in _items(raw.get("sample_mentions"), "sample_mentions")[:MAX_SAMPLES]
        if isinstance(m, Mapping)
    ]
    return {"top_terms": terms, "sources": sources, "sample_mentions": samples}


def _label(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "name" not in raw:
        raise PayloadError("label must be a mapping with a name")
    return {"classifier": _id(raw.get("classifier")), "name": _truncate(str(raw["name"]), 80)}


def _alert_data(alert: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(alert, Mapping):
        raise PayloadError("alert must be a mapping")
    for key in ("id", "brand", "metric", "status", "started_at"):
        if key not in alert:
            raise PayloadError(f"alert lacks {key!r}")
    if alert["metric"] not in _METRICS:
        raise PayloadError(f"metric must be one of {_METRICS}")
    if alert["status"] not in _STATUSES:
        raise PayloadError(f"status must be one of {_STATUSES}")
    numbers = alert.get("numbers") or {}
    if not isinstance(numbers, Mapping):
        raise PayloadError("numbers must be a mapping")
    return {
        "id": _id(alert["id"]),
        "brand": _ref(alert["brand"], "brand"),
        "campaign": _ref(alert.get("campaign"), "campaign"),
        "metric": alert["metric"],
        **({"label": label} if (label := _label(alert.get("label"))) else {}),
        "status": alert["status"],
        "started_at": _iso(alert["started_at"]),
        "updated_at": _iso(alert.get("updated_at")),
        "resolved_at": _iso(alert.get("resolved_at")),
        "numbers": {_truncate(k, 64): _number(v) for k, v in list(numbers.items())[:32]},
        "explanation": _explanation(alert.get("explanation")),
        "url": _url(alert.get("url")),
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes to sign and send: compact UTF-8 JSON, no NaN/Infinity."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def build_event(
    event_type: str, alert: Mapping[str, Any], *, occurred_at: datetime, max_bytes: int = MAX_PAYLOAD_BYTES
) -> dict[str, Any]:
    """``{"type", "timestamp", "data"}`` per the Standard Webhooks payload structure.

    ``occurred_at`` is when the event happened (aware datetime), not when it is delivered. If the
    encoded payload exceeds ``max_bytes``, sample mentions are dropped from the end until it fits;
    raises PayloadError if even the bare alert does not.
    """
    if event_type not in EVENT_TYPES:
        raise PayloadError(f"event_type must be one of {EVENT_TYPES}")
    data = _alert_data(alert)
    samples: list[dict[str, Any]] = data["explanation"]["sample_mentions"]
    payload = {"type": event_type, "timestamp": _iso(occurred_at), "data": data}
    while len(encode(payload)) > max_bytes:
        if not samples:
            raise PayloadError(f"alert payload exceeds {max_bytes} bytes")
        samples.pop()
    return payload


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn control characters; escaping them stops <!channel>, <@U123> and <url|label>
    # injection from mention text and names.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt(value: object, pct: bool = False) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "n/a"
    return f"{value:.1%}" if pct else (f"{value:,}" if isinstance(value, int) else f"{value:,.1f}")


def slack_payload(event_type: str, alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` fallback + Block Kit ``blocks``) for the same alert.

    Untrusted strings go into ``plain_text`` objects (never parsed for links or mentions) or are
    escaped where mrkdwn is needed.
    """
    if event_type not in EVENT_TYPES:
        raise PayloadError(f"event_type must be one of {EVENT_TYPES}")
    data = _alert_data(alert)
    verb = {
        "alert.fired": "Spike detected",
        "alert.updated": "Spike growing",
        "alert.resolved": "Spike resolved",
    }[event_type]
    subject = data["brand"]["name"]
    if data["campaign"]:
        subject += f" / {data['campaign']['name']}"
    metric = {
        "negative_volume": "negative volume",
        "negative_share": "negative share",
        "label_volume": f"volume of '{data.get('label', {}).get('name', '')}'",
        "label_share": f"share of '{data.get('label', {}).get('name', '')}'",
    }[data["metric"]]
    n = data["numbers"]
    headline = f"{verb}: {metric} for {subject}"
    facts = (
        f"*Observed:* {_fmt(n.get('observed'))} negative mentions (expected {_fmt(n.get('expected'))})\n"
        f"*Negative share:* {_fmt(n.get('negative_share'), pct=True)} "
        f"(usual {_fmt(n.get('expected_share'), pct=True)})\n"
        f"*Since:* {data['started_at']}"
    )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _truncate(headline, _SLACK_HEADER_LIMIT), "emoji": False},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    explanation = data["explanation"]
    if explanation["top_terms"]:
        terms = ", ".join(t["term"] for t in explanation["top_terms"])
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "text": _truncate(f"Top terms: {terms}", _SLACK_SECTION_LIMIT),
                    "emoji": False,
                },
            }
        )
    if explanation["sources"]:
        sources = ", ".join(f"{s['name']} ({_fmt(s['count'])})" for s in explanation["sources"])
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "text": _truncate(f"Sources: {sources}", _SLACK_SECTION_LIMIT),
                    "emoji": False,
                },
            }
        )
    for sample in explanation["sample_mentions"]:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "plain_text",
                        "text": _truncate(f"“{sample['text']}” ({sample['source']})", 2000),
                        "emoji": False,
                    }
                ],
            }
        )
    if data["url"]:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open alert"},
                        "url": data["url"],
                    }
                ],
            }
        )
    return {"text": _slack_escape(headline), "blocks": blocks, "unfurl_links": False, "unfurl_media": False}
