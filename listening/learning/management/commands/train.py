from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.learning.errors import CycleCannotRun
from listening.learning.feedback import do_import_labelled
from listening.learning.models import CycleStatus, ModelTask, TrainingCycle
from listening.learning.queries import new_data_counts
from listening.learning.services import do_queue_cycle, do_run_training_cycle
from listening.tenancy.models import Organization


class Command(BaseCommand):
    help = (
        "Run a fine-tuning cycle for an organization now, with a progress bar: gather new labels, "
        "feedback, preferences and raw text, train the active version, evaluate, register the "
        "candidate and promote it if the gate passes. Re-running resumes a killed cycle."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug or id")
        parser.add_argument(
            "--import-tsv", type=Path, help="first add the rows of a label/text TSV as labels"
        )
        parser.add_argument("--limit", type=int, default=0, help="with --import-tsv: the first N rows")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="override a training setting (models.training.config.TrainingConfig)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ref = options["org"]
        org = Organization.objects.filter(**({"pk": int(ref)} if ref.isdigit() else {"slug": ref})).first()
        if org is None:
            raise CommandError(f"No organization {ref!r}.")
        if options["import_tsv"]:
            from models.datasets import DatasetMissing, read_label_text_tsv

            try:
                rows = read_label_text_tsv(options["import_tsv"])
            except (DatasetMissing, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            if options["limit"]:
                rows = rows.head(options["limit"])
            added = do_import_labelled(org, list(zip(rows.texts, rows.labels, strict=True)))
            self.stdout.write(f"imported {added} labelled rows")
        from models.training.config import TrainingConfigError, parse_overrides

        try:
            overrides = parse_overrides(options["set"])
        except TrainingConfigError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"new data: {new_data_counts(org.pk)}")
        cycle = (
            TrainingCycle.objects.filter(
                organization=org,
                task=ModelTask.SENTIMENT,
                status__in=[CycleStatus.QUEUED, CycleStatus.RUNNING, CycleStatus.FAILED],
            )
            .order_by("-id")
            .first()
        )
        if cycle is None or (cycle.status == CycleStatus.FAILED and not cycle.inputs):
            cycle = do_queue_cycle(org.pk, trigger="manual")
        if cycle is None:
            raise CommandError("could not queue a cycle")
        if cycle.status == CycleStatus.FAILED:
            self.stdout.write(f"resuming failed cycle {cycle.pk}")
        try:
            outcome = do_run_training_cycle(cycle.pk, progress=True, config_overrides=overrides)
        except CycleCannotRun as exc:
            raise CommandError(f"cycle {cycle.pk} did not run: {exc}") from exc
        version = outcome.version
        assert version is not None
        check = version.metrics.get("candidate", {}).get("check", {})
        parent_check = version.metrics.get("parent", {}).get("check", {})
        self.stdout.write(
            f"cycle {outcome.cycle.pk}: version {version.name} ({version.status})\n"
            f"data {version.data_snapshot}\n"
            f"check-set macro recall {check.get('macro_recall')} "
            f"(parent {parent_check.get('macro_recall')}); {version.gate_reason}"
        )
