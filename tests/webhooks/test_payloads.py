"""Alert event payloads: envelope, sanitising of untrusted text, size cap, Slack variant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from listening.webhooks import signing
from listening.webhooks.payloads import MAX_TEXT, PayloadError, build_event, encode, slack_payload
from tests.webhooks.reference_verifier import spec_verify

STARTED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def alert(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 42,
        "brand": {"id": 7, "name": "Acme"},
        "metric": "negative_volume",
        "status": "open",
        "started_at": STARTED,
        "numbers": {
            "observed": 180,
            "expected": 22.5,
            "negative_share": 0.61,
            "expected_share": 0.18,
            "p_value": 1e-12,
            "score": 12.0,
        },
        "explanation": {
            "top_terms": [{"term": "outage", "count": 90}, "refund"],
            "sources": [{"name": "twitter", "count": 170}],
            "sample_mentions": [
                {
                    "id": 1,
                    "text": "app down again",
                    "url": "https://x.com/a/status/1",
                    "source": "twitter",
                    "published_at": STARTED,
                    "sentiment": "negative",
                }
            ],
        },
        "url": "https://app.example.com/alerts/42",
        "internal_note": "never sent",
    }
    base.update(overrides)
    return base


def test_envelope_follows_the_standard_webhooks_structure() -> None:
    occurred = datetime(2026, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    payload = build_event("alert.fired", alert(), occurred_at=occurred)
    assert payload["type"] == "alert.fired"
    assert payload["timestamp"] == "2026-03-01T09:30:00Z"
    data = payload["data"]
    assert data["id"] == 42 and data["brand"] == {"id": 7, "name": "Acme"} and data["campaign"] is None
    assert data["numbers"]["observed"] == 180
    assert data["explanation"]["top_terms"] == [
        {"term": "outage", "count": 90},
        {"term": "refund", "count": None},
    ]
    assert data["explanation"]["sample_mentions"][0]["published_at"] == "2026-03-01T09:30:00Z"
    assert "internal_note" not in data
    assert json.loads(encode(payload)) == payload


def test_encoded_body_is_what_gets_signed_and_verified() -> None:
    body = encode(build_event("alert.updated", alert(), occurred_at=STARTED))
    assert b" " not in body.split(b'"text"')[0]  # compact separators
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_x", body, timestamp=1_800_000_000)
    assert spec_verify(headers, body, secret, now=1_800_000_000)


def test_hostile_mention_text_stays_data_and_is_truncated() -> None:
    hostile = '<!channel> <https://evil.example|click> "}],"type":"x"\x00\x07' + "z" * 5000
    a = alert(
        explanation={
            "sample_mentions": [
                {"id": 1, "text": hostile, "url": "javascript:alert(1)", "source": "<@U123>"}
            ],
            "top_terms": ["<!here>"],
        }
    )
    payload = build_event("alert.fired", a, occurred_at=STARTED)
    sample = payload["data"]["explanation"]["sample_mentions"][0]
    assert len(sample["text"]) == MAX_TEXT and sample["text"].endswith("…")
    assert "\x00" not in sample["text"] and "\x07" not in sample["text"]
    assert sample["url"] is None
    assert json.loads(encode(payload))["type"] == "alert.fired"

    slack = slack_payload("alert.fired", a)
    for block in slack["blocks"]:
        for obj in [block.get("text"), *block.get("elements", [])]:
            if obj and "<" in obj.get("text", ""):
                assert obj["type"] == "plain_text", block
    assert "<" not in slack["text"]


def test_non_finite_numbers_become_null() -> None:
    payload = build_event(
        "alert.fired",
        alert(numbers={"observed": float("nan"), "ratio": float("inf"), "flag": True, "total": 3}),
        occurred_at=STARTED,
    )
    assert payload["data"]["numbers"] == {"observed": None, "ratio": None, "flag": None, "total": 3}
    encode(payload)  # allow_nan=False would raise


def test_oversized_payload_sheds_samples_to_fit() -> None:
    samples = [{"id": i, "text": "é" * 480, "source": "reviews"} for i in range(5)]
    a = alert(explanation={"sample_mentions": samples})
    payload = build_event("alert.fired", a, occurred_at=STARTED, max_bytes=3000)
    assert len(encode(payload)) <= 3000
    assert 0 < len(payload["data"]["explanation"]["sample_mentions"]) < 5
    with pytest.raises(PayloadError, match="exceeds"):
        build_event("alert.fired", a, occurred_at=STARTED, max_bytes=200)


@pytest.mark.parametrize(
    "bad",
    [
        {"metric": "volume"},
        {"status": "maybe"},
        {"started_at": datetime(2026, 1, 1)},  # naive
        {"started_at": "yesterday"},
        {"brand": "Acme"},
        {"id": ""},
        {"explanation": "lots"},
        {"explanation": {"sample_mentions": "one"}},
        {"numbers": [1, 2]},
    ],
)
def test_malformed_alerts_raise_payload_error(bad: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        build_event("alert.fired", alert(**bad), occurred_at=STARTED)


def test_missing_fields_and_unknown_event_types() -> None:
    a = alert()
    del a["brand"]
    with pytest.raises(PayloadError, match="brand"):
        build_event("alert.fired", a, occurred_at=STARTED)
    with pytest.raises(PayloadError):
        build_event("alert.exploded", alert(), occurred_at=STARTED)
    with pytest.raises(PayloadError):
        slack_payload("alert.exploded", alert())


def test_slack_message_carries_the_numbers_and_explanation() -> None:
    slack = slack_payload("alert.resolved", alert(campaign={"id": 3, "name": "Spring"}, status="resolved"))
    assert slack["text"] == "Spike resolved: negative volume for Acme / Spring"
    flat = json.dumps(slack)
    for needle in (
        "180",
        "22.5",
        "61.0%",
        "outage",
        "twitter (170)",
        "app down again",
        "https://app.example.com/alerts/42",
    ):
        assert needle in flat
    assert slack["unfurl_links"] is False
    assert len(slack["blocks"]) <= 50
