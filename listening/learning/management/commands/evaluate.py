from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.learning.models import ModelVersion
from listening.learning.registry import get_active_version


class Command(BaseCommand):
    help = (
        "Evaluate a model version's sentiment head on a label/text TSV beside the VADER lexicon: macro "
        "recall (TweetEval's metric), macro-F1, accuracy, per-class confusion, calibration error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", required=True, type=Path, help="TSV with 'label' and 'text' columns")
        parser.add_argument("--model-version", help="Model version name (default: the active shared version)")

    def handle(self, *args: Any, **options: Any) -> None:
        from models.evaluation import evaluate_file  # the model loads only in this command

        data: Path = options["data"]
        if not data.is_file():
            raise CommandError(f"No such file: {data}")
        if options["model_version"]:
            version = ModelVersion.objects.filter(name=options["model_version"]).first()
            if version is None:
                raise CommandError(f"No model version named {options['model_version']!r}.")
        else:
            version = get_active_version(None)
        self.stdout.write(evaluate_file(data, version.artefact_path or None))
