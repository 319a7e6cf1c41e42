"""Analytics tasks: rollup maintenance and the nightly audience (brand-affinity) clustering."""

from __future__ import annotations

from listening.analytics import services
from listening.jobs import Queue, TaskName
from workers.celery_app import listening_task


@listening_task(name=TaskName.UPDATE_ROLLUPS, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=300)
def update_rollups(mention_ids: list[int]) -> None:
    """Recompute the rollup buckets these mentions fall in (idempotent: recomputation, not deltas)."""
    services.do_update_rollups(mention_ids)


@listening_task(name=TaskName.BUILD_AFFINITIES, queue=Queue.REPORTS, idempotent=True, soft_time_limit=1800)
def build_affinities(brand_id: int) -> None:
    """One brand's audience clustering; a rerun adds a new version, the endpoint serves the latest."""
    services.do_build_affinities(brand_id)


@listening_task(name=TaskName.BUILD_ALL_AFFINITIES, queue=Queue.REPORTS, idempotent=True, soft_time_limit=60)
def build_all_affinities() -> None:
    """Nightly fan-out: one ``build_affinities`` task per active brand."""
    for brand_id in services.active_brand_ids():
        build_affinities.delay(brand_id)
