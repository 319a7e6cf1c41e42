from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from listening.tenancy.services import do_create_organization


class Command(BaseCommand):
    help = "Create an organization with an owner and print the owner's API key (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Display name of the organization")
        parser.add_argument("--owner", help="Username of the owner (default: <slug>-owner)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            self.stderr.write("The organization name must not be empty.")
            raise SystemExit(2)
        org, issued = do_create_organization(name, owner_username=options.get("owner"))
        self.stdout.write(f"organization: {org.name} (id {org.pk}, slug {org.slug})")
        self.stdout.write(f"owner API key (store it now, it is not shown again): {issued.plaintext}")
