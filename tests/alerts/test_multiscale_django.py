"""A rule says what its last check saw and why it is quiet; a backtest over the API lists the
episodes it would have fired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from listening.alerts.models import Alert
from listening.alerts.services import do_check_rule
from tests.alerts.factories import negative_burst, quiet_history
from tests.conftest import Tenant
from tests.security.openapi import assert_documented

pytestmark = [pytest.mark.postgres]

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _rule(t: Tenant) -> int:
    response = t.client("analyst").post("/api/v1/alert-rules/", {"brand": t.brand.pk}, format="json")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def test_a_quiet_rule_shows_its_last_check_and_why(alice: Tenant) -> None:
    quiet_history(alice, NOW, days=5)
    rule = _rule(alice)
    before = alice.client().get(f"/api/v1/alert-rules/{rule}/").json()
    assert before["last_check"] == {}
    assert do_check_rule(rule, now=NOW) == "none"
    body = alice.client().get(f"/api/v1/alert-rules/{rule}/").json()
    assert_documented("GET", "/api/v1/alert-rules/{id}/", body)
    check = body["last_check"]
    assert check["checked_at"].startswith("2026-11-20T15:00") and check["anomalous"] is False
    assert check["reason"] and "60 min:" in check["reason"]
    assert [w["window_minutes"] for w in check["windows"]] == [60, 360, 1440]
    assert check["score"] == round(body["last_score"], 3)


def test_backtest_over_the_api(alice: Tenant, bob: Tenant) -> None:
    quiet_history(alice, NOW, days=8)
    burst = negative_burst(alice, NOW - timedelta(days=2), 80, minutes=60)
    rule = _rule(alice)
    url = f"/api/v1/alert-rules/{rule}/backtest/"
    window = {"from": (NOW - timedelta(days=4)).isoformat(), "to": NOW.isoformat()}
    response = alice.client().get(url, window)
    assert response.status_code == 200, response.content
    body = response.json()
    assert_documented("GET", "/api/v1/alert-rules/{id}/backtest/", body)
    assert body["windows_minutes"] == [60, 360, 1440] and body["check_every_minutes"] == 60
    assert len(body["episodes"]) == 1, body["episodes"]
    fired = datetime.fromisoformat(body["episodes"][0]["fired_at"])
    first = min(m.published_at for m in burst)
    assert first <= fired <= first + timedelta(hours=2)
    assert body["episodes"][0]["numbers"]["observed"] >= 40
    # Nothing is stored: a backtest is a read.
    assert not Alert.objects.exists()
    quiet = alice.client().get(
        url, {"from": (NOW - timedelta(days=4)).isoformat(), "to": (NOW - timedelta(days=3)).isoformat()}
    )
    assert quiet.status_code == 200 and quiet.json()["episodes"] == []
    # Bad ranges are a 400 that says why; another tenant's rule is not found.
    assert alice.client().get(url, {"from": window["to"], "to": window["from"]}).status_code == 400
    too_long = alice.client().get(url, {"from": (NOW - timedelta(days=40)).isoformat(), "to": window["to"]})
    assert too_long.status_code == 400 and "31 days" in str(too_long.json())
    assert alice.client().get(url).status_code == 400
    assert bob.client().get(url, window).status_code == 404
