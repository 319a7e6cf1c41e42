"""Set each enriched mention's ``model_version`` to its newest enrichment's, in batches of ids.

Not atomic: each batch commits on its own, so a large table is never locked as a whole and a
stopped run is simply run again (the update is idempotent). Enrichment keeps the column current
from here on (``listening.mentions.enrichment.store_enrichments``).
"""

from typing import Any

from django.db import migrations
from django.db.models import Max, OuterRef, Subquery

BATCH = 50_000


def backfill(apps: Any, schema_editor: Any) -> None:
    Enrichment = apps.get_model("mentions", "Enrichment")
    Mention = apps.get_model("mentions", "Mention")
    last = Mention.objects.aggregate(last=Max("id"))["last"] or 0
    newest = Subquery(
        Enrichment.objects.filter(mention_id=OuterRef("pk")).order_by("-id").values("model_version_id")[:1]
    )
    for start in range(0, last + 1, BATCH):
        Mention.objects.filter(id__gte=start, id__lt=start + BATCH, enriched_at__isnull=False).update(
            model_version_id=newest
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("mentions", "0005_mention_model_version")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
