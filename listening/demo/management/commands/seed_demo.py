from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from listening.demo.services import do_seed_demo


class Command(BaseCommand):
    help = (
        "Create or refresh the demo organization (brands, competitors, a campaign, sources) and print a key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        setup = do_seed_demo()
        self.stdout.write(f"demo organization: {setup.organization.name} (id {setup.organization.pk})")
        self.stdout.write("brands: " + ", ".join(brand.name for brand in setup.brands))
        self.stdout.write(f"campaign: {setup.campaign.name}")
        self.stdout.write(f"API key: {setup.owner_key.plaintext}")
