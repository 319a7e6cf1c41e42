"""Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1.0.0, symmetric scheme).

A message is signed over ``f"{msg_id}.{timestamp}.{body}"`` with HMAC-SHA256; the signature is sent as
``v1,<base64 digest>``. Secrets are presented to customers as ``whsec_`` + base64 of 24..64 random
bytes. During a secret rotation the message is signed with every active secret and the signatures are
sent space-separated in one ``webhook-signature`` header; a receiver accepts the message if any of
them verifies.

Django-free: callers pass secrets in and get strings back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta

__all__ = [
    "DEFAULT_TOLERANCE",
    "HEADER_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "MAX_SECRET_BYTES",
    "MIN_SECRET_BYTES",
    "SECRET_PREFIX",
    "InvalidSecretError",
    "WebhookVerificationError",
    "build_headers",
    "decode_secret",
    "generate_secret",
    "new_message_id",
    "sign",
    "verify",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format marker, not a secret)
# The spec: "Random. At least 24 bytes (192 bits, 512 maximum)".
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
SIGNATURE_VERSION = "v1"
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
DEFAULT_TOLERANCE = timedelta(minutes=5)

# The spec asks that id and timestamp never contain "." (it would make the signed content ambiguous);
# we also keep ids to a header-safe alphabet.
_MSG_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")


class InvalidSecretError(ValueError):
    """A signing secret is not ``whsec_`` + base64 of 24..64 bytes."""


class WebhookVerificationError(Exception):
    """A webhook failed verification; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def generate_secret(nbytes: int = 32) -> str:
    """A new random signing secret, ``whsec_`` + base64 of ``nbytes`` bytes from the OS CSPRNG."""
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise InvalidSecretError(f"secret length must be {MIN_SECRET_BYTES}..{MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """The raw key bytes of a ``whsec_`` secret; raises InvalidSecretError on any other shape."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidSecretError(f"secret must start with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecretError("secret is not valid base64") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidSecretError(f"secret must decode to {MIN_SECRET_BYTES}..{MAX_SECRET_BYTES} bytes")
    return key


def new_message_id() -> str:
    """A fresh message id (``msg_`` + 22 url-safe random chars); reuse it on every retry."""
    return "msg_" + _secrets.token_urlsafe(16)


def _check_id(msg_id: str) -> None:
    if not isinstance(msg_id, str) or not _MSG_ID_RE.fullmatch(msg_id):
        raise ValueError("message id must be 1..128 chars of [A-Za-z0-9_-]")


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """``v1,<base64 HMAC-SHA256(key, f"{msg_id}.{timestamp}.{body}")>`` for one secret.

    ``timestamp`` is integer Unix seconds (the attempt time, not the event time); ``body`` must be the
    exact bytes sent on the wire (a str is encoded as UTF-8).
    """
    _check_id(msg_id)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("timestamp must be a non-negative integer of Unix seconds")
    digest = _digest(decode_secret(secret), msg_id, timestamp, _as_bytes(body))
    return f"{SIGNATURE_VERSION}," + base64.b64encode(digest).decode("ascii")


def build_headers(
    secrets: Sequence[str], msg_id: str, body: bytes | str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt.

    ``secrets`` are the endpoint's active secrets, newest first; more than one during a rotation
    overlap, each contributing one space-separated signature. ``timestamp`` defaults to now.
    """
    if isinstance(secrets, str) or not secrets:
        raise InvalidSecretError("at least one secret is required (a sequence of secrets, not a str)")
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: " ".join(sign(s, msg_id, ts, body) for s in secrets),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing_{name.replace('-', '_')}")


def verify(
    headers: Mapping[str, str],
    body: bytes | str,
    secrets: Sequence[str],
    *,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Check a received webhook; return its message id or raise WebhookVerificationError.

    Header names are matched case-insensitively. The timestamp must lie within ``tolerance`` of ``now``
    (Unix seconds, default the clock) in either direction, which bounds replays. Every ``v1`` signature
    in the header is compared in constant time against every secret; one match suffices. Signatures of
    other versions (e.g. ``v1a``) are ignored.
    """
    if isinstance(secrets, str) or not secrets:
        raise InvalidSecretError("at least one secret is required (a sequence of secrets, not a str)")
    keys = [decode_secret(s) for s in secrets]
    msg_id = _header(headers, HEADER_ID)
    raw_ts = _header(headers, HEADER_TIMESTAMP)
    raw_sigs = _header(headers, HEADER_SIGNATURE)
    try:
        _check_id(msg_id)
    except ValueError as exc:
        raise WebhookVerificationError("invalid_id") from exc
    if not _TIMESTAMP_RE.fullmatch(raw_ts):
        raise WebhookVerificationError("invalid_timestamp")
    ts = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance.total_seconds():
        raise WebhookVerificationError("timestamp_out_of_tolerance")
    payload = _as_bytes(body)
    expected = [_digest(key, msg_id, ts, payload) for key in keys]
    for candidate in raw_sigs.split(" "):
        version, sep, encoded = candidate.partition(",")
        if not sep or version != SIGNATURE_VERSION:
            continue
        try:
            received = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # compare_digest for every secret, no early exit on the comparison itself.
        if any(hmac.compare_digest(received, digest) for digest in expected):
            return msg_id
    raise WebhookVerificationError("no_matching_signature")
