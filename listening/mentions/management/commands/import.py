"""``manage.py import FILE --source ID``: stream a CSV/TSV/JSONL file through the ingestion pipeline."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ingestion.importers import ColumnMapping, read_records
from ingestion.services import ingest_items
from listening.mentions.models import Source

DEFAULT_BATCH = 1000


class Command(BaseCommand):
    help = (
        "Import mentions from a CSV, TSV or JSONL file (optionally .gz) into a source, streaming in "
        "constant memory. Re-importing the same file stores nothing twice. Prints per-item accounting."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source", type=int, required=True, help="Source id (its organization receives the rows)"
        )
        parser.add_argument("--format", choices=["csv", "tsv", "jsonl"], help="Default: from the file name")
        parser.add_argument("--text-col", default="text")
        parser.add_argument("--id-col", default="id", help="Empty: '<file stem>:<line>' is the external id")
        parser.add_argument(
            "--time-col", default="published_at", help="ISO 8601 timestamps; empty: import time"
        )
        parser.add_argument("--author-col", default="author")
        parser.add_argument("--lang-col", default="language")
        parser.add_argument("--rating-col", default="")
        parser.add_argument("--url-col", default="")
        parser.add_argument("--label-col", default="", help="A gold label kept in extra.label (e.g. 'label')")
        parser.add_argument("--conversation-col", default="conversation_id", help="The thread's id")
        parser.add_argument(
            "--reply-to-col", default="in_reply_to", help="External id of the message a row answers"
        )
        parser.add_argument("--role-col", default="author_role", help="customer or agent")
        parser.add_argument("--extra-cols", default="", help="Comma-separated columns copied into extra")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument("--limit", type=int, default=0, help="Stop after this many records (0: all)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        source = Source.objects.filter(pk=options["source"]).first()
        if source is None:
            raise CommandError(f"No source with id {options['source']}.")
        if not 1 <= options["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000.")

        def col(name: str) -> str | None:
            return options[name] or None

        mapping = ColumnMapping(
            text=options["text_col"],
            id=col("id_col"),
            published_at=col("time_col"),
            author=col("author_col"),
            language=col("lang_col"),
            rating=col("rating_col"),
            url=col("url_col"),
            label=col("label_col"),
            conversation_id=col("conversation_col"),
            in_reply_to=col("reply_to_col"),
            author_role=col("role_col"),
            extra=tuple(c.strip() for c in options["extra_cols"].split(",") if c.strip()),
        )
        try:
            records, progress = read_records(path, mapping, fmt=options["format"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        totals: Counter[str] = Counter()
        examples: list[str] = []
        batch: list[Any] = []
        lines: list[int] = []
        bar = tqdm(
            total=progress()[1], unit="B", unit_scale=True, disable=options["no_progress"], desc=path.name
        )

        def flush() -> None:
            summary = ingest_items(
                source, batch, channel="import", batch_ref=f"import:{path.name}", item_lines=lines
            )
            totals.update(summary.counts())
            examples.extend(summary.rejection_examples(limit=5 - len(examples)))
            batch.clear()
            lines.clear()
            bar.update(progress()[0] - bar.n)

        for number, record in enumerate(records, start=1):
            # A record the reader could not parse still goes in, as its error, so it is quarantined.
            batch.append(
                record.item if record.error is None else {"__error__": record.error, "line": record.line}
            )
            lines.append(record.line)
            if len(batch) >= options["batch_size"]:
                flush()
            if options["limit"] and number >= options["limit"]:
                break
        if batch:
            flush()
        bar.close()
        self.stdout.write(
            f"{path.name}: {sum(totals.values())} records, {totals['stored']} stored, "
            f"{totals['duplicate']} duplicates, {totals['rejected']} rejected (quarantined)"
        )
        for example in examples:
            self.stdout.write(f"  rejected {example}")
