"""The API served on loopback HTTP (pytest-django's threaded live server over the real database and,
with REDIS_URL set, the real Redis cache), and clients that carry a tenant's key."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import Tenant


class Http:
    """A requests session for one API key against the live server."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Api-Key {key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def base_url(live_server: Any) -> str:
    return str(live_server.url)


@pytest.fixture
def alice_http(base_url: str, alice: Tenant) -> Iterator[Http]:
    http = Http(base_url, alice.owner_key)
    yield http
    http.session.close()


@pytest.fixture
def bob_http(base_url: str, bob: Tenant) -> Iterator[Http]:
    http = Http(base_url, bob.owner_key)
    yield http
    http.session.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    fuzz = sys.modules.get("tests.security.test_schema_fuzz")
    line = fuzz.summary() if fuzz is not None else None
    if line:
        terminalreporter.write_line(line)
