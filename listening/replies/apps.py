from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "listening.replies"
    label = "replies"
    verbose_name = "Reply suggestions and their training pairs"

    def ready(self) -> None:
        from listening.learning.models import ModelTask
        from listening.learning.services import register_cycle_runner
        from listening.mentions.signals import mentions_stored

        mentions_stored.connect(_record_pairs, dispatch_uid="replies.record_pairs")
        register_cycle_runner(ModelTask.REPLIES, _run_reply_cycle)


def _run_reply_cycle(cycle: Any, **kwargs: Any) -> Any:
    """A reply-model cycle, on a train worker (torch and peft are imported here, not at start-up)."""
    from listening.replies.cycle import run_reply_cycle

    return run_reply_cycle(cycle, **kwargs)


def _record_pairs(sender: Any, mention_ids: list[int], **kwargs: Any) -> None:
    """A customer message and the agent's answer become a reply-training pair as either arrives."""
    from listening.replies.pairs import record_pairs_after_store

    record_pairs_after_store(mention_ids)
