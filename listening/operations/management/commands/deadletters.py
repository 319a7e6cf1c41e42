"""List dead-lettered tasks, or send some again: ``manage.py deadletters [--retry ID ...]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listening.operations.models import DeadLetter
from listening.operations.services import do_retry_dead_letter


class Command(BaseCommand):
    help = "List dead-lettered tasks (newest first), or send the given ones again with --retry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retry", type=int, nargs="+", metavar="ID", help="dead letters to send again")
        parser.add_argument("--all", action="store_true", help="also list letters already sent again")
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["retry"]:
            letters = {letter.pk: letter for letter in DeadLetter.objects.filter(pk__in=options["retry"])}
            missing = sorted(set(options["retry"]) - letters.keys())
            if missing:
                raise CommandError(f"no dead letter with id {', '.join(map(str, missing))}")
            for pk in options["retry"]:
                new_id = do_retry_dead_letter(letters[pk])
                self.stdout.write(f"dead letter {pk}: sent again as task {new_id}")
            return
        letters_qs = DeadLetter.objects.all()
        if not options["all"]:
            letters_qs = letters_qs.filter(retried_at__isnull=True)
        rows = list(letters_qs[: max(1, options["limit"])])
        if not rows:
            self.stdout.write("no dead letters")
            return
        for letter in rows:
            self.stdout.write(
                f"{letter.pk:>6}  {letter.created_at:%Y-%m-%d %H:%M:%S}  {letter.task_name}  "
                f"{letter.kind}  deliveries={letter.deliveries}  args={letter.args}  {letter.reason}"
            )
