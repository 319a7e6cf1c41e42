from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig


class ClassifiersConfig(AppConfig):
    name = "listening.classifiers"
    label = "classifiers"
    verbose_name = "Custom classifiers"

    def ready(self) -> None:
        from listening.learning.signals import active_version_changed
        from listening.mentions.signals import mentions_enriched

        active_version_changed.connect(_queue_backfill, dispatch_uid="classifiers.queue_backfill")
        mentions_enriched.connect(_label_enriched, dispatch_uid="classifiers.label_enriched")


def _label_enriched(sender: Any, enrichments: Sequence[Any] = (), **kwargs: Any) -> None:
    """New readings get the organization's custom labels in the same batch, from the same
    embeddings (no second forward pass)."""
    from listening.classifiers.apply import label_enrichments

    label_enrichments(enrichments)


def _queue_backfill(sender: Any, classifier_id: int | None = None, **kwargs: Any) -> None:
    """A classifier's promotion or rollback labels the stored history with what is active now. A
    language model's retrains the classifiers fitted on its predecessor's embeddings (its own
    history re-read follows in listening.learning)."""
    if classifier_id is None:
        from listening.classifiers.services import do_retrain_on_new_encoder

        do_retrain_on_new_encoder(kwargs.get("organization_id"))
        return
    from listening.classifiers.backfill import do_queue_backfill

    do_queue_backfill(classifier_id)
