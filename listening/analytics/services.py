"""Writes of the analytics app: rollup maintenance and affinity runs.

The rollups count the mentions that have been read (``enriched_at`` set), linked to each brand and
campaign, per bucket. Two writers keep them, and tests hold them equal:

- ``do_fold_readings``: what enrichment calls, in the transaction that writes a batch's readings.
  It adds the mentions read for the first time and moves the labels of those read again, at a
  cost proportional to the batch, whatever the size of the days it touches.
- ``recompute_days`` (``do_update_rollups``, ``rebuild_rollups``): every bucket of the given
  (subject, UTC day)s recomputed from ``BrandMention``/``CampaignMention`` + ``Mention``.
  Idempotent, and right whatever happened before (a re-link, a deletion, rows from an older
  definition), so it is the repair and the reference.

A per-subject row lock (``SELECT ... FOR UPDATE`` on the brand/campaign, taken in id order)
serialises both writers on a subject, so two workers never interleave their writes. Only rows
whose values change are written, a text's terms are remembered per process, and everything is
portable ORM and plain multi-row INSERTs, so the embedded SQLite default runs the same code.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.db import models, transaction
from django.utils import timezone

from listening.analytics import authors as author_sets
from listening.analytics.embedding import latest_embeddings
from listening.analytics.models import AffinityCluster, AffinityRun, Interval
from listening.analytics.provenance import model_provenance
from listening.analytics.terms import extract_terms
from listening.analytics.themes import filter_for
from listening.analytics.vocabulary import (
    BRAND_SCOPE,
    DAY,
    SCOPES,
    WEEK,
    Scope,
    author_key,
    floor_day,
    floor_hour,
    floor_week,
)
from listening.brands.models import Brand
from listening.bulk import insert_rows
from listening.mentions.models import BrandMention, Mention

if TYPE_CHECKING:
    from listening.analytics.audiences import Audience

log = structlog.get_logger(__name__)

# Mentions looked up per query when resolving which buckets a batch touches.
ID_CHUNK = 2_000
# Days recomputed per transaction during a full rebuild (bounds memory per step).
REBUILD_DAYS_PER_STEP = 31
# Texts whose terms are remembered per process (a tweet's terms are about 1 KB).
TERMS_CACHE_SIZE = 16_384
# Day ranges per statement of a recompute (SQLite parses a long OR as a tree 1,000 deep at most).
RANGES_PER_STATEMENT = 200


def day_ranges(days: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Merge day starts into contiguous half-open ranges ``[start, end)``."""
    ranges: list[tuple[datetime, datetime]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + DAY)
        else:
            ranges.append((day, day + DAY))
    return ranges


def _in_ranges(field: str, ranges: Sequence[tuple[datetime, datetime]]) -> models.Q:
    query = models.Q()
    for start, end in ranges:
        query |= models.Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return query


def do_update_rollups(mention_ids: Sequence[int]) -> None:
    """Recompute the rollups of every (brand or campaign, day) these mentions belong to.

    Idempotent; safe to call with ids of mentions that were deleted or have no brand. Cost is
    proportional to the mentions of the affected subjects on the affected days, in a fixed number
    of statements per scope whatever the number of subjects (:func:`recompute_days`). Enrichment
    folds its batches in instead (:func:`do_fold_readings`).
    """
    ids = sorted({int(mention_id) for mention_id in mention_ids})
    for scope in SCOPES:
        touched: dict[int, set[datetime]] = defaultdict(set)
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            for subject_id, published_at in (
                scope.link._default_manager.filter(mention_id__in=chunk)
                .values_list(scope.fk, "published_at")
                .distinct()
                .order_by()
            ):
                touched[subject_id].add(floor_day(published_at))
        recompute_days(scope, touched)


def do_fold_readings(mention_ids: Sequence[int], earlier: Mapping[int, tuple[str, int | None]]) -> None:
    """Fold a batch of readings into the rollups: what enrichment calls, in the transaction that
    wrote the mentions' new sentiment and version.

    A mention read for the first time is added whole (counts, engagement, author, terms, version).
    One read before (``earlier``: mention id -> its sentiment and version before this batch, as
    in a history re-read) moves: its old sentiment and version are taken out and the new ones put
    in; its terms and author are counted already. The rows are what :func:`recompute_days` would
    write (tests hold the two equal), at a cost proportional to the batch: recomputing every
    touched subject-day read all of those days' mentions again for every batch of a backlog.
    """
    ids = sorted({int(mention_id) for mention_id in mention_ids})
    for scope in SCOPES:
        sums = _Sums()
        for start in range(0, len(ids), ID_CHUNK):
            links = scope.link._default_manager.filter(mention_id__in=ids[start : start + ID_CHUNK])
            for row in _link_rows(scope, links):
                before = earlier.get(row[2])
                if before is None:
                    sums.add(*row)
                else:
                    sentiment, version = before
                    was = (*row[:4], sentiment, *row[5:10], version)
                    sums.add(*was, sign=-1, labels_only=True)
                    sums.add(*row, labels_only=True)
        if not sums.counts:
            continue
        try:
            with transaction.atomic():  # a savepoint: a fold that finds drift leaves nothing behind
                _fold(scope, sums)
        except _Drift as drift:
            days: dict[int, set[datetime]] = defaultdict(set)
            for subject_id, interval, bucket, *_rest in sums.counts:
                if interval == DAY_BUCKET:
                    days[subject_id].add(bucket)
            log.warning("rollups_recomputed_after_drift", scope=scope.fk, subjects=len(days), why=str(drift))
            recompute_days(scope, days)


class _Drift(Exception):
    """The stored rows hold less than a fold takes away: they were not written by folds of the same
    readings (rows of an older definition, or mentions marked read by hand). The subject-days are
    recomputed instead."""


def _fold(scope: Scope, sums: _Sums) -> None:
    """Add ``sums`` to the stored rows of its subjects, under their locks."""
    with transaction.atomic():
        organizations = _lock_subjects(scope, {key[0] for key in sums.counts})
        in_buckets = _bucket_queries(scope.fk, ((key[0], key[2]) for key in sums.counts), organizations)
        for table in sums.tables(scope):
            if table.model is scope.totals:  # author sets join: read, changed and written
                _add_rows(
                    table.model, in_buckets, table.keys, table.values, table.rows, _add_totals, organizations
                )
            else:
                _add_counts(table.model, table.keys, table.values, table.rows, organizations)
        weeks: Counter[tuple[int, datetime, str]] = Counter()
        for (subject_id, day, term), n in sums.terms.items():
            weeks[(subject_id, floor_week(day), term)] += n
        _add_counts(
            scope.term_weeks,
            _term_keys(scope),
            ("mention_count",),
            {key: (n,) for key, n in weeks.items()},
            organizations,
        )


def _add_counts(
    model: type[models.Model],
    keys: Sequence[str],
    values: Sequence[str],
    delta: Mapping[tuple[Any, ...], tuple[int, ...]],
    organizations: Mapping[int, int],
) -> None:
    """Add ``delta`` (natural key -> change of each of ``values``; the first is the mention count)
    to the rows of ``model``.

    What only grows (every first reading, and most keys of a re-read) goes in one upsert without
    reading the rows: ``INSERT ... ON CONFLICT DO UPDATE`` on the table's unique key, PostgreSQL and
    SQLite alike. What shrinks (the labels a re-read moves away from) is read, changed and written
    by :func:`_add_rows`: a proposed row must pass the table's checks (counts >= 0) before the
    conflict is seen, and a row a move empties goes, as a recompute would not write it.
    """
    grows = {key: change for key, change in delta.items() if key[0] in organizations and min(change) >= 0}
    rows = [(organizations[key[0]], *key, *change) for key, change in grows.items() if any(change)]
    insert_rows(model, ("organization", *keys, *values), rows, add_on_conflict=(keys, values))
    shrinks = {key: change for key, change in delta.items() if key[0] in organizations and key not in grows}
    if not shrinks:
        return
    at = list(keys).index("bucket")
    _add_rows(
        model,
        _bucket_queries(keys[0], ((key[0], key[at]) for key in shrinks), organizations),
        keys,
        values,
        shrinks,
        _plus,
        organizations,
    )


def _bucket_queries(
    fk: str, buckets: Iterable[tuple[int, datetime]], organizations: Mapping[int, int]
) -> list[models.Q]:
    """One query per (locked) subject for its rows on these (subject id, bucket) pairs. Hour and day
    buckets share the midnight start, so a query may also find rows of the other interval: callers
    skip the rows outside their delta."""
    wanted: dict[int, set[datetime]] = defaultdict(set)
    for subject_id, bucket in buckets:
        if subject_id in organizations:
            wanted[subject_id].add(bucket)
    return [models.Q(**{fk: subject_id, "bucket__in": sorted(b)}) for subject_id, b in wanted.items()]


def _plus(stored: tuple[Any, ...] | None, change: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Counts plus their change; None (no row) once they are all down to zero."""
    values = tuple(a + b for a, b in zip(stored or (0,) * len(change), change, strict=True))
    if min(values) < 0 or (values[0] == 0 and any(values)):
        raise _Drift(f"{stored} + {change}")
    return values if values[0] > 0 else None


def _add_totals(stored: tuple[Any, ...] | None, delta: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """``TOTALS_FIELDS`` plus their change: counts add up, author sets join."""
    old = stored or (0, 0, 0, 0, 0, 0, 0, b"")
    counts = tuple(a + b for a, b in zip(old[:6], delta[:6], strict=True))
    if min(counts) < 0 or counts[0] == 0:  # a fold moves or adds mentions: a bucket never empties
        raise _Drift(f"totals {stored[:6] if stored else None} + {delta[:6]}")
    authors = author_sets.unpack(bytes(old[7])) | author_sets.unpack(delta[7])
    return (*counts, len(authors), author_sets.pack(authors))


def _add_rows(
    model: type[models.Model],
    queries: Iterable[models.Q],
    keys: Sequence[str],
    values: Sequence[str],
    delta: Mapping[tuple[Any, ...], tuple[Any, ...]],
    add: Callable[[tuple[Any, ...] | None, tuple[Any, ...]], tuple[Any, ...] | None],
    organizations: Mapping[int, int],
) -> None:
    """Apply ``delta`` (natural key -> change; the key starts with the subject id) to the rows of
    ``model``: ``add(stored values or None, change)`` gives each key's new values, or None for no
    row. ``queries`` must find every stored row of ``delta``'s keys; rows they find outside it are
    left alone. Changed rows are deleted and inserted again, as :func:`_sync_rows` writes."""
    manager = model._default_manager
    width = len(keys)
    seen: set[tuple[Any, ...]] = set()
    stale: list[int] = []
    fresh: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for where in queries:
        for pk, *row in manager.filter(where).values_list("pk", *keys, *values).iterator(chunk_size=10_000):
            key = tuple(row[:width])
            change = delta.get(key)
            if change is None or key in seen:
                continue
            seen.add(key)
            stored = tuple(row[width:])
            new = add(stored, change)
            if new != stored:
                stale.append(pk)
                if new is not None:
                    fresh[key] = new
    for key, change in delta.items():
        if key[0] in organizations and key not in seen and (new := add(None, change)) is not None:
            fresh[key] = new
    for start in range(0, len(stale), ID_CHUNK):
        manager.filter(pk__in=stale[start : start + ID_CHUNK]).delete()
    insert_rows(
        model,
        ("organization", *keys, *values),
        [(organizations[key[0]], *key, *row) for key, row in fresh.items()],
    )


def recompute_subject_days(scope: Scope, subject_id: int, days: Iterable[datetime]) -> None:
    """Replace all rollup rows of ``subject_id`` on ``days`` (UTC day starts) by fresh aggregates."""
    recompute_days(scope, {subject_id: set(days)})


@functools.lru_cache(maxsize=TERMS_CACHE_SIZE)
def _terms_of(text: str) -> tuple[str, ...]:
    """``extract_terms``, remembered: a day is recomputed once per enrichment batch that touches
    it, so without this the same texts were tokenised again for every batch of a backlog."""
    return tuple(extract_terms(text))


def _subjects_on(field: str, fk: str, touched: Mapping[int, Sequence[tuple[datetime, datetime]]]) -> models.Q:
    """Rows of these subjects whose ``field`` falls in that subject's ranges."""
    query = models.Q()
    for subject_id, ranges in touched.items():
        query |= models.Q(**{fk: subject_id}) & _in_ranges(field, ranges)
    return query


def recompute_days(scope: Scope, touched: Mapping[int, Iterable[datetime]]) -> None:
    """Replace the rollup rows of every (subject, UTC day) in ``touched`` by fresh aggregates.

    The same computation for one subject or many: ``do_update_rollups`` and ``rebuild_rollups``
    both come here, and it is the reference :func:`do_fold_readings` is tested against. One transaction; the
    subjects are locked first, in id order, so concurrent recomputes of a subject serialise and two
    workers never deadlock. Statements per call: one lock, one streamed read of the links, one
    delete and one insert per rollup table, and the week term sums.
    """
    wanted = {subject_id: day_ranges(days) for subject_id, days in touched.items()}
    wanted = {subject_id: ranges for subject_id, ranges in wanted.items() if ranges}
    if not wanted:
        return
    with transaction.atomic():
        organizations = _lock_subjects(scope, wanted)
        # A subject deleted meanwhile took its rollups with it (cascade).
        wanted = {subject_id: wanted[subject_id] for subject_id in sorted(organizations)}
        if not wanted:
            return
        for chunk in _chunks(wanted):
            _recompute_chunk(scope, organizations, chunk)


def _lock_subjects(scope: Scope, subject_ids: Iterable[int]) -> dict[int, int]:
    """Lock these brands or campaigns, in id order, for the caller's transaction; returns subject id
    -> organization id of those that still exist. Every writer of a subject's rollups takes this
    lock first, so they serialise per subject and two workers never deadlock."""
    return dict(
        # NO KEY UPDATE serialises rollup writers of one subject without blocking the FOR KEY SHARE
        # that inserting a mention's link takes on it (plain FOR UPDATE deadlocked with pushes).
        scope.owner._default_manager.select_for_update(no_key=True)
        .filter(pk__in=sorted(subject_ids))
        .order_by("pk")
        .values_list("pk", "organization_id")
    )


# Interval values as plain strings: keys are compared with what the database returns (an enum
# member hashes by its name, so it would never find the stored 'hour').
HOUR_BUCKET, DAY_BUCKET = str(Interval.HOUR.value), str(Interval.DAY.value)

# A detailed rollup row: subject, interval, bucket, source kind, sentiment, language.
_Key = tuple[int, str, datetime, str, str, str]


def _chunks(
    wanted: Mapping[int, list[tuple[datetime, datetime]]],
) -> Iterator[dict[int, list[tuple[datetime, datetime]]]]:
    """The subjects in groups of at most ``RANGES_PER_STATEMENT`` day ranges (a subject with more
    is a group of its own): every range is one OR term of the statements' WHERE clause."""
    chunk: dict[int, list[tuple[datetime, datetime]]] = {}
    size = 0
    for subject_id, ranges in wanted.items():
        if chunk and size + len(ranges) > RANGES_PER_STATEMENT:
            yield chunk
            chunk, size = {}, 0
        chunk[subject_id] = ranges
        size += len(ranges)
    if chunk:
        yield chunk


def _link_rows(scope: Scope, links: models.QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """The fields of ``_Sums.add`` for each of these links whose mention has been read.

    Only read mentions are counted: a mention enters the rollups with its first reading, so the
    enrichment batch that reads it can add it (:func:`do_fold_readings`) and a from-scratch
    recompute gives the same rows.
    """
    return (
        links.filter(mention__enriched_at__isnull=False)
        # The text terms are read from (clean text, else the raw one), so only one travels.
        .annotate(
            read=models.Case(
                models.When(mention__clean_text="", then=models.F("mention__text")),
                default=models.F("mention__clean_text"),
            )
        )
        .values_list(
            scope.fk,
            "published_at",
            "mention_id",
            "mention__kind",
            "mention__sentiment",
            "mention__language",
            "mention__engagement_total",
            "mention__author_id",
            "mention__author_handle",
            "read",
            "mention__model_version_id",
        )
        .order_by()
        .iterator(chunk_size=5_000)  # streamed: only the aggregates are kept in memory
    )


class _Sums:
    """The aggregates of some links, keyed as the rollup tables are: what a recompute writes, or
    what a batch of readings adds to (``sign`` -1: takes from) the stored rows."""

    def __init__(self) -> None:
        self.counts: Counter[_Key] = Counter()
        self.engagement: Counter[_Key] = Counter()
        self.authors: dict[tuple[int, str, datetime], set[bytes]] = defaultdict(set)
        self.terms: Counter[tuple[int, datetime, str]] = Counter()
        self.versions: Counter[tuple[int, datetime, int]] = Counter()
        self._digests: dict[str, bytes] = {}

    def add(
        self,
        subject_id: int,
        published_at: datetime,
        mention_id: int,
        kind: str,
        sentiment: str,
        language: str,
        engagement: int,
        author_id: str,
        author_handle: str,
        text: str,
        version: int | None,
        *,
        sign: int = 1,
        labels_only: bool = False,
    ) -> None:
        """Count one link. ``labels_only`` counts only what a reading decides (the sentiment-keyed
        counts and the version), for a mention whose terms and author are counted already."""
        hour, day = floor_hour(published_at), floor_day(published_at)
        for interval, bucket in ((HOUR_BUCKET, hour), (DAY_BUCKET, day)):
            key = (subject_id, interval, bucket, kind, sentiment, language)
            self.counts[key] += sign
            self.engagement[key] += sign * engagement
        if version is not None:
            self.versions[(subject_id, day, version)] += sign
        if labels_only:
            return
        # Only known authors are counted: an anonymous mention is nobody we can count once.
        if author_id or author_handle:
            who = author_key(author_id, author_handle, mention_id)
            digest = self._digests.get(who)
            if digest is None:
                digest = self._digests[who] = author_sets.digest(who)
            self.authors[(subject_id, HOUR_BUCKET, hour)].add(digest)
            self.authors[(subject_id, DAY_BUCKET, day)].add(digest)
        for term in _terms_of(text):
            self.terms[(subject_id, day, term)] += sign

    def tables(self, scope: Scope) -> list[_Table]:
        """The day and hour tables these sums write, with their rows (natural key -> values): what
        a recompute makes the stored rows equal to, or what a fold adds to them."""
        fk = scope.fk
        return [
            _Table(
                scope.rollup,
                (fk, "interval", "bucket", "source_kind", "sentiment", "language"),
                ("mention_count", "engagement_sum"),
                {key: (count, self.engagement[key]) for key, count in self.counts.items()},
            ),
            _Table(
                scope.totals,
                (fk, "interval", "bucket"),
                TOTALS_FIELDS,
                dict(_totals_rows(self.counts, self.engagement, self.authors)),
            ),
            _Table(
                scope.terms,
                _term_keys(scope),
                ("mention_count",),
                {key: (n,) for key, n in self.terms.items()},
            ),
            _Table(
                scope.versions,
                (fk, "bucket", "model_version"),
                ("mention_count",),
                {key: (n,) for key, n in self.versions.items()},
            ),
        ]


@dataclass(frozen=True)
class _Table:
    """A rollup table, its natural key and value fields, and rows for it."""

    model: type[models.Model]
    keys: tuple[str, ...]
    values: tuple[str, ...]
    rows: dict[tuple[Any, ...], tuple[Any, ...]]


def _term_keys(scope: Scope) -> tuple[str, ...]:
    """The natural key of the day and week term tables."""
    return (scope.fk, "bucket", "term")


def _recompute_chunk(
    scope: Scope, organizations: Mapping[int, int], wanted: Mapping[int, list[tuple[datetime, datetime]]]
) -> None:
    """:func:`recompute_days` for some of the locked subjects."""
    rows = _link_rows(
        scope, scope.link._default_manager.filter(_subjects_on("published_at", scope.fk, wanted))
    )
    sums = _Sums()
    for row in rows:
        sums.add(*row)

    in_days = _subjects_on("bucket", scope.fk, wanted)
    for table in sums.tables(scope):
        _sync_rows(table.model, in_days, table.keys, table.values, table.rows, organizations)
    _recompute_term_weeks(scope, organizations, {s: _weeks_of(r) for s, r in wanted.items()})


def _sync_rows(
    model: type[models.Model],
    where: models.Q,
    keys: Sequence[str],
    values: Sequence[str],
    fresh: Mapping[tuple[Any, ...], tuple[Any, ...]],
    organizations: Mapping[int, int],
) -> None:
    """Make the rows of ``model`` matching ``where`` exactly ``fresh`` (natural key -> values; the
    key starts with the subject id).

    The result is a delete of everything and an insert of ``fresh``, but only the rows that differ
    are written: a day recomputed because one mention of it was enriched keeps almost all of its
    term rows, and rewriting them (and their index entries) for every batch was most of the cost.
    """
    manager = model._default_manager
    kept: set[tuple[Any, ...]] = set()
    stale: list[int] = []
    width = len(keys)
    for pk, *row in manager.filter(where).values_list("pk", *keys, *values).iterator(chunk_size=10_000):
        key = tuple(row[:width])
        # (A memoryview, as PostgreSQL returns bytea, compares equal to the same bytes.)
        if key not in kept and fresh.get(key) == tuple(row[width:]):
            kept.add(key)
        else:
            stale.append(pk)
    for start in range(0, len(stale), ID_CHUNK):
        manager.filter(pk__in=stale[start : start + ID_CHUNK]).delete()
    insert_rows(
        model,
        ("organization", *keys, *values),
        [(organizations[key[0]], *key, *row) for key, row in fresh.items() if key not in kept],
    )


def _weeks_of(ranges: Sequence[tuple[datetime, datetime]]) -> set[datetime]:
    """The starts of the weeks that the day ranges touch."""
    weeks = set()
    for start, end in ranges:
        week = floor_week(start)
        while week < end:
            weeks.add(week)
            week += WEEK
    return weeks


TOTALS_FIELDS = (
    "mention_count",
    "engagement_sum",
    "positive",
    "neutral",
    "negative",
    "unscored",
    "author_count",
    "authors",
)


def _totals_rows(
    counts: Counter[_Key],
    engagement: Counter[_Key],
    bucket_authors: dict[tuple[int, str, datetime], set[bytes]],
) -> Iterator[tuple[tuple[int, str, datetime], tuple[Any, ...]]]:
    """((subject id, interval, bucket), ``TOTALS_FIELDS``) of every bucket, from the detailed
    rollup counts and author digests."""
    sums: dict[tuple[int, str, datetime], dict[str, int]] = {}
    for key, count in counts.items():
        subject_id, interval, bucket, _kind, sentiment, _language = key
        row = sums.setdefault(
            (subject_id, interval, bucket),
            {
                "mention_count": 0,
                "engagement_sum": 0,
                "positive": 0,
                "neutral": 0,
                "negative": 0,
                "unscored": 0,
            },
        )
        row["mention_count"] += count
        row["engagement_sum"] += engagement[key]
        row[sentiment or "unscored"] += count
    for bucket_key, row in sums.items():
        found = bucket_authors.get(bucket_key, set())
        yield bucket_key, (*(row[name] for name in TOTALS_FIELDS[:6]), len(found), author_sets.pack(found))


def _recompute_term_weeks(
    scope: Scope, organizations: Mapping[int, int], weeks: Mapping[int, set[datetime]]
) -> None:
    """Replace the subjects' week term rows of their ``weeks`` by the sums of their (current) day
    rows: one delete, then one sum per week over every subject that has it."""
    subjects_by_week: dict[datetime, list[int]] = defaultdict(list)
    for subject_id, starts in weeks.items():
        for week in starts:
            subjects_by_week[week].append(subject_id)
    if not subjects_by_week:
        return
    spans = {
        subject_id: [(week, week + WEEK) for week in sorted(starts)] for subject_id, starts in weeks.items()
    }
    fresh: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for week in sorted(subjects_by_week):
        sums = (
            scope.terms._default_manager.filter(
                **{f"{scope.fk}__in": subjects_by_week[week]}, bucket__gte=week, bucket__lt=week + WEEK
            )
            .values_list(scope.fk, "term")
            .annotate(n=models.Sum("mention_count"))
            .order_by()
        )
        fresh.update(((subject_id, week, term), (n,)) for subject_id, term, n in sums)
    _sync_rows(
        scope.term_weeks,
        _subjects_on("bucket", scope.fk, spans),
        _term_keys(scope),
        ("mention_count",),
        fresh,
        organizations,
    )


def _subject_days(scope: Scope, subject_id: int) -> list[datetime]:
    """Every UTC day the subject has mentions on, plus days that still hold stale rollups."""
    days = {
        floor_day(moment)
        for moment in scope.link._default_manager.filter(**{scope.fk: subject_id})
        .values_list("published_at", flat=True)
        .iterator(chunk_size=10_000)
    }
    days |= set(
        scope.rollup._default_manager.filter(**{scope.fk: subject_id}, interval=Interval.DAY)
        .values_list("bucket", flat=True)
        .distinct()
    )
    return sorted(days)


def rebuild_steps(organization_id: int | None = None) -> Iterator[tuple[Scope, int, list[datetime]]]:
    """The units of work of a full rebuild, so a caller can show progress and run them."""
    for scope in SCOPES:
        subjects = scope.owner._default_manager.order_by("pk")
        if organization_id is not None:
            subjects = subjects.filter(organization_id=organization_id)
        for subject_id in subjects.values_list("pk", flat=True):
            days = _subject_days(scope, subject_id)
            for start in range(0, len(days), REBUILD_DAYS_PER_STEP):
                yield scope, subject_id, days[start : start + REBUILD_DAYS_PER_STEP]


def do_rebuild_rollups(
    organization_id: int | None = None, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
) -> int:
    """Rebuild every rollup (of one organization, or all) from the mentions; returns steps run."""
    steps: Iterable[Any] = list(rebuild_steps(organization_id))
    if progress is not None:
        steps = progress(steps)
    done = 0
    for scope, subject_id, days in steps:
        recompute_subject_days(scope, subject_id, days)
        done += 1
    log.info("rollups_rebuilt", organization_id=organization_id, steps=done)
    return done


# --- brand affinities -------------------------------------------------------------------------

AFFINITY_WINDOW = timedelta(days=90)
AFFINITY_MAX_AUTHORS = 5_000
AFFINITY_MIN_AUTHORS = 10


def do_build_affinities(brand_id: int, *, now: datetime | None = None, seed: int = 0) -> Any:
    """Cluster the brand's audience (authors who mentioned it in the last 90 days) and store a run.

    Each author is the mean embedding of all their mentions in the organization over the window;
    clusters are labelled by c-TF-IDF over what their authors wrote (see ``audiences``). Returns the
    ``AffinityRun`` (``None`` if the brand is gone). A failure is recorded on the run and re-raised.
    """
    from listening.analytics import audiences  # numpy and scikit-learn: only where a run happens
    from listening.analytics.topics import MIN_CLUSTER_POINTS, Clustering, fit_topics

    brand = Brand.objects.filter(pk=brand_id).first()
    if brand is None:
        log.info("affinity_brand_missing", brand_id=brand_id)
        return None
    now = now or timezone.now()
    run = _open_affinity_run(brand, now - AFFINITY_WINDOW, now, seed=seed)
    try:
        audience = _gather_audience(brand, run.window_starts_at, now)
        run.author_count = len(audience.authors)
        if len(audience.authors) < AFFINITY_MIN_AUTHORS:
            run.status, run.finished_at = AffinityRun.Status.DONE, timezone.now()
            run.message = (
                "Too few authors with enriched mentions to cluster "
                f"({len(audience.authors)} < {AFFINITY_MIN_AUTHORS})."
            )
            run.save()
            return run
        term_filter = filter_for([brand])
        # k as topics choose it (coherent, distinct labels), not by silhouette, which preferred two.
        fitted = fit_topics(
            audiences.vectorise(audience),
            [" ".join(audience.texts[key]) for key in audience.authors],
            seed=seed,
            term_filter=term_filter,
            min_size=MIN_CLUSTER_POINTS,  # an audience of five authors is worth naming
            max_k=8,
        )
        result = Clustering(fitted.labels, fitted.k, None)
        described = audiences.describe(
            audience,
            result,
            competitors=list(brand.competitors.values_list("pk", "name")),
            names=dict(Brand.objects.filter(organization_id=brand.organization_id).values_list("pk", "name")),
            term_filter=term_filter,
        )
        with transaction.atomic():
            AffinityCluster.objects.bulk_create(AffinityCluster(run=run, **fields) for fields in described)
            run.status, run.finished_at = AffinityRun.Status.DONE, timezone.now()
            run.params = {**run.params, "k": result.k, "k_selection": fitted.selection}
            run.save()
        log.info("affinities_built", brand_id=brand_id, run=run.pk, authors=run.author_count, k=result.k)
        return run
    except Exception as exc:
        run.status, run.finished_at, run.message = AffinityRun.Status.FAILED, timezone.now(), str(exc)[:2000]
        run.save()
        raise


def _open_affinity_run(brand: Brand, start: datetime, end: datetime, *, seed: int) -> AffinityRun:
    """The brand's next run version, numbered under its row lock so concurrent runs never collide."""
    with transaction.atomic():
        Brand.objects.select_for_update(no_key=True).filter(pk=brand.pk).first()
        last = (
            AffinityRun.objects.filter(brand=brand)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        return AffinityRun.objects.create(
            organization_id=brand.organization_id,
            brand=brand,
            version=(last or 0) + 1,
            window_starts_at=start,
            window_ends_at=end,
            params={
                "seed": seed,
                "max_authors": AFFINITY_MAX_AUTHORS,
                "window_days": AFFINITY_WINDOW.days,
                # The versions whose labels and embeddings the clusters are built from.
                "model": model_provenance(BRAND_SCOPE, [brand.pk], brand.organization_id, start, end),
            },
        )


def _gather_audience(brand: Brand, start: datetime, end: datetime) -> Audience:
    """The brand's most active authors over ``[start, end)`` (at most ``AFFINITY_MAX_AUTHORS``),
    everything they wrote in the organization then, its embeddings and the brands it is linked to."""
    from listening.analytics.audiences import Audience

    brand_rows = BrandMention.objects.filter(brand=brand, published_at__gte=start, published_at__lt=end)
    activity: Counter[str] = Counter()
    towards: dict[str, Counter[str]] = defaultdict(Counter)
    for mention_id, a_id, a_handle, sentiment in brand_rows.values_list(
        "mention_id", "mention__author_id", "mention__author_handle", "mention__sentiment"
    ):
        if not (a_id or a_handle):
            continue
        key = author_key(a_id, a_handle, mention_id)
        activity[key] += 1
        towards[key][sentiment or "unscored"] += 1
    audience = {
        key for key, _ in sorted(activity.items(), key=lambda kv: (-kv[1], kv[0]))[:AFFINITY_MAX_AUTHORS]
    }
    candidates = Mention.objects.filter(
        organization_id=brand.organization_id, published_at__gte=start, published_at__lt=end
    ).filter(
        models.Q(author_id__in=[k for k in audience if not k.startswith("@")])
        | models.Q(author_handle__in=[k[1:] for k in audience if k.startswith("@")])
    )
    rows = list(candidates.values_list("id", "author_id", "author_handle", "clean_text", "text"))
    keys = {mid: author_key(a_id, a_handle, mid) for mid, a_id, a_handle, _, _ in rows}
    vectors = latest_embeddings([mid for mid, *_ in rows])
    texts: dict[str, list[str]] = defaultdict(list)
    embedded: dict[str, list[bytes]] = defaultdict(list)
    for mid, _a, _h, clean, text in rows:
        key = keys[mid]
        if key not in audience:
            continue
        texts[key].append(clean or text)
        if mid in vectors:
            embedded[key].append(vectors[mid])
    co_brands: dict[str, set[int]] = defaultdict(set)
    for mid, other_brand in BrandMention.objects.filter(mention_id__in=list(keys)).values_list(
        "mention_id", "brand_id"
    ):
        if keys[mid] in audience:
            co_brands[keys[mid]].add(other_brand)
    authors = sorted(key for key in audience if embedded[key])
    return Audience(brand.pk, authors, texts, embedded, towards, co_brands)


# A brand without audience clusters gets a build queued at most this often while its mentions
# are being enriched (the first builds may find too few authors: the next batch tries again).
AFFINITY_FIRST_RETRY = timedelta(minutes=2)
# Unread mentions an organization may still have when its first audiences are built: about one
# enrichment claim, so a steady stream of new mentions never holds the build back.
FIRST_AFFINITIES_BACKLOG = 512


def do_request_first_affinities(mention_ids: Sequence[int], *, now: datetime | None = None) -> list[int]:
    """Queue an audience build for each brand of these (just enriched) mentions that has no
    clusters yet, so the first run on a brand, and the demo, show audiences at once; the nightly
    job keeps them fresh. Not while the organization's backlog of unread mentions is larger than
    ``FIRST_AFFINITIES_BACKLOG``: built on the first batch of an import, the audiences would show
    most of their authors' mentions unscored. At most one build per brand per
    ``AFFINITY_FIRST_RETRY`` (a cache lock, atomic on Redis), sent after commit. Returns the brands
    queued."""
    from django.core.cache import cache

    from listening.jobs import Queue, TaskName, send_or_defer_on_commit

    now = now or timezone.now()
    brand_ids = set(
        BrandMention.objects.filter(mention_id__in=list(mention_ids))
        .values_list("brand_id", flat=True)
        .distinct()
        .order_by()
    )
    if not brand_ids:
        return []
    organizations = set(
        Brand.objects.filter(pk__in=brand_ids).values_list("organization_id", flat=True).order_by()
    )
    busy = {
        organization_id
        for organization_id in organizations
        if Mention.objects.filter(organization_id=organization_id, enriched_at__isnull=True)[
            : FIRST_AFFINITIES_BACKLOG + 1
        ].count()
        > FIRST_AFFINITIES_BACKLOG
    }
    if busy:
        brand_ids = set(
            Brand.objects.filter(pk__in=brand_ids)
            .exclude(organization_id__in=busy)
            .values_list("pk", flat=True)
        )
    built = set(
        AffinityCluster.objects.filter(run__brand_id__in=brand_ids, run__status=AffinityRun.Status.DONE)
        .values_list("run__brand_id", flat=True)
        .distinct()
        .order_by()
    )
    recent = set(
        AffinityRun.objects.filter(brand_id__in=brand_ids, started_at__gte=now - AFFINITY_FIRST_RETRY)
        .values_list("brand_id", flat=True)
        .order_by()
    )
    queued = []
    for brand_id in sorted(brand_ids - built - recent):
        if cache.add(f"analytics:first-affinities:{brand_id}", 1, timeout=AFFINITY_FIRST_RETRY.seconds):
            send_or_defer_on_commit(
                TaskName.BUILD_AFFINITIES, [brand_id], queue=Queue.REPORTS, reason="first audiences"
            )
            queued.append(brand_id)
    return queued


def active_brand_ids() -> list[int]:
    return list(Brand.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
