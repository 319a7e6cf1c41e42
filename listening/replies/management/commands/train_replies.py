"""``manage.py train_replies --org ID|SLUG``: run a reply-model cycle now, with a progress bar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.learning.errors import CycleCannotRun
from listening.learning.models import CycleStatus, ModelTask, TrainingCycle
from listening.learning.services import do_run_training_cycle
from listening.replies.queries import new_pairs_count
from listening.replies.services import do_queue_reply_cycle
from listening.tenancy.models import Organization


class Command(BaseCommand):
    help = (
        "Run a reply-model cycle for an organization now, with a progress bar: fine-tune the shipped "
        "decoder (LoRA by default) on the organization's customer → agent pairs, then DPO on its "
        "rankings, gate the candidate against the active reply model on the most recent pairs and "
        "promote it if nothing regresses. Re-running resumes a killed cycle from its checkpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug or id")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="override a training setting: lora, lora_rank, lora_alpha, learning_rate, beta, "
            "batch_size, sft_steps, dpo_steps, checkpoint_every",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ref = options["org"]
        org = Organization.objects.filter(**({"pk": int(ref)} if ref.isdigit() else {"slug": ref})).first()
        if org is None:
            raise CommandError(f"No organization {ref!r}.")
        from listening.replies.cycle import parse_overrides  # torch: only once the arguments are sound

        try:
            overrides = parse_overrides(options["set"])
        except CycleCannotRun as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"new pairs since the last reply cycle: {new_pairs_count(org.pk)}")
        # A killed cycle stays "running" (or "failed" after an error): pick it up where it stopped.
        cycle = (
            TrainingCycle.objects.filter(
                organization=org,
                task=ModelTask.REPLIES,
                status__in=[CycleStatus.QUEUED, CycleStatus.RUNNING, CycleStatus.FAILED],
            )
            .order_by("-id")
            .first()
        )
        if cycle is not None and cycle.status == CycleStatus.FAILED and not cycle.inputs:
            cycle = None
        if cycle is None:
            cycle = do_queue_reply_cycle(org.pk, trigger="manual")
        if cycle is None:
            raise CommandError("could not queue a reply cycle")
        if cycle.inputs:
            self.stdout.write(f"resuming reply cycle {cycle.pk}")
        try:
            outcome = do_run_training_cycle(cycle.pk, progress=True, config_overrides=overrides)
        except CycleCannotRun as exc:
            raise CommandError(f"reply cycle {cycle.pk} did not run: {exc}") from exc
        version = outcome.version
        if version is None:
            raise CommandError(f"reply cycle {cycle.pk} registered no version")
        candidate, active = version.metrics.get("candidate", {}), version.metrics.get("active", {})
        lines = [f"reply cycle {outcome.cycle.pk}: version {version.name} ({version.status})"]
        lines.append(f"data {version.data_snapshot}")
        for name in ("log_likelihood", "recall_at_1", "recall_at_5", "rouge_l", "cosine"):
            lines.append(
                f"  {name:15s} candidate {candidate.get(name, float('nan')):.4f}  "
                f"active {active.get(name, float('nan')):.4f}"
            )
        lines.append(version.gate_reason)
        self.stdout.write("\n".join(lines))
