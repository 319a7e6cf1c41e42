from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from listening.tenancy.models import ApiKey, Role
from tests.conftest import Tenant
from tests.security.openapi import assert_documented


def _client(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Api-Key",
        "Api-Key ",
        "Api-Key nonsense",
        "Api-Key sl_deadbeef.wrong",
        "Bearer abc",
        "Api-Key " + "x" * 500,
    ],
)
def test_missing_or_wrong_key_is_401(alice: Tenant, header: str | None) -> None:
    response = _client(header).get("/api/v1/brands/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_valid_key_authenticates_and_records_use(alice: Tenant) -> None:
    response = alice.client().get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["organization"]["id"] == alice.org.pk
    assert response.json()["role"] == Role.OWNER
    assert_documented("GET", "/api/v1/me/", response.json())
    assert ApiKey.objects.filter(organization=alice.org, last_used_at__isnull=False).exists()


def test_key_with_right_prefix_but_wrong_secret_is_401(alice: Tenant) -> None:
    prefix = alice.owner_key.split(".")[0]
    assert _client(f"Api-Key {prefix}.not-the-secret").get("/api/v1/brands/").status_code == 401


def test_keys_are_stored_hashed(alice: Tenant) -> None:
    for key in ApiKey.objects.filter(organization=alice.org):
        assert alice.owner_key not in (key.hashed_key, key.prefix)
        assert len(key.hashed_key) == 64


def test_revoked_key_is_401(alice: Tenant) -> None:
    owner = alice.client()
    created = owner.post("/api/v1/api-keys/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    new_key = created.json()["key"]
    assert "key" not in owner.get(f"/api/v1/api-keys/{created.json()['id']}/").json()  # shown once
    assert _client(f"Api-Key {new_key}").get("/api/v1/brands/").status_code == 200
    assert owner.delete(f"/api/v1/api-keys/{created.json()['id']}/").status_code == 204
    assert _client(f"Api-Key {new_key}").get("/api/v1/brands/").status_code == 401


def test_viewer_reads_but_cannot_write(alice: Tenant) -> None:
    viewer = alice.client(Role.VIEWER)
    assert viewer.get("/api/v1/brands/").status_code == 200
    assert viewer.post("/api/v1/brands/", {"name": "X", "query": "x"}, format="json").status_code == 403
    assert viewer.patch(f"/api/v1/brands/{alice.brand.pk}/", {"name": "Y"}, format="json").status_code == 403
    assert viewer.delete(f"/api/v1/brands/{alice.brand.pk}/").status_code == 403


def test_analyst_writes_but_cannot_manage_keys(alice: Tenant) -> None:
    analyst = alice.client(Role.ANALYST)
    assert analyst.post("/api/v1/brands/", {"name": "New", "query": "new"}, format="json").status_code == 201
    assert analyst.get("/api/v1/api-keys/").status_code == 403
    assert analyst.post("/api/v1/api-keys/", {"name": "mine"}, format="json").status_code == 403


def test_new_key_never_exceeds_the_callers_role(alice: Tenant) -> None:
    created = alice.client().post("/api/v1/api-keys/", {"name": "x", "role": "owner"}, format="json").json()
    assert created["role"] == Role.OWNER  # the owner's own membership; "role" in the body is ignored
