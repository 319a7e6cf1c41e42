"""The demo organization's weekly report, rendered from demo-like data end to end (slow).

With ``REPORTS_SAMPLE_OUT=<dir>`` the HTML, PDF and CSV are also written there, which is how
``docs/sample-report.png`` is made (``pdftoppm -png -r 70 -f 1 -l 1 sample.pdf``).

The demo corpus is ingested through the real pipeline; sentiment comes from VADER and embeddings
from TF-IDF + SVD instead of the language model, to keep this test minutes-free (the report does
not care which model wrote the enrichments; it names it).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from ingestion.services import ingest_items
from listening.analytics.services import do_build_affinities, do_update_rollups
from listening.demo.corpus import generate
from listening.demo.services import do_seed_demo
from listening.mentions.models import Enrichment, Mention
from listening.reports import services
from listening.reports.models import ReportRun, ReportSchedule, RunStatus
from listening.reports.schedule import latest_fire, parse_timezone, period_for
from tests.analytics.factories import model_version
from tests.reports.helpers import pdf_text


def _enrich_cheaply(organization_id: int) -> None:
    mentions = list(Mention.objects.filter(organization_id=organization_id).order_by("id"))
    texts = [m.clean_text or m.text for m in mentions]
    vectors = TruncatedSVD(n_components=24, random_state=0).fit_transform(
        TfidfVectorizer(min_df=2, stop_words="english").fit_transform(texts)
    )
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    vader = SentimentIntensityAnalyzer()
    version = model_version("minilm-l6-sentiment-v3")
    rows = []
    for mention, text, vector in zip(mentions, texts, vectors, strict=True):
        score = vader.polarity_scores(text)["compound"]
        mention.sentiment = "positive" if score >= 0.3 else "negative" if score <= -0.2 else "neutral"
        mention.model_version = version
        mention.enriched_at = timezone.now()
        rows.append(
            Enrichment(
                organization_id=organization_id,
                mention=mention,
                model_version=version,
                sentiment=mention.sentiment,
                embedding=vector.astype("<f4").tobytes(),
            )
        )
    Enrichment.objects.bulk_create(rows)
    Mention.objects.bulk_update(mentions, ["sentiment", "model_version", "enriched_at"])
    do_update_rollups([m.pk for m in mentions])


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_weekly_report(settings: object, tmp_path: Path) -> None:
    settings.REPORTS_DIR = tmp_path  # type: ignore[attr-defined]
    setup = do_seed_demo()
    now = timezone.now()
    by_kind = {source.kind: source for source in setup.sources}
    items = list(generate(now, days=21))
    for kind in by_kind:
        batch = [
            {k: v for k, v in item.items() if k != "channel"} for item in items if item["channel"] == kind
        ]
        ingest_items(by_kind[kind], batch, channel="import")
    _enrich_cheaply(setup.organization.pk)
    own = setup.brands[0]
    do_build_affinities(own.pk, now=now)

    schedule = ReportSchedule.objects.create(
        organization=setup.organization,
        name="Northwind weekly",
        cron="0 8 * * 1",
        timezone="Europe/Paris",
        period="last_7_days",
        formats=["html", "pdf", "csv"],
    )
    schedule.brands.add(own)
    schedule.campaigns.add(setup.campaign)
    tz = parse_timezone(schedule.timezone)
    start, end = period_for(latest_fire("0 8 * * *", tz, now), "last_7_days", None, tz)
    run = ReportRun.objects.create(
        organization=setup.organization,
        schedule=schedule,
        period_start=start,
        period_end=end,
        scheduled_for=end + timedelta(hours=8),
    )
    assert services.do_render_run(run.pk, now=now) == "succeeded"
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and not run.summary["empty"]
    pdf = (tmp_path / run.files["pdf"]["path"]).read_bytes()
    text = pdf_text(pdf)
    for expected in (
        "Northwind Outdoor",
        "Summit & Co (competitor)",
        "Wild Autumn",
        "minilm-l6-sentiment-v3",
    ):
        assert expected in text, expected
    html = (tmp_path / run.files["html"]["path"]).read_text()
    campaign_section = html.split("<h2>Campaigns</h2>")[1].split("<h2>")[0]
    assert "Wild Autumn" in campaign_section and "data:image/png" in campaign_section
    assert html.count("data:image/png") == 4  # volume, share of voice, net sentiment, the campaign
    out = os.environ.get("REPORTS_SAMPLE_OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        for fmt, entry in run.files.items():
            (Path(out) / f"sample.{fmt}").write_bytes((tmp_path / entry["path"]).read_bytes())
