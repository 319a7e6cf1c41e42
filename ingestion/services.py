"""Ingestion entry points for pushes, imports and pulls: parse → prepare (clean, dedup, match) →
store → enqueue enrichment after commit. One path for every channel."""

from __future__ import annotations

import gc
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from prometheus_client import Counter as PromCounter

from ingestion.cleaning.dedup import DedupIndex
from ingestion.connectors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorPermanentError,
    ConnectorRateLimited,
    MalformedPageError,
    RawItem,
    get_connector,
)
from ingestion.connectors.feeds import FeedConnector
from ingestion.loader import ItemOutcome, store_batch
from ingestion.opml import FeedRef
from ingestion.prepare import Matchers, Rejected, prepare_batch
from ingestion.push import ItemError, parse_item_checked, storable_payload, storable_text
from ingestion.query import QueryIndex, QuerySyntaxError, validate
from listening import jobs
from listening.brands.models import Brand, Campaign
from listening.jobs import Queue, TaskName
from listening.mentions.models import Mention, QuarantinedItem, Source
from listening.mentions.signals import mentions_stored

log = structlog.get_logger(__name__)

ITEMS = PromCounter("listening_ingested_items_total", "Items through ingestion", ["channel", "status"])

# How far back a worker's near-duplicate index looks when it first sees an organization.
DEDUP_WARM_WINDOW = timedelta(days=3)
DEDUP_WARM_LIMIT = 20_000


@dataclass
class IngestSummary:
    outcomes: list[ItemOutcome]
    lines: Sequence[int] | None = None  # input line per item, for imports

    def counts(self) -> Counter[str]:
        return Counter(outcome.status for outcome in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "stored": counts["stored"],
            "duplicates": counts["duplicate"],
            "rejected": counts["rejected"],
            "items": [outcome.as_dict() for outcome in self.outcomes],
        }

    def rejection_examples(self, limit: int) -> list[str]:
        examples: list[str] = []
        for outcome in self.outcomes:
            if len(examples) >= limit:
                break
            if outcome.status == "rejected":
                where = f"line {self.lines[outcome.index]}" if self.lines else f"item {outcome.index}"
                examples.append(f"{where}: {outcome.reason}")
        return examples


# --- per-process caches ---------------------------------------------------------------------------
_lock = threading.Lock()
_matchers: dict[int, tuple[tuple[Any, ...], Matchers]] = {}
_dedup: dict[int, DedupIndex] = {}


def matchers_for(organization_id: int) -> Matchers:
    """Compiled brand and campaign queries of an organization, recompiled only when one changes."""
    brands = Brand.objects.filter(organization_id=organization_id, is_active=True)
    campaigns = Campaign.objects.filter(organization_id=organization_id)
    stamp = (
        tuple(brands.aggregate(n=Count("id"), t=Max("updated_at")).values()),
        tuple(campaigns.aggregate(n=Count("id"), t=Max("updated_at")).values()),
    )
    cached = _matchers.get(organization_id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    matchers = Matchers(
        brands=_query_index("brand", dict(brands.values_list("id", "query"))),
        campaigns=_query_index("campaign", dict(campaigns.values_list("id", "query"))),
        campaign_dates={
            pk: (start, end) for pk, start, end in campaigns.values_list("id", "starts_at", "ends_at")
        },
    )
    with _lock:
        _matchers[organization_id] = (stamp, matchers)
    return matchers


def _query_index(what: str, queries: dict[int, str]) -> QueryIndex:
    valid = {}
    for query_id, query in queries.items():
        try:
            validate(query)
            valid[query_id] = query
        except QuerySyntaxError as exc:  # validated at save; an old row may predate a grammar change
            log.warning("stored_query_invalid", kind=what, id=query_id, error=str(exc))
    return QueryIndex(valid)


def dedup_index_for(organization_id: int) -> DedupIndex:
    with _lock:
        index = _dedup.get(organization_id)
        if index is None:
            index = DedupIndex()
            since = timezone.now() - DEDUP_WARM_WINDOW
            recent = (
                Mention.objects.filter(
                    organization_id=organization_id, published_at__gte=since, canonical__isnull=True
                )
                .order_by("-published_at")
                .values_list("model_text", flat=True)[:DEDUP_WARM_LIMIT]
            )
            index.warm(reversed(list(recent)))
            _dedup[organization_id] = index
        return index


def reset_caches() -> None:
    """Forget compiled queries and dedup indexes (tests; after bulk deletes)."""
    with _lock:
        _matchers.clear()
        _dedup.clear()


# --- the cyclic garbage collector ----------------------------------------------------------------
_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_paused_here = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a batch is parsed, cleaned and stored.

    A batch allocates some twenty container objects per item (raw item, clean result, prepared
    mention, their dicts and lists) that all live until the batch is stored. Collections during
    the batch promote them to the oldest generation, and every few batches that triggers a full
    collection over the whole process heap (Django, Celery and the libraries: ~200,000 objects):
    on the ingest benchmark that was ~40 µs per item, a sixth of the pipeline. Paused, the
    batch's objects are freed by reference counting before any collection sees them; cycles made
    meanwhile are collected as usual once the collector is back. Nested and concurrent batches
    (threads) share one pause: the collector comes back when the last one ends, and it is never
    turned on if something else had turned it off."""
    global _collector_pauses, _collector_paused_here
    with _collector_lock:
        _collector_pauses += 1
        if _collector_pauses == 1 and gc.isenabled():
            gc.disable()
            _collector_paused_here = True
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_paused_here:
                _collector_paused_here = False
                gc.enable()


def _enqueue_enrichment(organization_id: int) -> None:
    # The beat re-scan enriches whatever this message would have: a broker outage only delays it.
    jobs.send_or_defer(TaskName.ENRICH_PENDING, [organization_id], queue=Queue.ENRICH, reason="new mentions")


def _after_commit(organization_id: int, mention_ids: list[int]) -> None:
    _enqueue_enrichment(organization_id)
    mentions_stored.send(sender=Mention, organization_id=organization_id, mention_ids=mention_ids)


# --- entry points ---------------------------------------------------------------------------------
@collector_paused()
def store_raw_items(
    source: Source,
    items: Sequence[RawItem | Rejected],
    *,
    channel: str,
    batch_ref: str = "",
    lines: Sequence[int] | None = None,
) -> IngestSummary:
    org_id = source.organization_id
    prepared = prepare_batch(
        items,
        matchers=matchers_for(org_id),
        dedup=dedup_index_for(org_id),
        max_text_chars=int(settings.INGEST_MAX_TEXT_CHARS),
    )
    # A rejected item is kept whatever it holds (NUL and invalid Unicode included, in its payload
    # and in a reason that quotes it): quarantine it as text.
    prepared = [
        Rejected(storable_text(item.reason), storable_payload(item.payload))
        if isinstance(item, Rejected)
        else item
        for item in prepared
    ]
    outcomes = store_batch(
        source,
        prepared,
        channel=channel,
        batch_ref=batch_ref,
        on_commit=lambda ids: _after_commit(org_id, ids),
    )
    summary = IngestSummary(outcomes, lines)
    for status, count in summary.counts().items():
        ITEMS.labels(channel=channel, status=status).inc(count)
    return summary


@collector_paused()
def ingest_items(
    source: Source,
    items: Sequence[Any],
    *,
    channel: str,
    batch_ref: str = "",
    item_lines: Sequence[int] | None = None,
) -> IngestSummary:
    """Pushed or imported objects (the push format) into ``source``; one outcome per object."""
    now = timezone.now()
    max_chars = int(settings.INGEST_MAX_TEXT_CHARS)
    parsed: list[RawItem | Rejected] = []
    errors: dict[int, list[str]] = {}
    warnings: dict[int, list[str]] = {}
    for index, obj in enumerate(items):
        try:
            item, said = parse_item_checked(obj, kind=source.kind, now=now, max_text_chars=max_chars)
        except ItemError as exc:
            parsed.append(Rejected(str(exc), obj))
            errors[index] = exc.errors
        else:
            parsed.append(item)
            if said:
                warnings[index] = said
    summary = store_raw_items(source, parsed, channel=channel, batch_ref=batch_ref, lines=item_lines)
    for outcome in summary.outcomes:
        if outcome.status == "rejected" and outcome.index in errors:
            outcome.errors = [storable_text(error) for error in errors[outcome.index]]
        outcome.warnings = warnings.get(outcome.index, [])
    return summary


@dataclass
class PullResult:
    pages: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str = ""
    retry_at: Any = None
    exhausted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def do_pull_source(source_id: int, *, max_pages: int = 20) -> PullResult:
    """Pull pages from a source's connector, storing each page before its cursor advances.

    Connector errors are sorted: configuration and credential problems are written on the Source
    for a person to fix (no retry); rate limits and transient failures return ``retry_at`` or
    raise for the task to retry; a malformed page is quarantined and the cursor stays put.
    """
    source = Source.objects.filter(pk=source_id, is_active=True).select_related("organization").first()
    if source is None:
        return PullResult(error="source missing or inactive")
    result = PullResult()
    try:
        connector_class = get_connector(source.connector)
        with connector_class(source.config, source.credentials) as connector:
            connector.validate_config()
            cursor: dict[str, Any] | None = source.cursor or None
            while result.pages < max_pages:
                page = connector.fetch_page(cursor)
                rejected = [Rejected(f"unreadable item: {skip.reason}", skip.raw) for skip in page.skipped]
                # The page and the cursor past it commit together: a worker killed in between
                # leaves neither, and the next pull fetches the same page again.
                with transaction.atomic():
                    summary = store_raw_items(
                        source, [*page.items, *rejected], channel="pull", batch_ref=f"pull:{source.pk}"
                    )
                    cursor = page.next_cursor
                    Source.objects.filter(pk=source.pk).update(cursor=cursor, last_error="")
                counts = summary.counts()
                result.pages += 1
                result.stored += counts["stored"]
                result.duplicates += counts["duplicate"]
                result.rejected += counts["rejected"]
                if page.exhausted:
                    result.exhausted = True
                    break
    except MalformedPageError as exc:
        QuarantinedItem.objects.create(
            organization_id=source.organization_id,
            source=source,
            channel="pull",
            reason=f"malformed page: {exc}",
            payload=exc.body.replace("\x00", ""),
            batch_ref=f"pull:{source.pk}:{exc.url}"[:120],
        )
        result.error = f"malformed page: {exc}"
    except (ConnectorAuthError, ConnectorConfigError, ConnectorPermanentError) as exc:
        result.error = str(exc)
    except ConnectorRateLimited as exc:
        result.error = str(exc)
        result.retry_at = exc.resume_at or timezone.now() + timedelta(minutes=15)
    except ConnectorError:
        Source.objects.filter(pk=source.pk).update(last_pulled_at=timezone.now())
        raise  # transient: the task retries with backoff
    Source.objects.filter(pk=source.pk).update(last_pulled_at=timezone.now(), last_error=result.error[:2000])
    log.info(
        "source_pulled", source_id=source.pk, **{k: v for k, v in result.__dict__.items() if k != "extra"}
    )
    return result


def due_sources(now: Any = None) -> list[int]:
    """Active pull sources whose interval has passed (push sources are never pulled)."""
    now = now or timezone.now()
    due = []
    for source_id, last, interval in (
        Source.objects.filter(is_active=True)
        .exclude(connector="push")
        .values_list("id", "last_pulled_at", "pull_interval_seconds")
    ):
        if last is None or (now - last).total_seconds() >= interval:
            due.append(source_id)
    return due


@dataclass
class FeedImport:
    created: list[Source] = field(default_factory=list)
    existing: list[Source] = field(default_factory=list)  # the organization already follows these


def do_import_feeds(organization_id: int, feeds: Sequence[FeedRef]) -> FeedImport:
    """One ``rss`` Source per feed (named by its OPML title); a feed the organization already has
    a Source for (same URL) is left as it is. All or nothing: one invalid feed creates none."""
    result = FeedImport()
    known = {
        source.config.get("url"): source
        for source in Source.objects.filter(organization_id=organization_id, connector=FeedConnector.name)
    }
    with transaction.atomic():
        for feed in feeds:
            if feed.url in known:
                result.existing.append(known[feed.url])
                continue
            config: dict[str, Any] = {"url": feed.url}
            FeedConnector(config, {}).validate_config()  # ConnectorConfigError: nothing is created
            source = Source.objects.create(
                organization_id=organization_id,
                name=feed.title[:120],
                kind=FeedConnector.kind.value,
                connector=FeedConnector.name,
                config=config,
            )
            known[feed.url] = source
            result.created.append(source)
    return result
