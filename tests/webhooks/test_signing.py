"""Standard Webhooks signing, checked against an independent reading of the spec (reference_verifier)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

import pytest

from listening.webhooks import signing
from tests.webhooks.reference_verifier import spec_verify

# Published example vector (Standard Webhooks / Svix libraries' "sign function works" test).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_published_vector_signs_and_verifies() -> None:
    assert signing.sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TS), "webhook-signature": SPEC_SIGNATURE}
    assert spec_verify(headers, SPEC_BODY, SPEC_SECRET, now=SPEC_TS)
    assert signing.verify(headers, SPEC_BODY, [SPEC_SECRET], now=SPEC_TS) == SPEC_ID


def test_generated_secret_shape() -> None:
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert signing.generate_secret() != secret
    assert len(signing.decode_secret(signing.generate_secret(24))) == 24
    with pytest.raises(signing.InvalidSecretError):
        signing.generate_secret(16)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_",
        "whsec_!!!notbase64",
        "whsec_" + "A" * 20,
        "whsec_" + base64.b64encode(b"x" * 65).decode(),
    ],
)
def test_bad_secrets_are_refused(bad: str) -> None:
    with pytest.raises(signing.InvalidSecretError):
        signing.sign(bad, "msg_1", 1, b"{}")


def test_headers_verify_with_the_independent_implementation() -> None:
    secret = signing.generate_secret()
    body = '{"type":"alert.fired","data":{"text":"naïve <b>"}}'.encode()
    headers = signing.build_headers([secret], "msg_abc", body, timestamp=1_700_000_000)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert spec_verify(headers, body, secret, now=1_700_000_010)
    assert signing.verify(headers, body, [secret], now=1_700_000_010) == "msg_abc"


def test_rotation_sends_two_signatures_each_verifying_alone() -> None:
    old, new = signing.generate_secret(), signing.generate_secret()
    body = b'{"a":1}'
    headers = signing.build_headers([new, old], "msg_rot", body, timestamp=1_700_000_000)
    assert len(headers["webhook-signature"].split(" ")) == 2
    # A receiver that still has only the old secret, and one that already has the new one, both accept.
    assert spec_verify(headers, body, old, now=1_700_000_000)
    assert spec_verify(headers, body, new, now=1_700_000_000)
    assert signing.verify(headers, body, [old], now=1_700_000_000) == "msg_rot"
    assert signing.verify(headers, body, [new], now=1_700_000_000) == "msg_rot"
    with pytest.raises(signing.WebhookVerificationError, match="no_matching_signature"):
        signing.verify(headers, body, [signing.generate_secret()], now=1_700_000_000)


def test_tampering_is_rejected() -> None:
    secret = signing.generate_secret()
    body = b'{"amount":1}'
    headers = signing.build_headers([secret], "msg_t", body, timestamp=1_700_000_000)
    now = 1_700_000_000
    tampered_ts = {**headers, "webhook-timestamp": "1700000001"}
    tampered_id = {**headers, "webhook-id": "msg_u"}
    for hdrs, payload in [
        (headers, b'{"amount":2}'),
        (headers, body + b" "),
        (tampered_ts, body),
        (tampered_id, body),
    ]:
        assert not spec_verify(hdrs, payload, secret, now=now)
        with pytest.raises(signing.WebhookVerificationError, match="no_matching_signature"):
            signing.verify(hdrs, payload, [secret], now=now)


def test_timestamp_tolerance_both_directions() -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_old", b"x", timestamp=1_700_000_000)
    assert signing.verify(headers, b"x", [secret], now=1_700_000_000 + 299) == "msg_old"
    for now in (1_700_000_000 + 301, 1_700_000_000 - 301):
        with pytest.raises(signing.WebhookVerificationError, match="timestamp_out_of_tolerance"):
            signing.verify(headers, b"x", [secret], now=now)
    assert signing.verify(headers, b"x", [secret], now=1_700_003_000, tolerance=timedelta(hours=1))


def test_header_names_are_case_insensitive_and_other_versions_ignored() -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_c", b"x", timestamp=100)
    upper = {k.upper(): v for k, v in headers.items()}
    upper["WEBHOOK-SIGNATURE"] = "v1a,Zm9v v1,!!! " + upper["WEBHOOK-SIGNATURE"]
    assert signing.verify(upper, b"x", [secret], now=100) == "msg_c"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: h.pop("webhook-id"), "missing_webhook_id"),
        (lambda h: h.pop("webhook-timestamp"), "missing_webhook_timestamp"),
        (lambda h: h.pop("webhook-signature"), "missing_webhook_signature"),
        (lambda h: h.update({"webhook-timestamp": "12.5"}), "invalid_timestamp"),
        (lambda h: h.update({"webhook-timestamp": "-1"}), "invalid_timestamp"),
        (lambda h: h.update({"webhook-id": "a.b"}), "invalid_id"),
        (lambda h: h.update({"webhook-signature": ""}), "no_matching_signature"),
        (lambda h: h.update({"webhook-signature": "v1," + "A" * 10_000}), "no_matching_signature"),
    ],
)
def test_malformed_headers_give_a_reason(mutate: Callable[[dict[str, str]], object], reason: str) -> None:
    secret = signing.generate_secret()
    headers = signing.build_headers([secret], "msg_m", b"x", timestamp=100)
    mutate(headers)
    with pytest.raises(signing.WebhookVerificationError) as info:
        signing.verify(headers, b"x", [secret], now=100)
    assert info.value.reason == reason


def test_ids_that_would_make_the_signed_content_ambiguous_are_refused() -> None:
    secret = signing.generate_secret()
    for bad in ("", "a.b", "a b", "x" * 129, "msg\n"):
        with pytest.raises(ValueError):
            signing.sign(secret, bad, 1, b"")
    with pytest.raises(signing.InvalidSecretError):
        signing.build_headers(secret, "msg_1", b"")
    assert signing.new_message_id() != signing.new_message_id()
