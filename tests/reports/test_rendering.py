"""Rendering a run end to end (database → content → HTML/PDF/CSV files), no e-mail."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from listening.reports import services
from listening.reports.models import ReportRun, RunStatus
from listening.reports.render.layout import EMPTY_MESSAGE
from tests.analytics.factories import enrich, model_version
from tests.conftest import Tenant
from tests.reports.helpers import FIRE, make_run, make_schedule, pdf_text, seed_week


@pytest.fixture(autouse=True)
def _reports_dir(tmp_path: Path, settings: object) -> None:
    settings.REPORTS_DIR = tmp_path / "reports"  # type: ignore[attr-defined]


def test_model_versions_count_each_mention_under_the_version_whose_labels_it_carries(alice: Tenant) -> None:
    """After a re-read, the report names the version that relabelled the period, not every version
    that ever read a mention of it."""
    builder = seed_week(alice)
    newer = model_version("encoder-v8")
    for mention in builder.created:
        if mention.enrichments.exists():
            enrich(mention, np.ones(16), newer, mention.sentiment)
    builder.roll_up()
    run = make_run(make_schedule(alice))
    assert services.do_render_run(run.pk, now=FIRE) == "succeeded"
    run.refresh_from_db()
    assert run.summary["model_versions"] == ["encoder-v8"]
    assert "encoder-v8 (6 mentions)" in _files(run)["html"].decode()


def _files(run: ReportRun) -> dict[str, bytes]:
    run.refresh_from_db()
    out = {}
    for fmt in run.files:
        path = services.stored_file(run, fmt)
        assert path is not None, fmt
        out[fmt] = path.read_bytes()
    return out


def test_a_week_renders_every_format_with_numbers_charts_and_model_versions(alice: Tenant) -> None:
    seed_week(alice)
    run = make_run(make_schedule(alice))
    assert services.do_render_run(run.pk, now=FIRE) == "succeeded"
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 1 and run.error == ""
    assert run.summary == {"empty": False, "mentions": 8, "model_versions": ["encoder-v7"]}
    files = _files(run)
    assert set(files) == {"html", "pdf", "csv"}
    html = files["html"].decode()
    assert "Acme brand" in html and "Acme rival (competitor)" in html
    assert html.count("data:image/png;base64,") == 3  # volume, share of voice, net sentiment
    assert "encoder-v7 (6 mentions)" in html
    assert "Nothing to report" not in html
    text = pdf_text(files["pdf"])
    assert "Competitor comparison" in text and "encoder-v7" in text and "Acme rival" in text
    if os.environ.get("REPORTS_SAMPLE_OUT"):
        Path(os.environ["REPORTS_SAMPLE_OUT"]).mkdir(parents=True, exist_ok=True)
        for fmt, data in files.items():
            (Path(os.environ["REPORTS_SAMPLE_OUT"]) / f"week.{fmt}").write_bytes(data)


def test_csv_has_one_row_per_brand_per_day_with_shares(alice: Tenant) -> None:
    seed_week(alice)
    run = make_run(make_schedule(alice, formats=["csv"]))
    services.do_render_run(run.pk, now=FIRE)
    rows = list(csv.DictReader(io.StringIO(_files(run)["csv"].decode("utf-8-sig"))))
    assert len(rows) == 7 * 2  # 7 days x (brand, rival)
    jan6 = {r["brand"]: r for r in rows if r["day"] == "2026-01-06"}
    assert jan6["Acme brand"]["mentions"] == "1" and jan6["Acme brand"]["negative"] == "1"
    assert jan6["Acme brand"]["share_of_voice"] == "0.5" and jan6["Acme rival"]["role"] == "competitor"
    assert jan6["Acme brand"]["net_sentiment"] == "-1.0"
    quiet = {r["brand"]: r for r in rows if r["day"] == "2026-01-11"}
    assert quiet["Acme brand"]["mentions"] == "0" and quiet["Acme brand"]["share_of_voice"] == ""


def test_csv_cells_cannot_become_spreadsheet_formulas(alice: Tenant) -> None:
    alice.brand.name = '=HYPERLINK("http://evil")'
    alice.brand.save()
    seed_week(alice)
    run = make_run(make_schedule(alice, formats=["csv"]))
    services.do_render_run(run.pk, now=FIRE)
    body = _files(run)["csv"].decode("utf-8-sig")
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def test_an_empty_period_says_so_instead_of_failing(alice: Tenant) -> None:
    run = make_run(make_schedule(alice))  # no mentions in January 2026 at all
    assert services.do_render_run(run.pk, now=FIRE) == "succeeded"
    run.refresh_from_db()
    assert run.summary["empty"] is True and run.summary["mentions"] == 0
    files = _files(run)
    html = files["html"].decode()
    assert "Nothing to report for this period." in html and "data:image/png" not in html
    assert "No enriched mentions" in html
    assert "Nothing to report for this period." in pdf_text(files["pdf"])
    assert EMPTY_MESSAGE.split(",")[0] in " ".join(pdf_text(files["pdf"]).split())
    assert len(files["csv"].decode("utf-8-sig").splitlines()) == 1 + 7 * 2  # zeros, not missing rows


def test_hostile_mention_text_is_escaped_in_html_and_pdf(alice: Tenant) -> None:
    seed_week(alice, hostile=True)
    run = make_run(make_schedule(alice, formats=["html", "pdf"]))
    assert services.do_render_run(run.pk, now=FIRE) == "succeeded"
    files = _files(run)
    html = files["html"].decode()
    assert "<script>" not in html and "<font" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
    # reportlab would have *interpreted* <font>/<b> (or failed on <script>) had the text not been escaped
    text = pdf_text(files["pdf"])
    assert '<script>alert("pwned")</script>' in text and '<font color="red">zipper</font>' in text


def test_alerts_section_is_optional(alice: Tenant) -> None:
    seed_week(alice)
    run = make_run(make_schedule(alice, formats=["html"]))
    services.do_render_run(run.pk, now=FIRE)
    html = _files(run)["html"].decode()
    if "listening.alerts" in settings.INSTALLED_APPS:
        assert "No alerts fired in this period." in html
    else:
        assert "Alerts are not enabled on this installation." in html


def test_a_rendering_error_is_recorded_and_retried_later(
    alice: Tenant, settings: object, tmp_path: Path
) -> None:
    schedule = make_schedule(alice, formats=["html"])
    run = make_run(schedule)
    settings.REPORTS_DIR = Path("/proc/forbidden-reports")  # type: ignore[attr-defined]
    assert services.do_render_run(run.pk, now=FIRE) == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.attempts == 1 and run.retry_at is not None
    assert "forbidden-reports" in run.error
    # not before retry_at ...
    assert services.do_render_run(run.pk, now=FIRE) == "skipped"
    # ... then a later sweep hands it out again and it succeeds
    settings.REPORTS_DIR = tmp_path / "retry"  # type: ignore[attr-defined]
    later = run.retry_at
    assert run.pk in services.claim_dispatch(later)
    assert services.do_render_run(run.pk, now=later) == "succeeded"
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2 and run.error == ""


def test_daily_figures_are_days_of_the_schedules_time_zone(alice: Tenant) -> None:
    """03:00 UTC on 6 Jan is 22:00 on 5 Jan in New York: it counts on the 5th there."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.analytics.factories import Builder

    b = Builder(alice)
    b.mention(
        "2026-01-06T03:00:00",
        sentiment="positive",
        author="n1",
        text="late night boots",
        brands=(alice.brand,),
    )
    b.roll_up()
    ny = ZoneInfo("America/New_York")
    schedule = make_schedule(alice, formats=["csv"], timezone="America/New_York")
    run = ReportRun.objects.create(
        organization=alice.org,
        schedule=schedule,
        period_start=datetime(2026, 1, 5, tzinfo=ny),
        period_end=datetime(2026, 1, 12, tzinfo=ny),
        scheduled_for=datetime(2026, 1, 12, 8, tzinfo=ny),
    )
    assert services.do_render_run(run.pk, now=FIRE + timedelta(days=1)) == "succeeded"
    rows = list(csv.DictReader(io.StringIO(_files(run)["csv"].decode("utf-8-sig"))))
    days = sorted({r["day"] for r in rows})
    assert days[0] == "2026-01-05" and days[-1] == "2026-01-11" and len(days) == 7
    own = {r["day"]: int(r["mentions"]) for r in rows if r["brand"] == "Acme brand"}
    assert own["2026-01-05"] == 1 and own["2026-01-06"] == 0
    assert {r["day_timezone"] for r in rows} == {"America/New_York"}
