from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from listening.demo.labels import do_seed_labelled_sample
from listening.demo.services import do_load_demo_corpus, do_seed_demo


class Command(BaseCommand):
    help = (
        "Create or refresh the demo organization (brands, competitors, a campaign, sources) and print a key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-corpus", action="store_true", help="Only the organization, brands and sources"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        setup = do_seed_demo()
        if not options["no_corpus"]:
            totals = do_load_demo_corpus(setup)
            self.stdout.write(
                f"demo mentions: {totals['stored']} stored, {totals['duplicate']} already there, "
                f"{totals['rejected']} rejected (enrichment runs in the worker)"
            )
            imported, cycle = do_seed_labelled_sample(setup.organization)
            if imported:
                queued = (
                    f"learning cycle {cycle.pk} queued on the train worker" if cycle else "no cycle queued"
                )
                self.stdout.write(
                    f"labelled sample: {imported} posts the team labelled; {queued} "
                    "(GET /api/v1/models/ and the dashboard's Models page show the candidate and its gate)"
                )
        self.stdout.write(f"demo organization: {setup.organization.name} (id {setup.organization.pk})")
        self.stdout.write("brands: " + ", ".join(brand.name for brand in setup.brands))
        self.stdout.write(f"campaign: {setup.campaign.name}")
        self.stdout.write(f"API key: {setup.owner_key.plaintext}")
