"""The demo's Reddit and news sources, replayed through their connectors, land by channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from listening.analytics.channels import share_by_channel
from listening.demo.replay import do_replay_demo_sources
from listening.demo.services import do_seed_demo
from listening.mentions.models import Mention, Source, SourceKind

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_replay_pulls_reddit_and_news_through_the_connectors() -> None:
    setup = do_seed_demo()
    pulled = {s.connector: s for s in setup.sources}
    assert not pulled["reddit"].is_active and not pulled["rss"].is_active  # until replayed
    stored = do_replay_demo_sources(pulled["reddit"], pulled["rss"], NOW)
    assert stored == {"Reddit (replayed)": 270, "Gear Journal news (replayed)": 45}
    reddit = Mention.objects.filter(source=pulled["reddit"])
    assert {m.channel for m in reddit} == {"r/CampingGear", "r/hiking", "r/Ultralight"}
    assert set(Mention.objects.filter(source=pulled["rss"]).values_list("channel", "kind")) == {
        ("gearjournal.example", SourceKind.NEWS)
    }
    # Not pulled by beat afterwards, and a second replay stores nothing twice.
    assert not Source.objects.filter(pk__in=[pulled["reddit"].pk, pulled["rss"].pk], is_active=True).exists()
    again = do_replay_demo_sources(pulled["reddit"], pulled["rss"], NOW)
    assert set(again.values()) == {0}
    groups = share_by_channel([b.pk for b in setup.brands], datetime(2026, 9, 1, tzinfo=UTC), NOW)
    channels = {g["channel"] for g in groups}
    assert {"r/CampingGear", "gearjournal.example"} <= channels
