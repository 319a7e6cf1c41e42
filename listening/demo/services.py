"""The demo organization: an outdoor-gear brand, its competitors, a campaign and its sources.

Everything here is the project's own made-up data, so a fresh machine can show the product working.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from listening.alerts.models import AlertRule
from listening.brands.models import Brand, Campaign
from listening.demo import corpus, replay, replies
from listening.demo.classifiers import do_seed_complaint_classifier
from listening.mentions.models import Mention, Source, SourceKind
from listening.replies.services import do_set_guidelines
from listening.tenancy.models import Membership, Organization, Role
from listening.tenancy.services import IssuedKey, do_add_member, do_issue_api_key

DEMO_SLUG = "demo"

BRANDS: list[dict[str, str]] = [
    {
        "name": "Northwind Outdoor",
        "query": (
            'northwind OR @northwindoutdoor OR #northwind OR stormshell OR "ridge 45" OR "ember down" '
            'OR "trailhead boots" OR "canopy 2"'
        ),
        "description": "Outdoor apparel and camping gear; the demo's own brand.",
    },
    {
        "name": "Summit & Co",
        "query": (
            '"summit & co" OR "summit and co" OR @summitco OR "alpine pro" OR "summit 60" OR "glacier boots"'
        ),
        "description": "Premium mountaineering competitor.",
    },
    {
        "name": "TrailPeak",
        "query": 'trailpeak OR @trailpeak OR "daypack 20" OR "switchback trail shoes" OR "pop-up tent"',
        "description": "Budget hiking-gear competitor.",
    },
]

SOURCES: list[dict[str, Any]] = [
    {"name": "Social push", "kind": SourceKind.SOCIAL, "connector": "push"},
    {"name": "Store reviews", "kind": SourceKind.REVIEW, "connector": "push"},
    {"name": "Help desk", "kind": SourceKind.SUPPORT, "connector": "push"},
    # Replayed through their connectors from a local server (listening.demo.replay).
    {"name": "Reddit (replayed)", "kind": SourceKind.SOCIAL, "connector": "reddit"},
    {"name": "Gear Journal news (replayed)", "kind": SourceKind.NEWS, "connector": "rss"},
]


@dataclass(frozen=True)
class DemoSetup:
    organization: Organization
    brands: list[Brand]
    campaign: Campaign
    sources: list[Source]
    owner_key: IssuedKey


@transaction.atomic
def do_seed_demo() -> DemoSetup:
    """Create (or refresh) the demo organization and issue a fresh owner key. Safe to run twice."""
    org, _ = Organization.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Northwind Outdoor (demo)"})
    owner = do_add_member(org, "demo-owner", Role.OWNER)
    do_add_member(org, "demo-analyst", Role.ANALYST)
    do_add_member(org, "demo-viewer", Role.VIEWER)

    brands = [
        Brand.objects.update_or_create(
            organization=org,
            name=spec["name"],
            defaults={"query": spec["query"], "description": spec["description"]},
        )[0]
        for spec in BRANDS
    ]
    own, competitors = brands[0], brands[1:]
    own.competitors.set(competitors)
    do_set_guidelines(own, **replies.GUIDELINES)  # type: ignore[arg-type]

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    starts_at = now - timedelta(days=10)
    campaign, _ = Campaign.objects.update_or_create(
        organization=org,
        name="Wild Autumn",
        defaults={
            "brand": own,
            "query": '#wildautumn OR "wild autumn" OR (northwind NEAR/3 autumn)',
            "starts_at": starts_at,
            "ends_at": now + timedelta(days=18),
            "baseline_starts_at": starts_at - timedelta(days=28),
            "baseline_ends_at": starts_at,
        },
    )
    sources = [
        Source.objects.update_or_create(
            organization=org,
            name=spec["name"],
            # A pulled demo source is active only while its replay runs (nothing serves it after).
            defaults={
                "kind": spec["kind"],
                "connector": spec["connector"],
                "is_active": spec["connector"] == "push",
            },
        )[0]
        for spec in SOURCES
    ]
    AlertRule.objects.get_or_create(
        organization=org,
        brand=own,
        metric="negative_volume",
        defaults={"name": f"{own.name}: negative spike", "min_volume": 10, "min_negative": 5},
    )
    do_seed_complaint_classifier(org)
    key = do_issue_api_key(Membership.objects.get(pk=owner.pk), name=f"demo key {now:%Y-%m-%d %H:%M}")
    return DemoSetup(organization=org, brands=brands, campaign=campaign, sources=sources, owner_key=key)


def do_load_demo_corpus(setup: DemoSetup, *, batch_size: int = 500) -> Counter[str]:
    """Push the demo corpus through the real ingestion pipeline, each channel into its source.

    The corpus is generated relative to the time of the first load and its external ids are
    stable, so loading twice stores nothing twice.
    """
    from ingestion.services import ingest_items

    anchor = Mention.objects.filter(organization=setup.organization).aggregate(first=Min("created_at"))[
        "first"
    ]
    # The burst ends at the first load, so the spike check sees it while the demo runs.
    now = anchor or timezone.now()
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for item in corpus.generate(now):
        by_channel.setdefault(item.pop("channel"), []).append(item)
    # Resolved help-desk exchanges: the past replies that reply suggestions retrieve and imitate.
    by_channel.setdefault(SourceKind.SUPPORT, []).extend(replies.past_exchanges(now))
    totals: Counter[str] = Counter()
    for source in setup.sources:
        if source.connector != "push":
            continue
        items = by_channel.get(source.kind, [])
        for start in range(0, len(items), batch_size):
            totals.update(ingest_items(source, items[start : start + batch_size], channel="push").counts())
    pulled = {source.connector: source for source in setup.sources}
    for count in replay.do_replay_demo_sources(pulled["reddit"], pulled["rss"], now).values():
        totals["stored"] += count
    return totals
