from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ingestion.connectors import ConnectorConfigError
from ingestion.opml import OpmlError, parse_opml
from ingestion.services import do_import_feeds
from listening.tenancy.models import Organization


class Command(BaseCommand):
    help = "Follow every feed of an OPML file (a feed reader's export): one RSS/Atom source per feed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--organization", required=True, help="Organization slug or id")

    def handle(self, *args: Any, **options: Any) -> None:
        ref: str = options["organization"]
        org = Organization.objects.filter(**({"pk": int(ref)} if ref.isdigit() else {"slug": ref})).first()
        if org is None:
            raise CommandError(f"no organization {ref!r}")
        path: Path = options["file"]
        try:
            feeds = parse_opml(path.read_bytes())
            result = do_import_feeds(org.pk, feeds)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        except (OpmlError, ConnectorConfigError) as exc:
            raise CommandError(f"{path}: {exc} (no source created)") from None
        for source in result.created:
            self.stdout.write(f"+ {source.pk}\t{source.name}\t{source.config['url']}")
        self.stdout.write(
            f"{len(result.created)} feed sources created, {len(result.existing)} already followed"
        )
