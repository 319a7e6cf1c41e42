from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "listening.learning"
    label = "learning"
    verbose_name = "Model versions and learning"

    def ready(self) -> None:
        from listening.learning.signals import active_version_changed

        active_version_changed.connect(_queue_rereads, dispatch_uid="learning.queue_rereads")


def _queue_rereads(
    sender: Any, organization_id: int | None, classifier_id: int | None = None, **kwargs: Any
) -> None:
    """Stored mentions follow the active version: a promotion or rollback re-reads the history
    (in the registry's transaction, so its first messages go out once that commits)."""
    if classifier_id is not None:
        return  # a custom classifier's change: its own backfill follows (listening.classifiers)
    from listening.learning.reread import do_queue_rereads

    do_queue_rereads(organization_id)
