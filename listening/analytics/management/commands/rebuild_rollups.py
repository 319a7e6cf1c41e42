"""``manage.py rebuild_rollups [--org ID]``: rebuild every rollup from the mentions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from listening.analytics.services import do_rebuild_rollups
from listening.tenancy.models import Organization


class Command(BaseCommand):
    help = "Rebuild the hourly/daily rollups (counts, authors, terms) of all or one organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", type=int, default=None, help="Only this organization id.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        org = options["org"]
        if org is not None and not Organization.objects.filter(pk=org).exists():
            raise CommandError(f"No organization with id {org}.")

        def progress(steps: Any) -> Any:
            return tqdm(
                steps, desc="rollups", unit="step", disable=options["no_progress"], file=self.stderr._out
            )

        steps = do_rebuild_rollups(org, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Rebuilt rollups: {steps} steps."))
