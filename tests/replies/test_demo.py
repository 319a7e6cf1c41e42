"""The demo ships its own past Northwind replies and voice: pairs and guidelines for make run."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from ingestion.services import ingest_items
from listening.demo import replies
from listening.demo.services import do_seed_demo
from listening.mentions.models import SourceKind
from listening.replies.models import ReplyGuidelines, ReplyPair
from listening.replies.queries import retrieval_pool
from models.generation.guards import urls_in


@pytest.mark.django_db
def test_demo_past_replies_become_northwind_pairs(django_capture_on_commit_callbacks: Any) -> None:
    setup = do_seed_demo()
    desk = next(source for source in setup.sources if source.kind == SourceKind.SUPPORT)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_items(desk, list(replies.past_exchanges(timezone.now())), channel="push")
    pairs = ReplyPair.objects.filter(organization=setup.organization)
    assert pairs.count() == len(replies.PAST_EXCHANGES)
    northwind = setup.brands[0]
    assert set(pairs.values_list("brand_id", flat=True)) == {northwind.pk}
    guidelines = ReplyGuidelines.objects.get(brand=northwind)
    assert "full refund" in guidelines.refusals and guidelines.sign_off == "- Northwind Care"
    # The help URL is one the brand's own agents used: suggestions may keep it.
    pool = retrieval_pool(setup.organization.pk)
    assert replies.HELP_URL in urls_in(pair.agent_text for pair in pool)
