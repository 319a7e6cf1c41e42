"""Webhook transport: SSRF refusals, real deliveries to a loopback receiver, classification, schedule."""

from __future__ import annotations

import ipaddress
import random
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from listening.webhooks import signing
from listening.webhooks.transport import (
    RETRY_SCHEDULE,
    AddressPolicy,
    Outcome,
    UnsafeDestinationError,
    classify_status,
    deliver,
    next_attempt_delay,
    parse_retry_after,
    refusal_reason,
    resolve_destination,
)
from tests.webhooks.receiver import Behaviour, Receiver

LOOPBACK_ONLY = AddressPolicy.from_allow_list(["127.0.0.1/32"])
NO_EXCEPTIONS = AddressPolicy()

SPELLINGS_OF_127_0_0_1 = (
    "http://127.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://127.1/",
)


def _localhost_is_v4_only() -> bool:
    return {info[4][0] for info in socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)} == {
        "127.0.0.1"
    }


REFUSED_URLS = [
    "http://localhost/",
    "http://127.0.0.1/",
    "http://127.0.0.2:8080/x",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://127.1/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.0.1/",
    "http://[fd00:ec2::254]/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[fec0::1]/",
    "http://100.64.0.1/",
    "http://100.100.100.200/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.0.192/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://[2001:db8::1]/",
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::]/",  # 6to4 of 169.254.169.254
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[2001::1]/",  # Teredo
    "HTTP://LOCALHOST./",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
@pytest.mark.parametrize("policy", [NO_EXCEPTIONS, None], ids=["no-allow-list", "loopback-allowed"])
def test_internal_destinations_are_refused(url: str, policy: AddressPolicy | None) -> None:
    if policy is None:
        # With 127.0.0.1/32 allowed, only literal 127.0.0.1 gets through; every other form still fails.
        if url in SPELLINGS_OF_127_0_0_1 or (
            url.lower().startswith("http://localhost") and _localhost_is_v4_only()
        ):
            pytest.skip("this form is 127.0.0.1 itself, which the allow-list admits")
        policy = LOOPBACK_ONLY
    with pytest.raises(UnsafeDestinationError):
        resolve_destination(url, policy)
    result = deliver(url, b"{}", {}, policy=policy, timeout=2)
    assert result.outcome is Outcome.REFUSED
    assert result.error.startswith("unsafe_destination:")
    assert result.status_code is None


def test_numeric_host_forms_resolve_to_loopback_and_are_named() -> None:
    for url in ("http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/"):
        with pytest.raises(UnsafeDestinationError, match=r"^loopback:127\.0\.0\.1$"):
            resolve_destination(url, NO_EXCEPTIONS)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "cloud_metadata"),
        ("fd00:ec2::254", "cloud_metadata"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address under test, nothing binds it)
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("100.64.0.1", "cgnat"),
        ("169.254.1.1", "link_local"),
        ("fe80::1", "link_local"),
        ("224.0.0.251", "multicast"),
        ("ff05::1", "multicast"),
        ("::ffff:8.8.8.8", "ipv4_mapped"),  # mapped forms are refused outright
        ("::8.8.8.8", "ipv4_compatible"),
        ("2002:0a00:0001::", "6to4_private"),
        ("64:ff9b::7f00:1", "nat64_loopback"),
        ("2001:0:4136:e378::1", "teredo"),
        ("fec0::1", "site_local"),
    ],
)
def test_refusal_reasons(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:0808:0808::", "64:ff9b::808:808", "93.184.216.34"],
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/",
        "javascript:alert(1)",
        "http://user:pw@example.com/",
        "http://@example.com/",
        "http://127.0.0.1:80@10.0.0.1/",
        "http://exa mple.com/",
        "http://example.com/\r\nX-Evil: 1",
        "http:///path",
        "http://example.com:99999/",
        "http://example.com:0/",
        "http://[::1/",
        "http://[fe80::1%25eth0]/",
        "http://" + "a" * 3000 + ".com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeDestinationError, match=r"^invalid_url:"):
        resolve_destination(url, LOOPBACK_ONLY)
    assert deliver(url, b"{}", {}, policy=LOOPBACK_ONLY).outcome is Outcome.REFUSED


def test_https_can_be_required() -> None:
    policy = AddressPolicy.from_allow_list("127.0.0.1/32", require_https=True)
    with pytest.raises(UnsafeDestinationError, match="https_required"):
        resolve_destination("http://127.0.0.1/", policy)
    assert resolve_destination("https://127.0.0.1/x?y=1", policy).target == "/x?y=1"


def test_a_name_with_one_internal_record_is_refused() -> None:
    def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(UnsafeDestinationError, match=r"private:10\.0\.0\.7"):
        resolve_destination("https://hooks.example.com/", NO_EXCEPTIONS, resolver=mixed)


def test_allow_list_parsing() -> None:
    policy = AddressPolicy.from_allow_list("127.0.0.1/32, ::1/128 relay.internal.example")
    assert policy.allow_networks == (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
    assert policy.allow_hosts == frozenset({"relay.internal.example"})
    for bad in ("10.0.0.1/8", "http://x/", "a b/c"):
        with pytest.raises(ValueError):
            AddressPolicy.from_allow_list([bad])


def test_resolution_happens_once_and_the_connection_goes_to_the_vetted_address() -> None:
    """DNS rebinding: a second lookup would answer an internal address; there is none."""
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.1"]

    policy = AddressPolicy.from_allow_list(["127.0.0.1/32"])
    with Receiver() as rx:
        url = f"http://hooks.example.test:{rx.port}/in"
        result = deliver(url, b"{}", {}, policy=policy, resolver=rebinding, timeout=5)
    assert result.outcome is Outcome.SUCCESS, result
    assert calls == ["hooks.example.test"]
    assert result.remote_ip == "127.0.0.1"
    assert rx.requests[0].headers["host"] == f"hooks.example.test:{rx.port}"


def _signed(secret: str, msg_id: str, body: bytes) -> dict[str, str]:
    return signing.build_headers([secret], msg_id, body)


def test_signed_delivery_is_verified_by_the_receiver() -> None:
    secret = signing.generate_secret()
    body = b'{"type":"alert.fired","data":{}}'
    with Receiver(secret=secret) as rx:
        result = deliver(rx.url, body, _signed(secret, "msg_one", body), policy=LOOPBACK_ONLY, timeout=5)
    assert result.outcome is Outcome.SUCCESS
    assert (result.status_code, result.error, result.response_body) == (200, "", "ok")
    assert rx.requests[0].verified
    assert rx.requests[0].path == "/hooks/alerts"
    assert rx.requests[0].headers["content-type"] == "application/json"
    assert rx.processed_ids == ["msg_one"]


def test_receiver_down_then_up_gets_the_same_id_and_processes_once() -> None:
    secret = signing.generate_secret()
    body = b'{"type":"alert.fired"}'
    msg_id = signing.new_message_id()
    with Receiver(Behaviour(status=500, body=b"boom"), Behaviour(status=200), secret=secret) as rx:
        first = deliver(rx.url, body, _signed(secret, msg_id, body), policy=LOOPBACK_ONLY, timeout=5)
        second = deliver(rx.url, body, _signed(secret, msg_id, body), policy=LOOPBACK_ONLY, timeout=5)
        third = deliver(rx.url, body, _signed(secret, msg_id, body), policy=LOOPBACK_ONLY, timeout=5)
    assert (first.outcome, first.status_code, first.error) == (Outcome.RETRY, 500, "http_500")
    assert first.response_body == "boom"
    assert second.outcome is Outcome.SUCCESS and third.outcome is Outcome.SUCCESS
    assert [r.headers["webhook-id"] for r in rx.requests] == [msg_id] * 3
    assert all(r.verified for r in rx.requests)
    assert rx.processed_ids == [msg_id]


def test_gone_disables_the_endpoint() -> None:
    with Receiver(Behaviour(status=410)) as rx:
        result = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=5)
    assert (result.outcome, result.status_code) == (Outcome.DISABLE_ENDPOINT, 410)
    assert result.retry_after is None


def test_redirect_is_not_followed() -> None:
    with Receiver(Behaviour(status=302, headers={"Location": "/elsewhere"}), Behaviour(status=200)) as rx:
        rx.script[0].headers["Location"] = f"http://127.0.0.1:{rx.port}/elsewhere"
        result = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=5)
    assert (result.outcome, result.status_code, result.error) == (Outcome.RETRY, 302, "redirect_not_followed")
    assert [r.path for r in rx.requests] == ["/hooks/alerts"]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_throttling_statuses_carry_retry_after(status: int) -> None:
    with Receiver(Behaviour(status=status, headers={"Retry-After": "120"})) as rx:
        result = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=5)
    assert (result.outcome, result.status_code) == (Outcome.RETRY, status)
    assert result.retry_after == timedelta(seconds=120)
    assert next_attempt_delay(1, result.retry_after, rng=random.Random(0)) == timedelta(seconds=120)


def test_silent_receiver_is_cut_off_at_the_deadline() -> None:
    with Receiver(Behaviour(mode="slow")) as rx:
        result = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=1.0)
        assert rx.client_gone.wait(10), "the client should have hung up on the silent receiver"
    assert (result.outcome, result.error, result.status_code) == (Outcome.RETRY, "timeout", None)


def test_drip_fed_headers_are_cut_off_at_the_deadline() -> None:
    # 10 kB at one byte per 50 ms would take over 8 minutes; every single read is quick, so only a
    # wall-clock deadline stops it.
    with Receiver(Behaviour(mode="drip_headers")) as rx:
        result = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=1.0)
        assert rx.client_gone.wait(10), "the client should have hung up on the dripping receiver"
    assert (result.outcome, result.error) == (Outcome.RETRY, "timeout")


def test_drip_fed_body_after_a_2xx_keeps_the_status_and_stops_reading() -> None:
    with Receiver(Behaviour(status=200, body=b"x" * 10_000, mode="drip_body")) as rx:
        result = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=1.0)
        assert rx.client_gone.wait(10)
    assert (result.outcome, result.status_code) == (Outcome.SUCCESS, 200)
    assert result.response_truncated
    assert len(result.response_body) < 10_000


def test_large_response_body_is_capped() -> None:
    with Receiver(Behaviour(status=200, body=b"y" * 1_000_000)) as rx:
        result = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=5, max_response_bytes=65536)
    assert result.outcome is Outcome.SUCCESS
    assert len(result.response_body) == 65536 and result.response_truncated


def test_hang_up_and_refused_connection_are_retried() -> None:
    with Receiver(Behaviour(mode="close")) as rx:
        hung_up = deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY, timeout=5)
    assert hung_up.outcome is Outcome.RETRY and hung_up.error.startswith("connection_error")
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = deliver(f"http://127.0.0.1:{port}/", b"{}", {}, policy=LOOPBACK_ONLY, timeout=5)
    assert refused.outcome is Outcome.RETRY and refused.error.startswith("connect_error")


def test_unresolvable_name_is_a_transient_failure() -> None:
    result = deliver("http://does-not-exist.invalid/", b"{}", {}, policy=NO_EXCEPTIONS, timeout=5)
    assert result.outcome is Outcome.RETRY and result.error.startswith("dns_error")


def test_timeout_above_thirty_seconds_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        deliver("http://127.0.0.1/", b"", {}, policy=LOOPBACK_ONLY, timeout=31)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SUCCESS),
        (204, Outcome.SUCCESS),
        (299, Outcome.SUCCESS),
        (301, Outcome.RETRY),
        (400, Outcome.RETRY),
        (404, Outcome.RETRY),
        (410, Outcome.DISABLE_ENDPOINT),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (100, Outcome.RETRY),
    ],
)
def test_status_classification(status: int, outcome: Outcome) -> None:
    assert classify_status(status) is outcome


def test_retry_schedule_spans_about_three_days_with_bounded_jitter() -> None:
    rng = random.Random(7)
    delays = []
    attempt = 1
    while (delay := next_attempt_delay(attempt, rng=rng)) is not None:
        delays.append(delay)
        attempt += 1
    assert attempt == 10  # ten attempts in all, the first one immediate
    total = sum(delays, timedelta())
    assert timedelta(days=2.5) < total < timedelta(days=3.8)
    for base, got in zip(RETRY_SCHEDULE, delays, strict=True):
        assert base * 0.8 <= got <= base * 1.2
    with pytest.raises(ValueError):
        next_attempt_delay(0)


def test_retry_after_lengthens_but_never_shortens_and_is_capped() -> None:
    rng = random.Random(1)
    assert next_attempt_delay(4, timedelta(seconds=1), rng=rng) >= timedelta(hours=1.6)  # type: ignore[operator]
    assert next_attempt_delay(1, timedelta(days=30), rng=rng) == timedelta(hours=24)
    assert next_attempt_delay(9, timedelta(days=30), rng=rng) is not None
    assert next_attempt_delay(10, timedelta(seconds=5), rng=rng) is None


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now=now) == timedelta(seconds=120)
    assert parse_retry_after("Thu, 01 Jan 2026 12:10:00 GMT", now=now) == timedelta(minutes=10)
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == timedelta(0)
    assert parse_retry_after("99999999999999999999", now=now) == timedelta(hours=24)
    for bad in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(bad, now=now) is None


def test_ipv6_loopback_delivery_when_allowed() -> None:
    policy = AddressPolicy.from_allow_list(["::1/128"])
    try:
        rx = Receiver(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with rx:
        result = deliver(rx.url, b"{}", {}, policy=policy, timeout=5)
    assert result.outcome is Outcome.SUCCESS and result.remote_ip == "::1"
    assert rx.requests[0].headers["host"] == f"[::1]:{rx.port}"
    assert deliver(rx.url, b"{}", {}, policy=LOOPBACK_ONLY).outcome is Outcome.REFUSED


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A throw-away self-signed certificate for hooks.example.test, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=hooks.example.test",
            "-addext",
            "subjectAltName=DNS:hooks.example.test",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def _to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def test_https_pins_the_ip_but_sends_the_name_as_sni_and_checks_the_certificate(
    certificate: tuple[str, str],
) -> None:
    cert, _ = certificate
    with Receiver(tls=certificate) as rx:
        url = f"https://hooks.example.test:{rx.port}/in"
        ok = deliver(url, b"{}", {}, policy=LOOPBACK_ONLY, resolver=_to_loopback, ca_certs=cert, timeout=5)
        wrong_name = deliver(
            f"https://other.example.test:{rx.port}/in",
            b"{}",
            {},
            policy=LOOPBACK_ONLY,
            resolver=_to_loopback,
            ca_certs=cert,
            timeout=5,
        )
        untrusted = deliver(url, b"{}", {}, policy=LOOPBACK_ONLY, resolver=_to_loopback, timeout=5)
    assert ok.outcome is Outcome.SUCCESS, ok
    assert rx.sni[0] == "hooks.example.test"
    assert rx.requests[0].headers["host"] == f"hooks.example.test:{rx.port}"
    assert wrong_name.outcome is Outcome.RETRY and wrong_name.error.startswith("connect_error")
    assert untrusted.outcome is Outcome.RETRY and untrusted.error.startswith("connect_error")
    assert len(rx.requests) == 1
    assert Path(cert).exists()
