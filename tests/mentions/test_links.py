"""Brand links carry their mention's sentiment: written with it, re-written with it, backfilled."""

from __future__ import annotations

import importlib

from django.apps import apps

from listening.mentions.enrichment import do_enrich_pending
from listening.mentions.models import BrandMention, Mention
from listening.mentions.services import do_copy_sentiment_to_links
from tests.conftest import Tenant


def _link_sentiments(mention: Mention) -> set[str]:
    return set(BrandMention.objects.filter(mention=mention).values_list("sentiment", flat=True))


def test_links_follow_the_mentions_sentiment(alice: Tenant) -> None:
    mention = alice.mention
    BrandMention.objects.create(
        organization=alice.org, brand=alice.competitor, mention=mention, published_at=mention.published_at
    )
    Mention.objects.filter(pk=mention.pk).update(sentiment="negative")
    assert do_copy_sentiment_to_links([mention.pk]) == 2
    assert _link_sentiments(mention) == {"negative"}
    assert do_copy_sentiment_to_links([mention.pk]) == 0  # already in step: nothing rewritten
    assert do_copy_sentiment_to_links([]) == 0


def test_enrichment_and_re_enrichment_write_the_links(alice: Tenant) -> None:
    mention = alice.mention  # "I love alicebrand #launch"
    do_enrich_pending(organization_id=alice.org.pk)
    mention.refresh_from_db()
    assert mention.sentiment == "positive"
    assert _link_sentiments(mention) == {"positive"}
    # An earlier reading said otherwise, and the mention is read again (as after a reset).
    Mention.objects.filter(pk=mention.pk).update(sentiment="negative", enriched_at=None)
    BrandMention.objects.filter(mention=mention).update(sentiment="negative")
    do_enrich_pending(organization_id=alice.org.pk)
    assert _link_sentiments(mention) == {"positive"}


def test_the_migration_backfills_every_link(alice: Tenant, bob: Tenant) -> None:
    Mention.objects.filter(pk__in=[alice.mention.pk, bob.mention.pk]).update(sentiment="neutral")
    BrandMention.objects.update(sentiment="")
    migration = importlib.import_module("listening.mentions.migrations.0003_backfill_brandmention_sentiment")
    migration.backfill(apps, None)  # it reads and writes through the ORM alone
    assert set(BrandMention.objects.values_list("sentiment", flat=True)) == {"neutral"}
