"""Report fixtures: a schedule over alice's brand and rival, and a week of mentions in a known period."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
from pypdf import PdfReader

from listening.reports.models import ReportRun, ReportSchedule
from tests.analytics.factories import Builder, enrich, model_version
from tests.conftest import Tenant

# The period used by most tests: Mon 5 Jan 2026 to Mon 12 Jan 2026 (UTC), fired Mon 12 Jan 08:00.
PERIOD_START = datetime(2026, 1, 5, tzinfo=UTC)
PERIOD_END = datetime(2026, 1, 12, tzinfo=UTC)
FIRE = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
HOSTILE = '<script>alert("pwned")</script> <font color="red">zipper</font> & <b>bold</b>'


def make_schedule(tenant: Tenant, **overrides: object) -> ReportSchedule:
    fields: dict[str, object] = {
        "organization": tenant.org,
        "name": "Weekly brand report",
        "cron": "0 8 * * 1",
        "timezone": "UTC",
        "period": "last_7_days",
        "formats": ["html", "pdf", "csv"],
        "recipients": ["cmo@example.com"],
    }
    fields.update(overrides)
    schedule = ReportSchedule.objects.create(**fields)
    # created before the first fire that the tests sweep at
    ReportSchedule.objects.filter(pk=schedule.pk).update(created_at=PERIOD_START - timedelta(days=30))
    schedule.refresh_from_db()
    schedule.brands.add(tenant.brand)
    return schedule


def make_run(schedule: ReportSchedule) -> ReportRun:
    return ReportRun.objects.create(
        organization=schedule.organization,
        schedule=schedule,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        scheduled_for=FIRE,
    )


def seed_week(tenant: Tenant, *, hostile: bool = False) -> Builder:
    """Mentions of alice's brand and rival over the period, enriched (for themes) and rolled up."""
    b = Builder(tenant)
    version = model_version("encoder-v7")
    rng = np.random.default_rng(0)
    centres = {"zip": rng.normal(size=16), "fit": rng.normal(size=16)}
    texts = [
        (
            "2026-01-05T10:00:00",
            "positive",
            "zip",
            "The zipper on my jacket is great",
        ),
        ("2026-01-06T11:00:00", "negative", "zip", "Jacket zipper broke after a week"),
        ("2026-01-07T12:00:00", "negative", "zip", "zipper jammed again on the jacket"),
        ("2026-01-08T09:00:00", "positive", "fit", "Boots fit perfectly, true to size"),
        ("2026-01-09T09:30:00", "neutral", "fit", "Boots fit a bit narrow"),
        ("2026-01-10T15:00:00", "positive", "fit", "Fit of these boots is spot on"),
    ]
    if hostile:  # in every mention, so whichever the report shows as an example is hostile
        texts = [(when, sentiment, topic, f"{HOSTILE} {text}") for when, sentiment, topic, text in texts]
    for i, (when, sentiment, topic, text) in enumerate(texts):
        m = b.mention(
            when, sentiment=sentiment, author=f"u{i}", text=text, engagement=i, brands=(tenant.brand,)
        )
        enrich(m, centres[topic] + rng.normal(scale=0.05, size=16), version, sentiment)
    for i, when in enumerate(("2026-01-06T10:00:00", "2026-01-09T10:00:00")):
        b.mention(
            when, sentiment="negative", author=f"r{i}", text="rival boots meh", brands=(tenant.competitor,)
        )
    b.roll_up()
    return b


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
