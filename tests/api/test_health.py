from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test import Client


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def broken_database() -> Iterator[None]:
    """Point the default connection at nothing for the duration of a test, then restore it."""
    conn = connections["default"]
    saved = dict(conn.settings_dict)
    conn.close()
    if conn.vendor == "postgresql":
        conn.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
        conn.settings_dict.setdefault("OPTIONS", {})["connect_timeout"] = 2
    else:
        conn.settings_dict["NAME"] = "/nonexistent-dir/listening.sqlite3"
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_ready_when_database_and_broker_answer(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["database"]["ok"] and response.json()["checks"]["broker"]["ok"]


@pytest.mark.django_db(transaction=True)
def test_not_ready_when_database_is_unreachable(client: Client, broken_database: None) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["ok"] is False
    assert client.get("/healthz").status_code == 200  # the process itself is alive


@pytest.mark.django_db(transaction=True)
def test_not_ready_when_broker_is_unreachable(client: Client, settings: object) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_api_root_lists_docs_and_resources_without_a_key(client: Client) -> None:
    """What a new user opening the printed API address sees: links they can follow, no data."""
    response = client.get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"].endswith("/api/docs/")
    assert body["resources"]["brands"].endswith("/api/v1/brands/")
    assert client.get(body["resources"]["brands"]).status_code in (401, 403)  # the data needs a key
