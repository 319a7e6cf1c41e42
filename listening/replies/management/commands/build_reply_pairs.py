"""``manage.py build_reply_pairs --org ID``: (re)build an organization's reply-training pairs from its
stored mentions. Idempotent; for backfills and for batches whose pair step failed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.mentions.models import Mention
from listening.replies.pairs import do_record_pairs
from listening.tenancy.models import Organization

BATCH = 2000


class Command(BaseCommand):
    help = "Build the reply-training pairs of an organization's stored conversations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", type=int, required=True, help="Organization id")

    def handle(self, *args: Any, **options: Any) -> None:
        if not Organization.objects.filter(pk=options["org"]).exists():
            raise CommandError(f"No organization with id {options['org']}.")
        ids = (
            Mention.objects.filter(organization_id=options["org"]).order_by("pk").values_list("pk", flat=True)
        )
        created = 0
        batch: list[int] = []
        for mention_id in ids.iterator(chunk_size=BATCH):
            batch.append(mention_id)
            if len(batch) == BATCH:
                created += do_record_pairs(batch)
                batch = []
        created += do_record_pairs(batch)
        self.stdout.write(f"{created} pairs added.")
