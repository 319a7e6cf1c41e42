"""Requests that never reach a DRF view still answer JSON with a ``detail`` message."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/campaigns/abc/metrics/", "/api/v1/reports/x/runs/"]
)
def test_unknown_urls_are_json_404(alice: Tenant, path: str) -> None:
    response = alice.client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json()["detail"]


def test_a_host_outside_allowed_hosts_is_json_400(alice: Tenant) -> None:
    client: Any = alice.client()
    response = client.get("/api/v1/brands/", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}
