"""Which model versions produced an analytics answer's numbers, and how far the re-read has got.

Every analytics answer carries a ``model`` block::

    {"versions": [{"name": str, "mentions": int}, ...],   # most mentions first
     "active": str | None,                                # the version enriching this organization now
     "reread": {"done": int, "total": int, "complete": bool, "since": datetime | None}}

over the answer's subjects and the UTC days its range touches (as the term-based figures).
``versions`` counts the enriched mentions whose stored labels each version produced; ``reread``
counts those the history re-read after the last promotion or rollback covers (published on or after
its ``since``, a UTC day start; null: all history): ``done`` of them are labelled by the active
version. ``complete`` means no number of the range inside the re-read window comes from another
version. Mentions not enriched yet are in neither.

One statement: the organization's and the shared versions, each with the sums of its
``*VersionDay`` rows (the rollup ``services.recompute_subject_days`` keeps) for the subjects and
days, read through the rows' (subject, bucket, version) unique index; the re-read's ``since`` is a
subquery on the organization's latest ``Reread``. Subjects x days x versions rows, never mentions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from django.db.models import Case, DateTimeField, F, FilteredRelation, Q, Subquery, Sum, When
from django.db.models.functions import Coalesce

from listening.analytics.answers import ModelProvenance, VersionMentions
from listening.analytics.vocabulary import DAY, Scope, floor_day
from listening.learning.models import ModelStatus, ModelVersion, Reread

# ``since`` of an organization that never re-read: every day counts.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _day_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The UTC days touching ``[start, end)``, as a half-open range of day starts."""
    last = floor_day(end)
    return floor_day(start), last if last == end else last + DAY


def model_provenance(
    scope: Scope, subject_ids: Sequence[int], organization_id: int, start: datetime, end: datetime
) -> ModelProvenance:
    """The ``model`` block (see the module docstring) of an answer about ``subject_ids`` (brands or
    campaigns of ``organization_id``) over ``[start, end)``."""
    first_day, end_day = _day_span(start, end)
    relation = f"{scope.versions._meta.model_name}_rows"  # ``model_version``'s reverse name
    latest = Reread.objects.filter(organization_id=organization_id).order_by("-id").values("since")[:1]
    since = Subquery(latest, output_field=DateTimeField())
    rows = (
        ModelVersion.objects.filter(Q(organization_id=organization_id) | Q(organization__isnull=True))
        .filter(classifier__isnull=True, task="sentiment")  # classifiers label beside; replies label nothing
        .annotate(
            days=FilteredRelation(
                relation,
                condition=Q(
                    **{
                        f"{relation}__{scope.fk}__in": list(subject_ids),
                        f"{relation}__bucket__gte": first_day,
                        f"{relation}__bucket__lt": end_day,
                    }
                ),
            )
        )
        .values("name", "status", "organization_id")
        .annotate(
            mentions=Coalesce(Sum("days__mention_count"), 0),
            window=Coalesce(
                Sum(
                    Case(
                        When(days__bucket__gte=Coalesce(since, _EPOCH), then=F("days__mention_count")),
                        default=0,
                    )
                ),
                0,
            ),
            since=since,
        )
        .filter(Q(mentions__gt=0) | Q(status=ModelStatus.ACTIVE))
        .order_by("-mentions", "name")
    )
    versions: list[VersionMentions] = []
    active, own_active, reread_since = None, None, None
    done = total = 0
    found = list(rows)
    for row in found:
        reread_since = row["since"]
        if row["status"] == ModelStatus.ACTIVE:
            if row["organization_id"] is None:
                active = active or row
            else:
                own_active = row
    current = own_active or active  # the organization's own active version wins over the shared one
    for row in found:
        total += row["window"]
        if row is current:
            done = row["window"]
        if row["mentions"]:
            versions.append({"name": row["name"], "mentions": row["mentions"]})
    return {
        "versions": versions,
        "active": current["name"] if current is not None else None,
        "reread": {
            "done": done,
            "total": total,
            "complete": done == total,
            # A string, as the answer's buckets: the block is also stored (affinity runs) and hashed.
            "since": reread_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if reread_since else None,
        },
    }


def provenance_key(model: ModelProvenance) -> str:
    """A short digest of a ``model`` block, for cache keys of answers computed from labels: it
    changes whenever a re-read relabels mentions of the range."""
    return hashlib.sha256(json.dumps(model, default=str, sort_keys=True).encode()).hexdigest()[:16]
