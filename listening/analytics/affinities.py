"""Reads of audience affinities: the latest run of a brand, for its endpoint and for reports.

Runs are built by ``services.do_build_affinities`` (see ``audiences``) as soon as a brand's
mentions are first enriched (``do_request_first_affinities``), then nightly; a reader always sees
the latest finished one.
"""

from __future__ import annotations

from django.db.models import Prefetch

from listening.analytics.answers import BrandAffinities
from listening.analytics.models import AffinityCluster, AffinityRun
from listening.brands.models import Brand


def latest_affinity_run(brand: Brand) -> AffinityRun | None:
    """The brand's latest finished run, its clusters prefetched largest first (``run.clusters.all()``)."""
    return (
        AffinityRun.objects.filter(brand=brand, status=AffinityRun.Status.DONE)
        .order_by("-version")
        .prefetch_related(Prefetch("clusters", AffinityCluster.objects.order_by("-size", "index")))
        .first()
    )


def brand_affinities(brand: Brand) -> BrandAffinities:
    """The brand's audience clusters from the latest run, or ``status: "not_built"`` before the first."""
    run = latest_affinity_run(brand)
    if run is None:
        return {
            "brand": brand.pk,
            "status": "not_built",
            "detail": (
                "No audience clustering has run for this brand yet: it is built as soon as its "
                "mentions are enriched, then nightly."
            ),
            "clusters": [],
            "model": None,
        }
    return {
        "brand": brand.pk,
        "status": "built",
        "version": run.version,
        "built_at": run.finished_at,
        "window": {"from": run.window_starts_at, "to": run.window_ends_at},
        "author_count": run.author_count,
        "detail": run.message,
        "params": run.params,
        # As the run was built (null for runs built before versions were recorded).
        "model": run.params.get("model"),
        "clusters": [
            {
                "index": c.index,
                "size": c.size,
                "share": round(c.size / run.author_count, 4) if run.author_count else None,
                "label": c.label,
                "terms": c.terms,
                "interests": c.interests,
                "sentiment": c.sentiment,
                "overlap": c.overlap,
            }
            for c in run.clusters.all()
        ],
    }
