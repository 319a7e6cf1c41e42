"""The shared HTTP client against a real local server: retries, waits, error sorting, hostile bodies."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from ingestion.connectors import (
    ConnectorAuthError,
    ConnectorPermanentError,
    ConnectorRateLimited,
    ConnectorTransientError,
    MalformedPageError,
    RetryPolicy,
)
from ingestion.connectors.http import RateLimitInfo
from tests.ingestion.servers.harness import FakeApi, Request, Response, serve
from tests.ingestion.servers.support import FakeClock, make_http


class OkApi(FakeApi):
    """Answers {"ok": true} unless a fault is scripted."""

    def handle(self, request: Request) -> Response:
        return Response.json({"ok": True, "path": request.path})


@pytest.fixture
def api() -> Iterator[OkApi]:
    with serve(OkApi()) as running:
        yield running


def test_success_returns_json_and_one_attempt(api: OkApi, clock: FakeClock) -> None:
    response = make_http(clock).get_json(api.base_url + "/a", params={"q": "x"})
    assert response.data == {"ok": True, "path": "/a"}
    assert response.attempts == 1
    assert api.requests[0].query == {"q": "x"}
    assert clock.sleeps == []


def test_5xx_is_retried_with_capped_full_jitter_backoff(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.json({"error": "down"}, 503), times=3)
    http = make_http(clock, max_attempts=5, base_delay=2.0, max_delay=5.0)
    response = http.get_json(api.base_url + "/a")
    assert response.data["ok"] is True
    assert response.attempts == 4
    assert len(api.requests) == 4
    # n-th retry waits uniform(0, min(5, 2 * 2**n)): 0..2, 0..4, 0..5.
    assert len(clock.sleeps) == 3
    for sleep, ceiling in zip(clock.sleeps, [2.0, 4.0, 5.0], strict=True):
        assert 0.0 <= sleep <= ceiling
    assert [a.status for a in http.attempts] == [503, 503, 503, 200]


def test_retries_run_out_into_a_transient_error(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.json({"message": "boom"}, 500), times=10)
    with pytest.raises(ConnectorTransientError, match="after 3 attempts") as caught:
        make_http(clock, max_attempts=3).get_json(api.base_url + "/a")
    assert caught.value.status == 500
    assert len(api.requests) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("status", [400, 404, 409, 422, 501])
def test_other_4xx_and_501_are_never_retried(api: OkApi, clock: FakeClock, status: int) -> None:
    api.script("/a", Response.json({"detail": "bad query"}, status))
    with pytest.raises(ConnectorPermanentError, match=f"HTTP {status}.*bad query") as caught:
        make_http(clock).get_json(api.base_url + "/a")
    assert caught.value.status == status
    assert len(api.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors_are_sorted_and_not_retried(api: OkApi, clock: FakeClock, status: int) -> None:
    api.script("/a", Response.json({"title": "Unauthorized", "detail": "Token expired"}, status))
    with pytest.raises(ConnectorAuthError) as caught:
        make_http(clock).get_json(api.base_url + "/a")
    assert caught.value.status == status
    assert caught.value.detail == "Unauthorized: Token expired"
    assert len(api.requests) == 1


def test_retry_after_seconds_is_honoured(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.json({}, 429, {"Retry-After": "7"}))
    response = make_http(clock).get_json(api.base_url + "/a")
    assert response.attempts == 2
    assert clock.sleeps == [7.0]


def test_retry_after_http_date_is_honoured(api: OkApi, clock: FakeClock) -> None:
    when = clock.now().replace(microsecond=0) + timedelta(seconds=30)
    api.script("/a", Response.json({}, 503, {"Retry-After": format_datetime(when, usegmt=True)}))
    make_http(clock).get_json(api.base_url + "/a")
    assert len(clock.sleeps) == 1
    assert 29.0 <= clock.sleeps[0] <= 30.0


def test_x_rate_limit_reset_is_honoured_without_retry_after(api: OkApi, clock: FakeClock) -> None:
    reset = int(clock.now().timestamp()) + 20
    api.script(
        "/a", Response.json({}, 429, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
    )
    make_http(clock).get_json(api.base_url + "/a")
    assert len(clock.sleeps) == 1
    assert 19.0 <= clock.sleeps[0] <= 20.0


def test_a_long_server_wait_is_not_slept_but_raised_with_resume_time(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.json({}, 429, {"Retry-After": "900"}), times=5)
    started = clock.now()
    with pytest.raises(ConnectorRateLimited) as caught:
        make_http(clock, max_server_wait=60.0).get_json(api.base_url + "/a")
    assert caught.value.resume_at == started + timedelta(seconds=900)
    assert clock.sleeps == []
    assert len(api.requests) == 1


def test_429_until_retries_run_out_raises_rate_limited(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.json({}, 429, {"Retry-After": "2"}), times=10)
    with pytest.raises(ConnectorRateLimited, match="after 3 attempts") as caught:
        make_http(clock, max_attempts=3).get_json(api.base_url + "/a")
    assert caught.value.resume_at is not None
    assert clock.sleeps == [2.0, 2.0]
    assert len(api.requests) == 3


def test_429_without_any_hint_backs_off_and_has_no_resume_time(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.json({}, 429), times=10)
    with pytest.raises(ConnectorRateLimited) as caught:
        make_http(clock, max_attempts=2, base_delay=1.0).get_json(api.base_url + "/a")
    assert caught.value.resume_at is None
    assert len(clock.sleeps) == 1
    assert 0.0 <= clock.sleeps[0] <= 1.0


def test_a_slow_response_times_out_and_is_retried(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response(status=200, body=b"{}", delay=1.0))
    response = make_http(clock, read_timeout=0.2).get_json(api.base_url + "/a")
    assert response.attempts == 2
    assert len(api.requests) == 2


def test_a_server_that_stays_slow_ends_in_a_transient_error(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response(status=200, body=b"{}", delay=1.0), times=2)
    with pytest.raises(ConnectorTransientError, match="timed out"):
        make_http(clock, max_attempts=2, read_timeout=0.2).get_json(api.base_url + "/a")
    assert len(api.requests) == 2


def test_connection_refused_is_transient(clock: FakeClock) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectorTransientError, match="connection failed"):
        make_http(clock, max_attempts=2).get_json(f"http://127.0.0.1:{port}/a")
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'{"value": NaN}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
    ids=["truncated", "empty", "invalid-utf8", "nan", "deeply-nested"],
)
def test_a_body_that_is_not_json_is_malformed_and_not_retried(
    api: OkApi, clock: FakeClock, body: bytes, reason: str
) -> None:
    api.script("/a", Response.raw(body))
    with pytest.raises(MalformedPageError, match=reason) as caught:
        make_http(clock).get_json(api.base_url + "/a")
    assert len(api.requests) == 1
    assert len(caught.value.body) <= MalformedPageError.MAX_QUARANTINED_BODY


def test_an_oversized_body_is_malformed(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.raw(b'{"x": "' + b"a" * 200_000 + b'"}'))
    http = make_http(clock)
    http.max_body_bytes = 100_000
    with pytest.raises(MalformedPageError, match="larger than 100000 bytes"):
        http.get_json(api.base_url + "/a")


def test_a_gzip_bomb_is_stopped_at_the_decompressed_limit(api: OkApi, clock: FakeClock) -> None:
    bomb = gzip.compress(b"[" + b" " * 50_000_000 + b"]")
    assert len(bomb) < 100_000
    api.script("/a", Response.raw(bomb, headers={"Content-Encoding": "gzip"}))
    http = make_http(clock)
    http.max_body_bytes = 1_000_000
    with pytest.raises(MalformedPageError, match="larger than"):
        http.get_json(api.base_url + "/a")


def test_corrupt_gzip_is_malformed(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.raw(b"\x1f\x8b\x08\x00garbage-not-gzip", headers={"Content-Encoding": "gzip"}))
    with pytest.raises(MalformedPageError, match="Content-Encoding"):
        make_http(clock).get_json(api.base_url + "/a")


def test_rate_limit_headers_are_read() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    x = RateLimitInfo.from_headers(
        {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "3", "x-rate-limit-reset": "1767225900"}, now
    )
    assert x == RateLimitInfo(limit=450, remaining=3, reset_at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC))
    ietf = RateLimitInfo.from_headers({"ratelimit-remaining": "9", "ratelimit-reset": "60"}, now)
    assert ietf == RateLimitInfo(limit=None, remaining=9, reset_at=now + timedelta(seconds=60))
    assert RateLimitInfo.from_headers({"content-type": "x", "x-rate-limit-reset": "soon"}, now) is None


def test_secrets_in_the_query_string_stay_out_of_errors_and_attempts(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response.json({"detail": "nope"}, 404))
    http = make_http(clock)
    with pytest.raises(ConnectorPermanentError) as caught:
        http.get_json(api.base_url + "/a", params={"apikey": "s3cret"})
    assert "s3cret" not in str(caught.value)
    assert all("s3cret" not in attempt.url for attempt in http.attempts)


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)


def test_redirects_are_not_followed(api: OkApi, clock: FakeClock) -> None:
    api.script("/a", Response(status=302, headers={"Location": "http://127.0.0.1:9/steal?key=1"}))
    with pytest.raises(
        ConnectorPermanentError, match=r"redirects to http://127.0.0.1:9/steal, which is not"
    ) as caught:
        make_http(clock).get_json(api.base_url + "/a", headers={"apikey": "secret"})
    assert caught.value.status == 302
    assert len(api.requests) == 1


def test_rate_limit_resume_at_only_when_the_window_is_used_up() -> None:
    reset = datetime(2026, 1, 1, 0, 15, tzinfo=UTC)
    assert RateLimitInfo(limit=450, remaining=0, reset_at=reset).resume_at == reset
    assert RateLimitInfo(limit=450, remaining=1, reset_at=reset).resume_at is None
