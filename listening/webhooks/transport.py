"""SSRF-safe webhook delivery over HTTP(S), result classification and the retry schedule.

One delivery attempt = :func:`deliver`. It never follows redirects, never talks to an address the
:class:`AddressPolicy` refuses, and never takes longer than its wall-clock ``timeout``:

1. The URL is parsed strictly (http/https only, no credentials, no control characters).
2. The host is resolved once (an IP literal is used as is; numeric shorthands such as ``2130706433``
   or ``0177.0.0.1`` go through the system resolver, which expands them, and are checked like any
   other answer). If *any* resolved address is refused, the destination is refused: a name that
   mixes public and internal records is not trusted.
3. The connection is made to the vetted IP itself (urllib3 connection objects given the IP as
   host), with the original name sent as ``Host`` and as TLS SNI / certificate hostname. No second
   DNS lookup happens, so DNS rebinding cannot switch the target between check and connect; the
   peer address of the connected socket is checked again before a byte is sent.
4. A watchdog shuts the socket down at the deadline, so a receiver that drips its handshake,
   headers or body one byte at a time cannot hold the worker; the response body is read up to
   ``max_response_bytes`` and only kept for the delivery log.

Classification follows the Standard Webhooks spec ("Delivery success and failure"): 2xx is success;
410 disables the endpoint; every other status (3xx included: redirects are failures, not followed)
and every timeout or connection error is a failure that is retried on :func:`next_attempt_delay`'s
schedule, honouring ``Retry-After``. We deliberately retry other 4xx too, as the spec and Svix do:
a receiver's 401/404 is often a deploy in progress, and the schedule gives up after about three
days. A destination refused by the SSRF policy or an invalid URL is not retried (``REFUSED``).
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_TIMEOUT",
    "RETRY_SCHEDULE",
    "AddressPolicy",
    "DeliveryResult",
    "Destination",
    "Outcome",
    "UnsafeDestinationError",
    "classify_status",
    "deliver",
    "next_attempt_delay",
    "parse_retry_after",
    "refusal_reason",
    "resolve_destination",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_TIMEOUT = 15.0  # seconds, whole attempt; the spec recommends 15..30 s
MAX_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
MAX_URL_LENGTH = 2048
USER_AGENT = "listening-webhooks/1"

# Delay after the n-th failed attempt (n = 1..9): the Standard Webhooks example schedule, about 75 h
# in all. Ten attempts including the first.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
JITTER = 0.2  # each delay is scaled by a uniform factor in [1 - JITTER, 1 + JITTER]
MAX_RETRY_AFTER = timedelta(hours=24)  # a receiver cannot park a message longer than this per attempt

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Metadata services are also covered by link-local / ULA / CGNAT; named so the refusal says why.
_CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# Ranges Python's is_global still calls global (3.11) that no webhook receiver lives in.
_EXTRA_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15")
)


class UnsafeDestinationError(ValueError):
    """The URL is malformed or points at an address the policy refuses; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refusal_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address a webhook may go to, or None if it is.

    IPv6 forms that embed an IPv4 address are judged by it: 6to4 (2002::/16) and NAT64
    (64:ff9b::/96, 64:ff9b:1::/48) pass only if the embedded IPv4 address passes; IPv4-mapped
    (::ffff:0:0/96), IPv4-compatible (::/96) and Teredo are always refused.
    """
    if ip in _CLOUD_METADATA:
        return "cloud_metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "ipv4_mapped"
        if ip.teredo is not None:
            return "teredo"
        if ip.sixtofour is not None:
            inner = refusal_reason(ip.sixtofour)
            return f"6to4_{inner}" if inner else None
        if any(ip in net for net in _NAT64):
            inner = refusal_reason(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return f"nat64_{inner}" if inner else None
        if ip in _IPV4_COMPATIBLE and not (ip.is_unspecified or ip.is_loopback):
            return "ipv4_compatible"
        if ip.is_site_local:
            return "site_local"
    checks: tuple[tuple[str, bool], ...] = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link_local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("cgnat", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("reserved", any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)),
        ("not_global", not ip.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which destinations are allowed beyond the public internet.

    ``allow_networks`` lets matching addresses through even when :func:`refusal_reason` would refuse
    them (the test suite allows 127.0.0.1/32 for its local receiver; an operator may allow an internal
    relay). ``allow_hosts`` exempts exact host names (lower case, no trailing dot) from the address
    check entirely. Keep both empty in production unless there is a reason.
    """

    allow_networks: tuple[IPNetwork, ...] = ()
    allow_hosts: frozenset[str] = frozenset()
    require_https: bool = False

    @classmethod
    def from_allow_list(cls, entries: Iterable[str] | str, *, require_https: bool = False) -> AddressPolicy:
        """Build from CIDRs, IPs and host names (a list, or one comma/space-separated string).

        Raises ValueError on an entry that is neither a network nor a plausible host name.
        """
        items = entries.replace(",", " ").split() if isinstance(entries, str) else list(entries)
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in items:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=True))
                continue
            except ValueError:
                pass
            host = entry.lower().rstrip(".")
            if not host or any(c in host for c in "/:@ \t[]") or ("." not in host and host != "localhost"):
                raise ValueError(f"allow-list entry is neither a CIDR nor a host name: {entry!r}")
            hosts.add(host)
        return cls(tuple(networks), frozenset(hosts), require_https)

    def check(self, ip: IPAddress, host: str = "") -> None:
        """Raise UnsafeDestinationError unless ``ip`` (reached as ``host``) may be contacted."""
        if host and host in self.allow_hosts:
            return
        if any(ip.version == net.version and ip in net for net in self.allow_networks):
            return
        reason = refusal_reason(ip)
        if reason is not None:
            raise UnsafeDestinationError(f"{reason}:{ip}")


@dataclass(frozen=True)
class Destination:
    """A parsed, resolved and vetted webhook URL."""

    scheme: str
    host: str  # as written in the URL (IDNA-encoded), lower case, no brackets
    port: int
    target: str  # path + query sent on the request line
    addresses: tuple[IPAddress, ...]  # every resolved address, all vetted

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve_destination(url: str, policy: AddressPolicy, *, resolver: Resolver | None = None) -> Destination:
    """Parse, resolve and vet ``url``; raise UnsafeDestinationError if it must not be contacted.

    ``socket.gaierror`` (an OSError) propagates: a name that does not resolve *now* is a transient
    failure, not a refusal.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeDestinationError("invalid_url:length")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeDestinationError("invalid_url:control_or_space_character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestinationError("invalid_url:unparseable") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeDestinationError("invalid_url:scheme")
    if policy.require_https and scheme != "https":
        raise UnsafeDestinationError("invalid_url:https_required")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeDestinationError("invalid_url:credentials")
    raw_host = (parts.hostname or "").rstrip(".")
    if not raw_host:
        raise UnsafeDestinationError("invalid_url:no_host")
    try:
        host = raw_host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UnsafeDestinationError("invalid_url:host") from exc
    port = port if port is not None else (443 if scheme == "https" else 80)
    if port == 0:
        raise UnsafeDestinationError("invalid_url:port")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    if "%" in host:
        raise UnsafeDestinationError("invalid_url:zone_id")
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        answers = (resolver or _system_resolver)(host, port)
        addresses = []
        for answer in answers:
            ip = ipaddress.ip_address(answer.split("%")[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise socket.gaierror(f"no addresses for {host}") from None
    for ip in addresses:
        policy.check(ip, host)
    return Destination(scheme, host, port, target, tuple(addresses))


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    RETRY = "retry"  # failed; try again on the schedule
    DISABLE_ENDPOINT = "disable_endpoint"  # 410 Gone: stop sending to this endpoint
    REFUSED = "refused"  # invalid or unsafe destination: never sent, not retried


def classify_status(status: int) -> Outcome:
    """Standard Webhooks status handling: 2xx success, 410 disable, anything else retry."""
    if 200 <= status <= 299:
        return Outcome.SUCCESS
    if status == 410:
        return Outcome.DISABLE_ENDPOINT
    return Outcome.RETRY


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> timedelta | None:
    """``Retry-After`` as a delay: delta-seconds or an HTTP-date; None if absent or malformed."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=min(int(text[:12]), int(MAX_RETRY_AFTER.total_seconds())))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delay = when - (now or datetime.now(UTC))
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def next_attempt_delay(
    attempt_no: int, retry_after: timedelta | None = None, *, rng: random.Random | None = None
) -> timedelta | None:
    """How long to wait after failed attempt number ``attempt_no`` (1 = the first try); None = give up.

    The base delay is ``RETRY_SCHEDULE[attempt_no - 1]`` scaled by a jitter factor in
    [0.8, 1.2] (``rng`` makes it reproducible). A receiver's ``Retry-After`` can lengthen the wait
    (capped at 24 h) but never shorten it, and does not add attempts.
    """
    if attempt_no < 1:
        raise ValueError("attempt_no starts at 1")
    if attempt_no > len(RETRY_SCHEDULE):
        return None
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    delay = RETRY_SCHEDULE[attempt_no - 1] * factor
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, MAX_RETRY_AFTER)
    return delay


@dataclass(frozen=True)
class DeliveryResult:
    """What one attempt did; everything a delivery-attempt row needs."""

    outcome: Outcome
    status_code: int | None = None
    error: str = ""  # "" on success; else a short code, e.g. "timeout", "redirect_not_followed"
    response_body: str = ""  # the first max_response_bytes, decoded leniently; for the log only
    response_truncated: bool = False
    retry_after: timedelta | None = None
    remote_ip: str | None = None
    duration_s: float = 0.0


class _Watchdog:
    """Shuts the connection's socket down at the deadline, unblocking any pending read or write."""

    def __init__(self, conn: HTTPConnection, seconds: float) -> None:
        self.fired = threading.Event()
        self._conn = conn
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired.set()
        sock = getattr(self._conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _connection(dest: Destination, ip: IPAddress, timeout: float, ca_certs: str | None) -> HTTPConnection:
    if dest.scheme == "https":
        return HTTPSConnection(
            str(ip),
            dest.port,
            timeout=timeout,
            server_hostname=dest.host,
            assert_hostname=dest.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs,
        )
    return HTTPConnection(str(ip), dest.port, timeout=timeout)


def deliver(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    policy: AddressPolicy,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ca_certs: str | None = None,
    resolver: Resolver | None = None,
) -> DeliveryResult:
    """POST ``body`` with ``headers`` to ``url`` once; never raises for network or receiver trouble.

    ``timeout`` (seconds, ≤ 30) bounds the whole attempt: resolution excluded, connect, TLS, sending
    and reading the response included. ``headers`` are sent as given (the signature headers among
    them); ``Host``, ``Content-Type`` (JSON unless given) and ``User-Agent`` are added.
    """
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ValueError(f"timeout must be in (0, {MAX_TIMEOUT}] seconds")
    started = time.monotonic()
    deadline = started + timeout

    def result(outcome: Outcome, **kwargs: Any) -> DeliveryResult:
        return DeliveryResult(outcome, duration_s=time.monotonic() - started, **kwargs)

    try:
        dest = resolve_destination(url, policy, resolver=resolver)
    except UnsafeDestinationError as exc:
        return result(Outcome.REFUSED, error=f"unsafe_destination:{exc.reason}")
    except (OSError, UnicodeError) as exc:
        return result(Outcome.RETRY, error=f"dns_error:{exc}"[:500])

    send_headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    send_headers.setdefault("Content-Type", "application/json")
    send_headers.setdefault("User-Agent", USER_AGENT)
    send_headers["Accept-Encoding"] = "identity"  # never inflate a receiver-controlled body
    send_headers["Host"] = dest.host_header

    last_error = "connect_error"
    for ip in dest.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return result(Outcome.RETRY, error="timeout")
        conn = _connection(dest, ip, min(connect_timeout, remaining), ca_certs)
        with _Watchdog(conn, remaining) as watchdog:
            try:
                conn.connect()
                # Re-check at connect time: the socket must be attached to the vetted address.
                peer = ipaddress.ip_address(str(conn.sock.getpeername()[0]).split("%")[0])
                if peer != ip:
                    conn.close()
                    return result(Outcome.REFUSED, error=f"unsafe_destination:peer_mismatch:{peer}")
                try:
                    policy.check(peer, dest.host)
                except UnsafeDestinationError as exc:
                    conn.close()
                    return result(Outcome.REFUSED, error=f"unsafe_destination:{exc.reason}")
            except (OSError, urllib3.exceptions.HTTPError, ValueError) as exc:  # ValueError: CertificateError
                conn.close()
                if watchdog.fired.is_set():
                    return result(Outcome.RETRY, error="timeout", remote_ip=str(ip))
                last_error = f"connect_error:{type(exc).__name__}"
                continue
            return _exchange(
                conn, dest, body, send_headers, deadline, max_response_bytes, watchdog, result, ip
            )
    return result(Outcome.RETRY, error=last_error)


def _exchange(
    conn: HTTPConnection,
    dest: Destination,
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
    max_response_bytes: int,
    watchdog: _Watchdog,
    result: Callable[..., DeliveryResult],
    ip: IPAddress,
) -> DeliveryResult:
    remote = str(ip)
    try:
        conn.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        conn.request(
            "POST", dest.target, body=body, headers=headers, preload_content=False, decode_content=False
        )
        response = conn.getresponse()
    except (OSError, urllib3.exceptions.HTTPError, ValueError) as exc:
        conn.close()
        error = "timeout" if watchdog.fired.is_set() or isinstance(exc, TimeoutError) else "connection_error"
        return result(
            Outcome.RETRY,
            error=f"{error}:{type(exc).__name__}" if error != "timeout" else error,
            remote_ip=remote,
        )

    if watchdog.fired.is_set():
        # The deadline cut the status line or headers short; http.client takes EOF as their end, so
        # what we hold is not a real answer.
        conn.close()
        return result(Outcome.RETRY, error="timeout", remote_ip=remote)
    status = response.status
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        while size < max_response_bytes:
            if time.monotonic() >= deadline:
                truncated = True
                break
            chunk = response.read1(min(16384, max_response_bytes - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        else:
            truncated = True
    except (OSError, urllib3.exceptions.HTTPError, ValueError):
        # The status line and headers arrived in time; a body cut off by the deadline or a reset
        # does not change what the receiver told us.
        truncated = True
    finally:
        response.release_conn()
        conn.close()

    outcome = classify_status(status)
    error = ""
    if outcome is not Outcome.SUCCESS:
        error = "redirect_not_followed" if 300 <= status <= 399 else f"http_{status}"
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if outcome is Outcome.RETRY else None
    return result(
        outcome,
        status_code=status,
        error=error,
        response_body=b"".join(chunks).decode("utf-8", errors="replace"),
        response_truncated=truncated,
        retry_after=retry_after,
        remote_ip=remote,
    )
