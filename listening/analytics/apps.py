from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "listening.analytics"
    label = "analytics"
    verbose_name = "Rollups, campaign metrics, comparisons, topics and audiences"

    def ready(self) -> None:
        from listening.mentions.signals import mentions_enriched

        mentions_enriched.connect(_update_rollups, dispatch_uid="analytics.update_rollups")
        mentions_enriched.connect(_first_affinities, dispatch_uid="analytics.first_affinities")


def _update_rollups(
    sender: Any,
    mention_ids: list[int],
    earlier: dict[int, tuple[str, int | None]] | None = None,
    **kwargs: Any,
) -> None:
    """Rollups follow every enrichment, in its transaction: dashboards never show half a batch.

    The batch is folded in when the sender says what the rollups counted of its mentions before
    (``earlier``, as ``store_enrichments`` does); otherwise their days are recomputed.
    """
    from listening.analytics.services import do_fold_readings, do_update_rollups
    from models.stages import stage

    with stage("rollups"):
        if earlier is None:
            do_update_rollups(mention_ids)
        else:
            do_fold_readings(mention_ids, earlier)


def _first_affinities(sender: Any, mention_ids: list[int], **kwargs: Any) -> None:
    """A brand's audiences are built as soon as it has enriched mentions, not only nightly."""
    from listening.analytics.services import do_request_first_affinities

    do_request_first_affinities(mention_ids)
