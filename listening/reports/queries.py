"""Reads of the reports app: what one report contains, gathered from the analytics app's answers.

Numbers come from ``listening.analytics.queries`` (rollups), so a report says exactly what the
dashboard says for the same range. The period is whole local days of the schedule's time zone: up to
31 days of hourly rollups are folded into those local days (exact for whole-hour UTC offsets); a
longer period uses the rollups' UTC days, and the report says which it used.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.apps import apps

from listening.analytics import queries as analytics
from listening.analytics import topic_queries
from listening.analytics.affinities import latest_affinity_run
from listening.analytics.answers import VersionMentions
from listening.analytics.models import Interval
from listening.analytics.provenance import model_provenance
from listening.analytics.ranges import MAX_BUCKETS
from listening.analytics.vocabulary import BRAND_SCOPE, HOUR, net_sentiment
from listening.brands.models import Brand, Campaign
from listening.classifiers.aggregation import label_mix
from listening.classifiers.models import Classifier
from listening.reports.models import ReportRun, ReportSchedule

TOPICS_PER_BRAND = 5
EXAMPLES_PER_TOPIC = 2
EXAMPLE_CHARS = 280
CLUSTERS_PER_BRAND = 6
MAX_ALERTS = 50
# Looked up by name (a plain ``str``, so type checkers do not resolve a model that may not exist).
ALERT_MODEL: str = "alerts.Alert"


@dataclass
class ReportContent:
    """Everything a renderer needs; plain data (no ORM objects), so renderers stay pure."""

    title: str
    organization: str
    timezone: str
    day_basis: str  # the time zone whose calendar days the daily series use
    period_start: datetime  # aware, in the schedule's time zone
    period_end: datetime
    generated_at: datetime
    comparison: dict[str, Any]  # ``analytics.brand_comparison``'s answer
    primary_brand_ids: list[int]
    campaigns: list[dict[str, Any]] = field(default_factory=list)  # ``campaign_metrics`` answers
    themes: list[dict[str, Any]] = field(default_factory=list)  # {"brand": name, "topics": [...]}
    affinities: list[dict[str, Any]] = field(default_factory=list)  # {"brand": name, "run": ... | None}
    alerts: list[dict[str, Any]] | None = None  # None: the alerts app is not installed
    model_versions: list[VersionMentions] = field(default_factory=list)
    # ``listening.classifiers.aggregation.label_mix`` answers, one per classifier with an active version.
    label_mixes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_volume(self) -> int:
        brands = sum(b["volume"] for b in self.comparison["brands"])
        return brands + sum(c["volume"] for c in self.campaigns)

    @property
    def empty(self) -> bool:
        return self.total_volume == 0


def schedule_brands(schedule: ReportSchedule) -> tuple[list[Brand], list[Brand]]:
    """(the schedule's brands, their competitors): explicit competitors, else the brands' own."""
    brands = list(schedule.brands.order_by("name", "id"))
    competitors = list(schedule.competitors.order_by("name", "id"))
    if not competitors:
        competitors = list(
            Brand.objects.filter(competitor_of__in=brands, organization_id=schedule.organization_id)
            .distinct()
            .order_by("name", "id")
        )
    primary = {b.pk for b in brands}
    return brands, [c for c in competitors if c.pk not in primary][
        : analytics.MAX_COMPARED_BRANDS - len(brands)
    ]


def alerts_of_period(
    organization_id: int, brand_ids: list[int], start: datetime, end: datetime
) -> list[dict[str, Any]] | None:
    """Alerts fired for these brands in ``[start, end)``, or ``None`` when the alerts app is absent.

    The only place that reads the alerts app: it is optional, so it is looked up by name, never imported.
    """
    if not apps.is_installed("listening.alerts"):
        return None
    alert_model = apps.get_model(ALERT_MODEL)
    rows = (
        alert_model._default_manager.filter(
            organization_id=organization_id, brand_id__in=brand_ids, fired_at__gte=start, fired_at__lt=end
        )
        .order_by("fired_at", "id")
        .values("fired_at", "brand__name", "metric", "status", "peak_negative", "is_false_positive")[
            :MAX_ALERTS
        ]
    )
    return [dict(row) for row in rows]


def model_versions_of_period(
    organization_id: int, brand_ids: list[int], start: datetime, end: datetime
) -> list[VersionMentions]:
    """The model versions whose stored labels these brands' mentions of the period carry, most
    mentions first: the analytics answers' ``model`` block, so a re-read history counts under
    the version that relabelled it, not once per version that ever read it."""
    return model_provenance(BRAND_SCOPE, brand_ids, organization_id, start, end)["versions"]


def _interest_names(interests: dict[str, Any], limit: int = 5) -> list[str]:
    """Hashtags first, then terms and co-mentioned brands; items are strings or {"value"/"name": ...}."""
    names: list[str] = []
    for kind in ("hashtags", "terms", "brands"):
        for item in interests.get(kind) or []:
            name = (
                item.get("value") or item.get("name") or item.get("term") if isinstance(item, dict) else item
            )
            if name and str(name) not in names:
                names.append(str(name))
    return names[:limit]


def latest_affinities(brand: Brand) -> dict[str, Any] | None:
    """The brand's latest audience clusters as the report shows them (the largest few)."""
    run = latest_affinity_run(brand)
    if run is None:
        return None
    return {
        "version": run.version,
        "built_at": run.finished_at,
        "author_count": run.author_count,
        "clusters": [
            {
                "label": c.label,
                "size": c.size,
                "share": round(c.size / run.author_count, 4) if run.author_count else None,
                "interests": _interest_names(c.interests),
                "net_sentiment": c.sentiment.get("net_sentiment") if isinstance(c.sentiment, dict) else None,
            }
            for c in list(run.clusters.all())[:CLUSTERS_PER_BRAND]
        ],
    }


RETWEET = re.compile(r"^RT @[\w.]+:\s*")


def _distinct(texts: list[str]) -> list[str]:
    """Examples without retweets of one another (the same words twice teach a reader nothing)."""
    seen: set[str] = set()
    out = []
    for text in texts:
        key = RETWEET.sub("", text).strip().casefold()
        if key not in seen:
            seen.add(key)
            out.append(text[:EXAMPLE_CHARS])
    return out


def _themes(brand: Brand, start: datetime, end: datetime, now: datetime) -> list[dict[str, Any]]:
    answer = topic_queries.brand_topics(brand, start, end, seed=0, now=now)
    return [
        {
            "label": topic["label"],
            "size": topic["size"],
            "share": topic["share"],
            "net_sentiment": topic["net_sentiment"],
            "examples": _distinct(topic["examples"])[:EXAMPLES_PER_TOPIC],
        }
        for topic in answer["topics"][:TOPICS_PER_BRAND]
    ]


FOLDED_FIELDS = ("volume", "positive", "neutral", "negative", "unscored", "engagement")


def fold_to_local_days(answer: dict[str, Any], series: list[dict[str, Any]], tz: zoneinfo.ZoneInfo) -> None:
    """Rewrite an hourly analytics answer in place: ``answer["buckets"]`` become local calendar days
    (``YYYY-MM-DD``) and each series' columns their daily sums (net sentiment recomputed)."""
    hours = [datetime.fromisoformat(b.replace("Z", "+00:00")) for b in answer["buckets"]]
    day_of = [h.astimezone(tz).date() for h in hours]
    days: list[date] = list(dict.fromkeys(day_of))
    index = {d: i for i, d in enumerate(days)}
    for item in series:
        hourly = item["series"]
        daily = {name: [0] * len(days) for name in FOLDED_FIELDS}
        for i, day in enumerate(day_of):
            for name in FOLDED_FIELDS:
                daily[name][index[day]] += hourly[name][i]
        net = [net_sentiment(p, n) for p, n in zip(daily["positive"], daily["negative"], strict=True)]
        item["series"] = {**daily, "net_sentiment": net}
    answer["buckets"] = [d.isoformat() for d in days]


def _interval_for(start: datetime, end: datetime) -> Interval:
    # in UTC: aware datetimes of one zone subtract as wall-clock times, blind to DST
    hours = (end.astimezone(UTC) - start.astimezone(UTC)) / HOUR
    return Interval.HOUR if hours <= MAX_BUCKETS[Interval.HOUR] else Interval.DAY


def label_mixes_of_period(
    organization_id: int, brands: list[Brand], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The label mix per brand of each of the organization's custom classifiers that has an active
    version, over the period (daily buckets)."""
    if not brands:
        return []
    active = Classifier.objects.filter(organization_id=organization_id, versions__status="active").order_by(
        "name"
    )
    return [dict(label_mix(classifier, brands, Interval.DAY, start, end)) for classifier in active.distinct()]


def report_content(run: ReportRun, now: datetime) -> ReportContent:
    """Gather the content of one run's report (reads only; safe to call twice)."""
    from listening.reports.schedule import parse_timezone

    schedule = run.schedule
    tz = parse_timezone(schedule.timezone)
    start, end = run.period_start, run.period_end
    brands, competitors = schedule_brands(schedule)
    compared = brands + competitors
    campaigns = list(
        Campaign.objects.filter(pk__in=schedule.campaigns.values("pk"))
        .select_related("brand")
        .order_by("name")
    )
    interval = _interval_for(start, end)
    comparison = (
        analytics.brand_comparison(compared, interval, start, end, now=now)
        if compared
        else {
            "range": None,
            "buckets": [],
            "brands": [],
        }
    )
    campaign_answers = [analytics.campaign_metrics(c, interval, start, end, now=now) for c in campaigns]
    if interval == Interval.HOUR:
        if compared:
            fold_to_local_days(comparison, comparison["brands"], tz)
        for answer in campaign_answers:
            fold_to_local_days(answer, [answer], tz)
    brand_ids = [b.pk for b in compared] + [c.brand_id for c in campaigns]
    return ReportContent(
        title=schedule.name,
        organization=schedule.organization.name,
        timezone=schedule.timezone,
        day_basis=schedule.timezone if interval == Interval.HOUR else "UTC",
        period_start=start.astimezone(tz),
        period_end=end.astimezone(tz),
        generated_at=now.astimezone(tz),
        comparison=comparison,
        primary_brand_ids=[b.pk for b in brands],
        campaigns=campaign_answers,
        themes=[{"brand": b.name, "topics": _themes(b, start, end, now)} for b in brands],
        affinities=[{"brand": b.name, "run": latest_affinities(b)} for b in brands],
        alerts=alerts_of_period(schedule.organization_id, brand_ids, start, end),
        model_versions=model_versions_of_period(schedule.organization_id, brand_ids, start, end),
        label_mixes=label_mixes_of_period(schedule.organization_id, compared, start, end),
    )
