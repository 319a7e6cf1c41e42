"""Oversized and compressed-bomb bodies are refused early, over real HTTP on loopback.

A declared Content-Length over the limit is answered 413 from the headers alone (the body is never
sent); a gzip body is inflated only up to the limit, so a bomb costs the server a few megabytes, not
the gigabyte it would inflate to; an encoding the server does not speak is 415. Both the bulk
endpoint (/ingest, INGEST_MAX_BYTES) and every other JSON endpoint (DATA_UPLOAD_MAX_MEMORY_SIZE) are
checked. The server runs in this process, so tracemalloc sees what it allocates.
"""

from __future__ import annotations

import functools
import gzip
import http.client
import json
import socket
import time
import tracemalloc
import zlib
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Tenant

GIB = 1 << 30
# What the server may allocate while refusing a body: a few times the 5 MiB limit, far from 1 GiB.
MEMORY_CEILING = 64 << 20


@functools.cache
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to just over 1 GiB: a JSON envelope around a string of zeros."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"0" * (1 << 20)
    parts = [deflate.compress(b'{"source": 1, "items": ["')]
    parts += [deflate.compress(zeros) for _ in range(GIB // len(zeros) + 1)]
    parts += [deflate.compress(b'"]}'), deflate.flush()]
    return b"".join(parts)


def _connection(live_server: Any) -> http.client.HTTPConnection:
    url = urlsplit(str(live_server.url))
    return http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)


def _post(live_server: Any, key: str, path: str, body: bytes, **headers: str) -> tuple[int, dict[str, Any]]:
    connection = _connection(live_server)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json", **headers},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def _headers_only(live_server: Any, key: str, path: str, declared: int) -> tuple[int, bytes]:
    """Send a request's headers declaring ``declared`` body bytes, send none, read the answer."""
    url = urlsplit(str(live_server.url))
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=30) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
                f"Authorization: Api-Key {key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {declared}\r\n\r\n"
            ).encode()
        )
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    status = int(received.split(b" ", 2)[1])
    return status, received.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize("path", ["/api/v1/ingest", "/api/v1/brands/"])
def test_a_declared_huge_body_is_refused_from_the_headers(live_server: Any, alice: Tenant, path: str) -> None:
    status, body = _headers_only(live_server, alice.analyst_key, path, declared=10 * GIB)
    assert status == 413, body
    assert b"10737418240 bytes" in body  # the refusal names the declared size: nothing was read


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/api/v1/ingest", "/api/v1/brands/"])
def test_a_gzip_bomb_is_refused_while_inflating(live_server: Any, alice: Tenant, path: str) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 2 << 20  # about 1 MB on the wire, 1 GiB inflated
    tracemalloc.start()
    started = time.perf_counter()
    try:
        status, body = _post(live_server, alice.analyst_key, path, bomb, **{"Content-Encoding": "gzip"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    print(f"gzip bomb {len(bomb)} B -> {path}: {status} in {elapsed:.2f} s, peak {peak >> 20} MiB")
    assert status == 413, body
    assert "Inflated request body exceeds" in body["detail"]
    assert peak < MEMORY_CEILING


def test_a_nested_bomb_is_inflated_once(live_server: Any, alice: Tenant) -> None:
    """A few KB of gzip inside gzip: one inflation gives ~1 MB of gzip bytes, which is not JSON."""
    nested = gzip.compress(gzip.compress(b"0" * (64 << 20), 9), 9)
    assert len(nested) < 16_384
    status, body = _post(
        live_server, alice.analyst_key, "/api/v1/ingest", nested, **{"Content-Encoding": "gzip"}
    )
    assert status == 400, body


@pytest.mark.parametrize("path", ["/api/v1/ingest", "/api/v1/brands/"])
@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, gzip"])
def test_unknown_encodings_are_415(live_server: Any, alice: Tenant, path: str, encoding: str) -> None:
    status, body = _post(live_server, alice.analyst_key, path, b"{}", **{"Content-Encoding": encoding})
    assert status == 415, body
