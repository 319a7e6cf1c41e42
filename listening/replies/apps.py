from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "listening.replies"
    label = "replies"
    verbose_name = "Reply suggestions and their training pairs"

    def ready(self) -> None:
        from listening.mentions.signals import mentions_stored

        mentions_stored.connect(_record_pairs, dispatch_uid="replies.record_pairs")


def _record_pairs(sender: Any, mention_ids: list[int], **kwargs: Any) -> None:
    """A customer message and the agent's answer become a reply-training pair as either arrives."""
    from listening.replies.pairs import record_pairs_after_store

    record_pairs_after_store(mention_ids)
