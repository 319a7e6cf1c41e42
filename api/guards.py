"""Defences for bulk endpoints: bounded bodies (plain or gzip), bounded JSON, idempotent replays.

Sizes are checked before anything large is held in memory: a declared ``Content-Length`` over the
limit is refused without reading; a body without one is read only up to the limit; gzip bodies are
inflated incrementally and refused as soon as the inflated size passes the limit (a 10 KB "bomb"
that inflates to gigabytes costs a few milliseconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import zlib
from collections.abc import Callable
from typing import Any

import structlog
from django.core.cache import cache
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.request import Request
from rest_framework.response import Response

from api.middleware import CACHE_UNAVAILABLE

log = structlog.get_logger(__name__)

_CHUNK = 64 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


class UnsupportedEncoding(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "Unsupported Content-Encoding; send identity or gzip."
    default_code = "unsupported_encoding"


class IdempotencyConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This Idempotency-Key was used with a different body, or that request is still running."
    default_code = "idempotency_conflict"


def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The raw (inflated) body, at most ``max_bytes``; raises PayloadTooLarge / ParseError."""
    meta = request._request.META
    declared = meta.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Request body is {int(declared)} bytes; the limit is {max_bytes}.")
    raw = request._request.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"Request body exceeds the limit of {max_bytes} bytes.")
    encoding = (meta.get("HTTP_CONTENT_ENCODING") or "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise UnsupportedEncoding()
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    try:
        pending = raw
        while pending:
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"Inflated request body exceeds the limit of {max_bytes} bytes.")
            parts.append(chunk)
            if not chunk and not pending:
                break
        parts.append(inflater.flush())
    except zlib.error as exc:
        raise ParseError(f"Malformed gzip body: {exc}") from exc
    if not inflater.eof:
        raise ParseError("Truncated gzip body.")
    return b"".join(parts)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes, *, keep_invalid_utf8: bool = False) -> Any:
    """Parse JSON with clear 400s for bad encodings, syntax, NaN/Infinity and hostile nesting.

    With ``keep_invalid_utf8`` a byte that is not UTF-8 becomes a surrogate code point in the
    string that holds it (``surrogateescape``) instead of failing the whole body, so a bulk
    endpoint can refuse just the item it is in.
    """
    try:
        text = body.decode("utf-8", errors="surrogateescape" if keep_invalid_utf8 else "strict")
    except UnicodeDecodeError as exc:
        raise ParseError(f"Body is not valid UTF-8 (byte {exc.start}).") from exc
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ParseError("JSON is nested too deeply.") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from exc
    except ValueError as exc:
        raise ParseError(f"Malformed JSON: {exc}.") from exc


def idempotent(
    request: Request, *, scope: str, body: bytes, ttl: int, produce: Callable[[], Response]
) -> Response:
    """Run ``produce`` once per (organization, Idempotency-Key); replay its response afterwards.

    Without the header the call simply runs. The same key with a different body is a 409, as is a
    retry that arrives while the first attempt is still running.
    """
    key = request._request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return produce()
    if len(key) > 200:
        raise ParseError("Idempotency-Key must be at most 200 characters.")
    org_id = getattr(request.auth, "organization_id", "anon")
    cache_key = f"idem:{scope}:{org_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    fingerprint = hashlib.sha256(body).hexdigest()
    try:
        stored = cache.get(cache_key)
        claimed = stored is None and cache.add(
            cache_key, {"fingerprint": fingerprint, "done": False}, timeout=ttl
        )
    except CACHE_UNAVAILABLE as exc:
        # No replay store while the cache is down: run the call anyway. Bulk ingestion, the one
        # user, is idempotent on external ids, so a retried batch answers "duplicate" instead.
        log.warning("idempotency_store_unavailable", scope=scope, error=str(exc))
        return produce()
    if claimed:
        try:
            response = produce()
        except Exception:
            with contextlib.suppress(*CACHE_UNAVAILABLE):
                cache.delete(cache_key)  # a failed attempt may be retried with the same key
            raise
        try:
            cache.set(
                cache_key,
                {
                    "fingerprint": fingerprint,
                    "done": True,
                    "status": response.status_code,
                    "data": response.data,
                },
                timeout=ttl,
            )
        except CACHE_UNAVAILABLE as exc:
            log.warning("idempotency_store_unavailable", scope=scope, error=str(exc))
        return response
    stored = stored or cache.get(cache_key) or {}
    if stored.get("fingerprint") != fingerprint or not stored.get("done"):
        raise IdempotencyConflict()
    replay = Response(stored["data"], status=stored["status"])
    replay["Idempotent-Replayed"] = "true"
    return replay
