"""The one HTTP client every connector talks through: timeouts, retries, rate limits, error sorting.

Retry policy (the Saleor/AWS habit: sort failures before retrying):

* retried: HTTP 429, 5xx (except 501/505, which no retry can fix), connection errors and timeouts;
* never retried: any other 4xx, any 3xx (redirects are not followed: the credentials must not
  travel to another host), and responses that are not valid JSON;
* the wait before a retry is what the server asked for (``Retry-After`` in seconds or as an
  HTTP-date, else ``x-rate-limit-reset`` as epoch seconds), or else exponential backoff with full
  jitter: ``uniform(0, min(max_delay, base_delay * 2**n))`` for the n-th retry;
* a server-requested wait longer than ``RetryPolicy.max_server_wait`` is not slept through inline
  (a Celery worker should not idle for the 15 minutes of an X rate-limit window): the client raises
  at once with ``resume_at``, and the caller reschedules.

Only GETs go through it, and OAuth token POSTs (idempotent too: a second token is as good as the
first), so retrying after a read timeout is safe.

Why not ``urllib3.util.Retry`` on the adapter: it sleeps inside the transport (no injectable clock,
so tests would wait for real backoffs), records no attempts, knows nothing of ``x-rate-limit-reset``
and adds jitter rather than drawing the whole wait (full jitter). The policy is small enough to
state here in one loop; the transport below it is plain ``requests``.
"""

from __future__ import annotations

import json
import random
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import structlog

from ingestion.connectors.errors import (
    ConnectorAuthError,
    ConnectorPermanentError,
    ConnectorRateLimited,
    ConnectorTransientError,
    MalformedPageError,
)

log = structlog.get_logger(__name__)

USER_AGENT = "brand-listening-connector/0.1 (+https://github.com/brand-listening)"
_NOT_RETRYABLE_5XX = frozenset({501, 505})
_ERROR_BODY_LIMIT = 64 * 1024


class Clock(Protocol):
    """Where the client reads the time and sleeps; tests pass one that only records the sleeps."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to open the connection, and to wait between bytes of the response."""

    connect: float = 5.0
    read: float = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first request: 5 means one try and up to four retries."""

    max_attempts: int = 5
    base_delay: float = 1.0  # seconds; the first retry waits uniform(0, base_delay)
    max_delay: float = 60.0  # cap on one backoff wait
    max_server_wait: float = 120.0  # longest Retry-After / rate-limit reset slept through inline

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_server_wait < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full-jitter wait before the ``retry_number``-th retry (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** min(retry_number, 32)))
        return rng.uniform(0.0, ceiling)


@dataclass(frozen=True)
class RateLimitInfo:
    """The API's rate-limit headers on the last response of a page (``None`` where absent)."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None  # aware UTC: when ``remaining`` refills

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
        """Reads ``x-rate-limit-limit/remaining/reset`` (X; reset in epoch seconds; Zendesk sends
        ``x-rate-limit`` for the limit) or the IETF
        draft ``ratelimit-limit/remaining/reset`` (reset in seconds from now), or Reddit's
        ``x-ratelimit-used/remaining/reset`` (remaining may be fractional; reset in seconds from now;
        the limit is used + remaining)."""
        limit = _int_header(headers, "x-rate-limit-limit") or _int_header(headers, "x-rate-limit")
        remaining = _int_header(headers, "x-rate-limit-remaining")
        reset_epoch = _int_header(headers, "x-rate-limit-reset")
        reset_at = datetime.fromtimestamp(reset_epoch, UTC) if reset_epoch is not None else None
        if limit is None and remaining is None and reset_at is None:
            limit = _int_header(headers, "ratelimit-limit")
            remaining = _int_header(headers, "ratelimit-remaining")
            reset_delta = _int_header(headers, "ratelimit-reset")
            reset_at = now + timedelta(seconds=reset_delta) if reset_delta is not None else None
        if limit is None and remaining is None and reset_at is None:
            used = _int_header(headers, "x-ratelimit-used")
            remaining = _int_header(headers, "x-ratelimit-remaining")
            reset_delta = _int_header(headers, "x-ratelimit-reset")
            limit = used + remaining if used is not None and remaining is not None else None
            reset_at = now + timedelta(seconds=reset_delta) if reset_delta is not None else None
        if limit is None and remaining is None and reset_at is None:
            return None
        return cls(limit=limit, remaining=remaining, reset_at=reset_at)

    @property
    def resume_at(self) -> datetime | None:
        """When the next request may go out if this window is used up (``remaining == 0``), else
        ``None``: the pull task schedules its next page no earlier than this."""
        return self.reset_at if self.remaining == 0 else None


@dataclass(frozen=True)
class Attempt:
    """One request on the wire. ``url`` has no query string (it may carry keys)."""

    url: str
    status: int | None  # None: no response (timeout, connection error)
    error: str  # "" on success
    wait: float | None  # seconds slept before the next attempt; None when there was none


@dataclass(frozen=True)
class JsonResponse:
    url: str
    status: int
    headers: Mapping[str, str]
    data: Any  # the decoded JSON document
    rate_limit: RateLimitInfo | None
    attempts: int  # requests it took, retries included


@dataclass(frozen=True)
class RawResponse:
    """A response whose body is not JSON (a feed), or a ``304 Not Modified`` (``body`` empty)."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    rate_limit: RateLimitInfo | None
    attempts: int

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying."""

    def __init__(self, message: str, *, status: int | None, server_wait: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.server_wait = server_wait


class HttpClient:
    """A ``requests.Session`` with the retry policy above. Not thread-safe: one per pull.

    ``attempts`` keeps the last 1,000 requests made (for logs and tests); ``attempt_count`` counts
    them all.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
        max_body_bytes: int = 32 * 1024 * 1024,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.max_body_bytes = max_body_bytes
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"
        self.attempts: deque[Attempt] = deque(maxlen=1000)
        self.attempt_count = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> JsonResponse:
        """GET ``url`` and decode its JSON body, retrying as the module docstring says.

        Raises ``ConnectorAuthError`` (401/403), ``ConnectorPermanentError`` (other 4xx),
        ``ConnectorRateLimited`` / ``ConnectorTransientError`` once retries run out, and
        ``MalformedPageError`` when a 2xx body is not JSON or is larger than ``max_body_bytes``.
        """
        raw = self._request("GET", url, params=params, headers=headers, auth=auth, data=None, decode=True)
        assert isinstance(raw, JsonResponse)
        return raw

    def post_form_json(
        self,
        url: str,
        *,
        data: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> JsonResponse:
        """POST a form and decode the JSON answer: only for OAuth token requests, which are
        idempotent (asking twice yields two valid tokens), so the retry policy applies unchanged."""
        raw = self._request("POST", url, params=None, headers=headers, auth=auth, data=data, decode=True)
        assert isinstance(raw, JsonResponse)
        return raw

    def get_raw(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """GET ``url`` and return its body undecoded (feeds, HTML pages). A ``304 Not Modified``
        (answer to ``If-None-Match`` / ``If-Modified-Since``) is a normal outcome, not a redirect."""
        raw = self._request("GET", url, params=params, headers=headers, auth=None, data=None, decode=False)
        assert isinstance(raw, RawResponse)
        return raw

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
        data: Mapping[str, str] | None,
        decode: bool,
    ) -> JsonResponse | RawResponse:
        safe_url = _without_query(url)
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return self._attempt(method, url, safe_url, params, headers, auth, data, decode, attempt)
            except _Retry as failure:
                server_wait = failure.server_wait
                wait = server_wait if server_wait is not None else self.retry.backoff(attempt - 1, self.rng)
                give_up = attempt == self.retry.max_attempts or (
                    server_wait is not None and server_wait > self.retry.max_server_wait
                )
                self._record(safe_url, failure.status, str(failure), None if give_up else wait)
                log.warning(
                    "connector.http.gave_up" if give_up else "connector.http.retry",
                    url=safe_url,
                    status=failure.status,
                    error=str(failure),
                    attempt=attempt,
                    wait=None if give_up else round(wait, 3),
                )
                if give_up:
                    self._give_up(failure, safe_url, attempt)
                self.clock.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    # -- one request ---------------------------------------------------------------------------

    def _attempt(
        self,
        method: str,
        url: str,
        safe_url: str,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
        data: Mapping[str, str] | None,
        decode: bool,
        attempt: int,
    ) -> JsonResponse | RawResponse:
        self.attempt_count += 1
        if not decode:
            # Feeds: let the server pick its type; an Accept of JSON alone gets a 406 from some.
            headers = {"Accept": "*/*", **(headers or {})}
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=dict(data) if data is not None else None,
                headers=dict(headers or {}),
                auth=auth,
                timeout=(self.timeouts.connect, self.timeouts.read),
                stream=True,
                # requests drops Authorization on a cross-host redirect but not custom headers
                # (Trustpilot's apikey): keys stay with the configured host, so no redirects.
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise _Retry(f"timed out: {exc.__class__.__name__}", status=None, server_wait=None) from exc
        except requests.ConnectionError as exc:
            raise _Retry(f"connection failed: {_short(exc)}", status=None, server_wait=None) from exc
        except requests.RequestException as exc:  # invalid URL, invalid header value...
            # The class name only: requests quotes the offending header value, which may be a key.
            raise ConnectorPermanentError(f"request to {safe_url} failed: {exc.__class__.__name__}") from exc

        with response:
            status = response.status_code
            if 200 <= status < 300:
                try:
                    body = self._read_body(
                        response, safe_url, self.max_body_bytes, oversize_is_malformed=True
                    )
                    document = _decode_json(body, safe_url) if decode else None
                except MalformedPageError as exc:
                    self._record(safe_url, status, str(exc), None)
                    raise
                self._record(safe_url, status, "", None)
                rate_limit = RateLimitInfo.from_headers(response.headers, self.clock.now())
                if not decode:
                    return RawResponse(safe_url, status, response.headers, body, rate_limit, attempt)
                return JsonResponse(
                    url=safe_url,
                    status=status,
                    headers=response.headers,
                    data=document,
                    rate_limit=rate_limit,
                    attempts=attempt,
                )
            if status == 304 and not decode:
                self._record(safe_url, status, "", None)
                rate_limit = RateLimitInfo.from_headers(response.headers, self.clock.now())
                return RawResponse(safe_url, status, response.headers, b"", rate_limit, attempt)
            if 300 <= status < 400:
                location = response.headers.get("Location")
                location = _without_query(location) if location else "(no Location)"
                self._record(safe_url, status, f"redirect to {location}", None)
                raise ConnectorPermanentError(
                    f"HTTP {status} from {safe_url}: redirects to {location}, which is not followed "
                    "(check the base URL)",
                    status=status,
                )
            body = self._read_body(response, safe_url, _ERROR_BODY_LIMIT, oversize_is_malformed=False)
            detail = _error_detail(body)
            if status in (401, 403):
                self._record(safe_url, status, detail, None)
                raise ConnectorAuthError(
                    f"HTTP {status} from {safe_url}: {detail}", status=status, detail=detail
                )
            if status == 429 or (status >= 500 and status not in _NOT_RETRYABLE_5XX):
                raise _Retry(
                    f"HTTP {status}: {detail}",
                    status=status,
                    server_wait=self._server_wait(response.headers),
                )
            self._record(safe_url, status, detail, None)
            raise ConnectorPermanentError(
                f"HTTP {status} from {safe_url}: {detail}", status=status, detail=detail
            )

    def _read_body(
        self, response: requests.Response, safe_url: str, limit: int, *, oversize_is_malformed: bool
    ) -> bytes:
        """The (decompressed) body, at most ``limit`` bytes; a body cut off mid-way is retried."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > limit:
                    if oversize_is_malformed:
                        raise MalformedPageError(
                            f"response from {safe_url} is larger than {limit} bytes",
                            body=b"".join(chunks)[:4096].decode("utf-8", "replace"),
                            url=safe_url,
                        )
                    break  # error bodies are only read for their message
                chunks.append(chunk)
        except requests.exceptions.ContentDecodingError as exc:
            raise MalformedPageError(
                f"response from {safe_url} has a corrupt Content-Encoding: {_short(exc)}", url=safe_url
            ) from exc
        except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as exc:
            raise _Retry(f"response cut off: {_short(exc)}", status=None, server_wait=None) from exc
        return b"".join(chunks)

    # -- waiting -------------------------------------------------------------------------------

    def _server_wait(self, headers: Mapping[str, str]) -> float | None:
        """Seconds the server asked us to wait: ``Retry-After`` first, then ``x-rate-limit-reset``."""
        now = self.clock.now()
        retry_after = headers.get("Retry-After")
        if retry_after:
            value = retry_after.strip()
            try:
                return max(0.0, float(value))
            except ValueError:
                pass
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:  # RFC 9110 dates are GMT
                    when = when.replace(tzinfo=UTC)
                return max(0.0, (when - now).total_seconds())
        reset = _int_header(headers, "x-rate-limit-reset")
        if reset is not None:
            return max(0.0, reset - now.timestamp())
        reddit_reset = _int_header(headers, "x-ratelimit-reset")  # Reddit: seconds from now
        if reddit_reset is not None:
            return float(max(0, reddit_reset))
        return None

    def _give_up(self, failure: _Retry, safe_url: str, attempt: int) -> None:
        resume_at = None
        if failure.server_wait is not None:
            resume_at = self.clock.now() + timedelta(seconds=failure.server_wait)
        tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
        if failure.status == 429:
            when = f"; the API asks to resume at {resume_at.isoformat()}" if resume_at else ""
            raise ConnectorRateLimited(f"rate limited by {safe_url} after {tries}{when}", resume_at=resume_at)
        raise ConnectorTransientError(
            f"{safe_url} still failing after {tries}: {failure}", status=failure.status
        )

    def _record(self, safe_url: str, status: int | None, error: str, wait: float | None) -> None:
        self.attempts.append(Attempt(url=safe_url, status=status, error=error, wait=wait))


def _decode_json(body: bytes, safe_url: str) -> Any:
    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(body, parse_constant=reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # ValueError covers JSONDecodeError; RecursionError is a hostile, deeply nested document.
        raise MalformedPageError(
            f"response from {safe_url} is not valid JSON: {_short(exc)}",
            body=body.decode("utf-8", "replace"),
            url=safe_url,
        ) from exc


def _error_detail(body: bytes) -> str:
    """The server's own words from an error body (JSON ``detail``/``title``/``message``/``error``)."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text[:300] or "(empty body)"
    if isinstance(data, dict):
        parts = []
        # "error" + "error_description": OAuth 2 token endpoints (RFC 6749 section 5.2).
        for key in ("title", "detail", "message", "error", "error_description", "description"):
            value = data.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
            elif isinstance(value, dict) and isinstance(value.get("message"), str):
                parts.append(value["message"])
        fault = data.get("fault")  # Apigee gateways (Trustpilot): {"fault": {"faultstring": ...}}
        if isinstance(fault, dict) and isinstance(fault.get("faultstring"), str):
            parts.append(fault["faultstring"])
        errors = data.get("errors")
        if isinstance(errors, list):
            parts.extend(
                e["message"] for e in errors[:3] if isinstance(e, dict) and isinstance(e.get("message"), str)
            )
        if parts:
            return ": ".join(parts)[:300]
    return text[:300]


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _short(exc: BaseException) -> str:
    return str(exc)[:200] or exc.__class__.__name__
