"""Copy each mention's sentiment onto its brand links, in batches of link ids.

Not atomic: each batch commits on its own, so a large table is never locked as a whole and a
stopped run is simply run again (the update is idempotent). Enrichment keeps the copies in step
from here on (``listening.mentions.services.do_copy_sentiment_to_links``).
"""

from typing import Any

from django.db import migrations
from django.db.models import Max, OuterRef, Subquery

BATCH = 50_000


def backfill(apps: Any, schema_editor: Any) -> None:
    BrandMention = apps.get_model("mentions", "BrandMention")
    Mention = apps.get_model("mentions", "Mention")
    last = BrandMention.objects.aggregate(last=Max("id"))["last"] or 0
    sentiment = Subquery(Mention.objects.filter(pk=OuterRef("mention_id")).values("sentiment")[:1])
    for start in range(0, last + 1, BATCH):
        BrandMention.objects.filter(id__gte=start, id__lt=start + BATCH).update(sentiment=sentiment)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("mentions", "0002_brandmention_sentiment")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
