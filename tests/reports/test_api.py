"""The reports API: schedules (validation, roles, tenancy), runs and downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from listening.reports import services
from listening.reports.models import ReportSchedule
from listening.tenancy.models import Role
from tests.conftest import Tenant
from tests.reports.helpers import FIRE, make_run, make_schedule, seed_week


@pytest.fixture(autouse=True)
def _reports_dir(tmp_path: Path, settings: Any) -> None:
    settings.REPORTS_DIR = tmp_path / "reports"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _body(tenant: Tenant, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Weekly",
        "brands": [tenant.brand.pk],
        "campaigns": [tenant.campaign.pk],
        "period": "last_7_days",
        "cron": "0 8 * * 1",
        "timezone": "Europe/Paris",
        "formats": ["pdf", "csv"],
        "recipients": ["Team@Example.com", "team@example.com", "cmo@example.com"],
    }
    body.update(overrides)
    return body


def test_create_read_update_delete(alice: Tenant) -> None:
    client = alice.client(Role.ANALYST)
    created = client.post("/api/v1/reports/", _body(alice), format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["recipients"] == ["team@example.com", "cmo@example.com"]  # normalised, deduplicated
    assert data["brands"] == [alice.brand.pk] and data["competitors"] == []
    assert data["next_run_at"].endswith("+01:00") or data["next_run_at"].endswith("+02:00")
    schedule = ReportSchedule.objects.get(pk=data["id"])
    assert schedule.organization == alice.org and schedule.created_by == "alice-analyst"
    patched = client.patch(
        f"/api/v1/reports/{schedule.pk}/", {"cron": "30 7 1 * *", "period": "last_month"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["cron"] == "30 7 1 * *"
    custom = client.patch(
        f"/api/v1/reports/{schedule.pk}/", {"period": "custom", "lookback_days": 14}, format="json"
    )
    assert custom.status_code == 200 and custom.json()["lookback_days"] == 14
    back = client.patch(f"/api/v1/reports/{schedule.pk}/", {"period": "last_7_days"}, format="json")
    assert back.status_code == 200 and back.json()["lookback_days"] is None
    listed = alice.client(Role.VIEWER).get("/api/v1/reports/")
    assert [r["id"] for r in listed.json()["results"]] == [schedule.pk]
    assert client.delete(f"/api/v1/reports/{schedule.pk}/").status_code == 204


def test_viewers_cannot_create_schedules(alice: Tenant) -> None:
    assert alice.client(Role.VIEWER).post("/api/v1/reports/", _body(alice), format="json").status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cron": "every monday"}, "cron"),
        ({"cron": "0 8 * * 1 *"}, "cron"),
        ({"cron": "0 99 * * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"recipients": [f"u{i}@example.com" for i in range(21)]}, "recipients"),
        ({"recipients": ["not-an-email"]}, "recipients"),
        ({"recipients": "cmo@example.com"}, "recipients"),
        ({"formats": ["docx"]}, "formats"),
        ({"formats": []}, "formats"),
        ({"period": "fortnightly"}, "period"),
        ({"period": "custom"}, "lookback_days"),
        ({"period": "custom", "lookback_days": 9999}, "lookback_days"),
        ({"lookback_days": 3}, "lookback_days"),
        ({"brands": [], "campaigns": []}, "brands"),
        ({"brands": ["x"]}, "brands"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_a_clear_400(alice: Tenant, overrides: dict[str, Any], field: str) -> None:
    response = alice.client().post("/api/v1/reports/", _body(alice, **overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


def test_foreign_ids_are_refused(alice: Tenant, bob: Tenant) -> None:
    client = bob.client()
    for field, value in (
        ("brands", [alice.brand.pk]),
        ("competitors", [alice.competitor.pk]),
        ("campaigns", [alice.campaign.pk]),
    ):
        response = client.post("/api/v1/reports/", _body(bob, **{field: value}), format="json")
        assert response.status_code == 400 and field in response.json(), (field, response.content)
    assert not ReportSchedule.objects.filter(organization=bob.org).exists()


def test_names_are_unique_per_organization(alice: Tenant, bob: Tenant) -> None:
    assert alice.client().post("/api/v1/reports/", _body(alice), format="json").status_code == 201
    assert alice.client().post("/api/v1/reports/", _body(alice), format="json").status_code == 400
    assert bob.client().post("/api/v1/reports/", _body(bob), format="json").status_code == 201


def test_runs_and_downloads(alice: Tenant) -> None:
    seed_week(alice)
    schedule = make_schedule(alice)
    run = make_run(schedule)
    services.do_render_run(run.pk, now=FIRE)
    client = alice.client(Role.VIEWER)
    runs = client.get(f"/api/v1/reports/{schedule.pk}/runs/").json()["results"]
    assert [(r["id"], r["status"], r["formats"]) for r in runs] == [
        (run.pk, "succeeded", ["csv", "html", "pdf"])
    ]
    assert client.get(f"/api/v1/reports/{schedule.pk}/runs/{run.pk}/").json()["summary"]["mentions"] == 8
    expected = {
        "pdf": ("application/pdf", b"%PDF-"),
        "html": ("text/html; charset=utf-8", b"<!DOCTYPE html>"),
        "csv": ("text/csv; charset=utf-8", "\ufeffday,".encode()),
    }
    for fmt, (content_type, start) in expected.items():
        response = client.get(f"/api/v1/reports/{schedule.pk}/runs/{run.pk}/download", {"format": fmt})
        assert response.status_code == 200, (fmt, response.content[:200])
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"] == (
            f'attachment; filename="weekly-brand-report-2026-01-05-to-2026-01-11.{fmt}"'
        )
        assert b"".join(response.streaming_content).startswith(start)  # type: ignore[attr-defined]
    bad = client.get(f"/api/v1/reports/{schedule.pk}/runs/{run.pk}/download", {"format": "exe"})
    assert bad.status_code == 400 and "format" in bad.json()


def test_download_of_a_format_not_produced_is_404(alice: Tenant) -> None:
    schedule = make_schedule(alice, formats=["csv"])
    run = make_run(schedule)
    client = alice.client()
    url = f"/api/v1/reports/{schedule.pk}/runs/{run.pk}/download"
    assert client.get(url, {"format": "csv"}).status_code == 404  # not rendered yet
    services.do_render_run(run.pk, now=FIRE)
    assert client.get(url, {"format": "csv"}).status_code == 200
    assert client.get(url).status_code == 200  # default: the first produced
    missing = client.get(url, {"format": "pdf"})
    assert missing.status_code == 404 and "no pdf file" in missing.json()["detail"]


def test_runs_of_another_organization_are_404(alice: Tenant, bob: Tenant) -> None:
    schedule = make_schedule(alice, formats=["csv"])
    run = make_run(schedule)
    services.do_render_run(run.pk, now=FIRE)
    client = bob.client()
    for url in (
        f"/api/v1/reports/{schedule.pk}/",
        f"/api/v1/reports/{schedule.pk}/runs/",
        f"/api/v1/reports/{schedule.pk}/runs/{run.pk}/",
        f"/api/v1/reports/{schedule.pk}/runs/{run.pk}/download?format=csv",
    ):
        assert client.get(url).status_code == 404, url
    # nor through bob's own schedule id with alice's run id
    own = make_schedule(bob, name="bob's")
    assert client.get(f"/api/v1/reports/{own.pk}/runs/{run.pk}/").status_code == 404
    assert client.get(f"/api/v1/reports/{own.pk}/runs/{run.pk}/download?format=csv").status_code == 404
    assert client.get(f"/api/v1/reports/{own.pk}/runs/").json()["results"] == []
