"""The bulk loader: prepared mentions into the database, idempotent on (organization, source,
external id), with brand/campaign links, near-duplicate collapse and a quarantine for rejects.

A batch costs a handful of statements whatever its size. On PostgreSQL: one COPY into a staging
table and one INSERT ... ON CONFLICT DO NOTHING RETURNING from it (the unique key tells new from
re-sent; only re-sent ids are then looked up), one INSERT for brand links, one for campaign links,
one lookup of canonicals and one UPDATE for all the duplicates of the batch. Enrichment is enqueued
only after the transaction commits."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connection, transaction
from django.utils import timezone

from ingestion.prepare import PreparedMention, Rejected
from listening.mentions.models import BrandMention, CampaignMention, Mention, QuarantinedItem, Source

# The raw payload of a quarantined item is kept up to this size (the reason says if it was cut).
QUARANTINE_PAYLOAD_MAX = 64_000
BATCH_SIZE = 1000

Status = Literal["stored", "duplicate", "rejected"]


@dataclass
class ItemOutcome:
    index: int
    status: Status
    id: int | None = None
    reason: str = ""
    errors: list[str] = field(default_factory=list)  # of a rejected item: all of them (reason joins them)
    warnings: list[str] = field(default_factory=list)  # what was changed to store it (NUL removed, ...)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.id is not None:
            out["id"] = self.id
        if self.reason:
            out["reason"] = self.reason
            out["errors"] = self.errors or [self.reason]
        if self.warnings:
            out["warnings"] = self.warnings
        return out


def _payload_text(payload: Any) -> tuple[str, bool]:
    try:
        text = payload if isinstance(payload, str) else json.dumps(payload, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(payload)
    text = text.replace("\x00", "\\u0000")  # PostgreSQL text cannot hold NUL
    return text[:QUARANTINE_PAYLOAD_MAX], len(text) > QUARANTINE_PAYLOAD_MAX


def store_batch(
    source: Source,
    items: Sequence[PreparedMention | Rejected],
    *,
    channel: str,
    batch_ref: str = "",
    on_commit: Callable[[list[int]], None] | None = None,
) -> list[ItemOutcome]:
    """Store one batch atomically and return one outcome per input item, in input order.

    ``stored``: a new mention; ``duplicate``: its external id was already stored for this source
    (re-sent or re-pulled), nothing changed; ``rejected``: quarantined with the reason.
    ``on_commit`` receives the ids of new mentions once the transaction has committed.
    """
    org_id = source.organization_id
    outcomes: list[ItemOutcome | None] = [None] * len(items)
    with transaction.atomic():
        rejected = [(i, bad) for i, bad in enumerate(items) if isinstance(bad, Rejected)]
        if rejected:
            quarantine = []
            for index, bad in rejected:
                payload, cut = _payload_text(bad.payload)
                reason = bad.reason + (" (payload truncated)" if cut else "")
                quarantine.append(
                    QuarantinedItem(
                        organization_id=org_id,
                        source=source,
                        channel=channel,
                        reason=reason[:2000],
                        payload=payload,
                        batch_ref=batch_ref[:120],
                        item_index=index,
                    )
                )
                outcomes[index] = ItemOutcome(index, "rejected", reason=bad.reason)
            QuarantinedItem.objects.bulk_create(quarantine, batch_size=BATCH_SIZE)

        prepared = [(i, item) for i, item in enumerate(items) if isinstance(item, PreparedMention)]
        # The same external id twice in one batch: the first wins, the rest are duplicates.
        first_by_id: dict[str, int] = {}
        for index, item in prepared:
            if item.external_id in first_by_id:
                outcomes[index] = ItemOutcome(index, "duplicate")
            else:
                first_by_id[item.external_id] = index
        firsts = [(i, item) for i, item in prepared if first_by_id[item.external_id] == i]
        inserted, existing = _insert_mentions(org_id, source, [item for _, item in firsts])
        stored: list[tuple[int, PreparedMention]] = []
        for index, item in firsts:
            mention_id = inserted.get(item.external_id)
            if mention_id is None:
                outcomes[index] = ItemOutcome(index, "duplicate", id=existing.get(item.external_id))
            else:
                outcomes[index] = ItemOutcome(index, "stored", id=mention_id)
                stored.append((mention_id, item))
        new_ids = [mention_id for mention_id, _ in stored]

        _link(org_id, stored)
        _collapse_duplicates(org_id, stored)

        if on_commit is not None and new_ids:
            transaction.on_commit(lambda: on_commit(new_ids))

    return [outcome for outcome in outcomes if outcome is not None]


MENTION_COLUMNS = (
    "organization_id",
    "source_id",
    "external_id",
    "kind",
    "text",
    "clean_text",
    "model_text",
    "language",
    "language_confidence",
    "author_id",
    "author_handle",
    "author_name",
    "published_at",
    "url",
    "engagement",
    "engagement_total",
    "rating",
    "extra",
    "bot_score",
    "content_hash",
    "channel",
    "conversation_id",
    "in_reply_to",
    "author_role",
    "duplicate_count",
    "sentiment",
    "created_at",
    "updated_at",
)


def _engagement_total(item: PreparedMention) -> int:
    return sum(v for v in item.engagement.values() if isinstance(v, int) and v > 0)


# COPY's text format: tab-separated, \N for NULL, backslash escapes for these four characters.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    # Four substring tests at C speed: most fields hold none of them and are used as they are.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_lines(org_id: int, source_id: int, items: list[PreparedMention]) -> str:
    """The batch as COPY text-format lines, one per item, columns in ``MENTION_COLUMNS`` order.

    Written out by hand rather than with ``csv``: the csv module converts every field through
    ``str()`` and costs twice as much, and the columns that are the same for the whole batch
    (organization, source, timestamps) are formatted once here."""
    now = timezone.now().isoformat()
    head = f"{org_id}\t{source_id}\t"
    # duplicate_count, sentiment (none yet), created_at, updated_at
    tail = f"\t1\t\t{now}\t{now}"
    esc = _copy_text
    lines = []
    for item in items:
        confidence, rating = item.language_confidence, item.rating
        fields = (
            esc(item.external_id),
            esc(item.kind),
            esc(item.text),
            esc(item.clean_text),
            esc(item.model_text),
            esc(item.language),
            "\\N" if confidence is None else repr(float(confidence)),
            esc(item.author_id),
            esc(item.author_handle),
            esc(item.author_name),
            item.published_at.isoformat(),
            esc(item.url),
            esc(json.dumps(item.engagement)) if item.engagement else "{}",
            str(_engagement_total(item)),
            "\\N" if rating is None else str(int(rating)),
            esc(json.dumps(item.extra)) if item.extra else "{}",
            repr(float(item.bot_score)),
            esc(item.content_hash),
            esc(item.channel),
            esc(item.conversation_id),
            esc(item.in_reply_to),
            esc(item.author_role),
        )
        lines.append(head + "\t".join(fields) + tail)
    lines.append("")  # COPY wants every line terminated
    return "\n".join(lines)


_STAGE_TABLE = "ingest_mention_stage"


def _copy_mentions(org_id: int, source: Source, items: list[PreparedMention]) -> dict[str, int]:
    """PostgreSQL: COPY the batch into a session-local staging table, then one INSERT ... SELECT
    ... ON CONFLICT DO NOTHING RETURNING into the mentions table.

    COPY is PostgreSQL's fastest way in (no per-row statement parsing; a multi-row VALUES INSERT
    costs about half again as much per row on the server, and its client-side quoting costs as
    much as cleaning a tweet); the INSERT from the staging table keeps the upsert semantics: ids a
    concurrent batch stored first are skipped. The staging table lives for the database session
    and empties itself at each commit (``ON COMMIT DELETE ROWS``), so no catalog rows are created
    per batch and a pooled connection that has never seen it simply creates it."""
    columns = ", ".join(MENTION_COLUMNS)
    table = Mention._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor: Django's wrapper has no copy_expert
        raw.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE_TABLE} ON COMMIT DELETE ROWS AS "
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        raw.copy_expert(
            f"COPY {_STAGE_TABLE} ({columns}) FROM STDIN",
            io.StringIO(_copy_lines(org_id, source.pk, items)),
        )
        # Emptied as it is read: a later batch in the same transaction (an outer atomic block)
        # must not see this one's rows.
        raw.execute(
            f"WITH staged AS (DELETE FROM {_STAGE_TABLE} RETURNING {columns}) "
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM staged "
            "ON CONFLICT (organization_id, source_id, external_id) DO NOTHING RETURNING external_id, id"
        )
        return dict(raw.fetchall())


def _insert_mentions(
    org_id: int, source: Source, items: list[PreparedMention]
) -> tuple[dict[str, int], dict[str, int]]:
    """Insert the mentions whose external id is not stored yet for this source.

    Returns (inserted, existing): external id → mention id of the rows this call inserted, and of
    the rows that were already there (re-sent, re-pulled, or stored by a concurrent batch)."""
    if not items:
        return {}, {}
    external_ids = [item.external_id for item in items]
    if connection.vendor == "postgresql":
        # The unique key decides: no lookup before the insert, and none at all when every item is new.
        inserted = _copy_mentions(org_id, source, items)
        if len(inserted) == len(items):
            return inserted, {}
        return inserted, _stored_ids(org_id, source, [i for i in external_ids if i not in inserted])
    existing = _stored_ids(org_id, source, external_ids)
    items = [item for item in items if item.external_id not in existing]
    if items:
        Mention.objects.bulk_create(
            [
                Mention(
                    organization_id=org_id,
                    source=source,
                    external_id=item.external_id,
                    kind=item.kind,
                    text=item.text,
                    clean_text=item.clean_text,
                    model_text=item.model_text,
                    language=item.language,
                    language_confidence=item.language_confidence,
                    author_id=item.author_id,
                    author_handle=item.author_handle,
                    author_name=item.author_name,
                    published_at=item.published_at,
                    url=item.url,
                    engagement=item.engagement,
                    engagement_total=_engagement_total(item),
                    rating=item.rating,
                    extra=item.extra,
                    bot_score=item.bot_score,
                    content_hash=item.content_hash,
                    channel=item.channel,
                    conversation_id=item.conversation_id,
                    in_reply_to=item.in_reply_to,
                    author_role=item.author_role,
                )
                for item in items
            ],
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,  # a concurrent batch may have stored the same id since the lookup
        )
    # A concurrent batch may have stored some of these since the lookup: they count as inserted.
    return _stored_ids(org_id, source, [item.external_id for item in items]), existing


def _stored_ids(org_id: int, source: Source, external_ids: list[str]) -> dict[str, int]:
    """External id → mention id for those of ``external_ids`` stored for this source."""
    if not external_ids:
        return {}
    if connection.vendor == "postgresql":
        # One array parameter: the ORM takes longer to build an IN list of a thousand ids than
        # PostgreSQL takes to answer it.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT external_id, id FROM {Mention._meta.db_table} "
                "WHERE organization_id = %s AND source_id = %s AND external_id = ANY(%s)",
                [org_id, source.pk, external_ids],
            )
            return dict(cursor.fetchall())
    return dict(
        Mention.objects.filter(
            organization_id=org_id, source=source, external_id__in=external_ids
        ).values_list("external_id", "id")
    )


def _link(org_id: int, stored: list[tuple[int, PreparedMention]]) -> None:
    BrandMention.objects.bulk_create(
        [
            BrandMention(
                organization_id=org_id,
                brand_id=brand_id,
                mention_id=mention_id,
                published_at=item.published_at,
            )
            for mention_id, item in stored
            for brand_id in set(item.brand_ids)
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    CampaignMention.objects.bulk_create(
        [
            CampaignMention(
                organization_id=org_id,
                campaign_id=campaign_id,
                mention_id=mention_id,
                published_at=item.published_at,
            )
            for mention_id, item in stored
            for campaign_id in set(item.campaign_ids)
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )


def _collapse_duplicates(org_id: int, stored: list[tuple[int, PreparedMention]]) -> None:
    """Point each duplicate at the oldest mention with the canonical's hash and count it there."""
    hashes = {item.duplicate_of_hash for _, item in stored if item.duplicate_of_hash}
    if not hashes:
        return
    canonical = _oldest_canonicals(org_id, sorted(hashes))
    per_canonical: Counter[int] = Counter()
    pointer: dict[int, int] = {}
    for mention_id, item in stored:
        target = canonical.get(item.duplicate_of_hash)
        if target is None or target == mention_id:
            continue
        per_canonical[target] += 1
        pointer[mention_id] = target
    if not pointer:
        return
    # One statement for the whole batch, however many canonicals it touches: each duplicate gets
    # its pointer, each canonical its added count. Plain SQL (PostgreSQL and SQLite alike): the
    # ORM's Case/When costs more to build than the whole batch's INSERT.
    rows = sorted(pointer.keys() | per_canonical.keys())
    pointers = [value for pair in pointer.items() for value in pair]
    counts = [value for pair in per_canonical.items() for value in pair]
    table = Mention._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET "
            f"canonical_id = {_case(len(pointer), 'canonical_id')}, "
            f"duplicate_count = duplicate_count + {_case(len(per_canonical), '0')} "
            f"WHERE id IN ({', '.join(['%s'] * len(rows))})",
            [*pointers, *counts, *rows],
        )


def _case(whens: int, default: str) -> str:
    """``CASE id WHEN %s THEN %s ... ELSE default END`` with ``whens`` (id, value) placeholders."""
    if not whens:
        return default
    return f"CASE id {' '.join(['WHEN %s THEN %s'] * whens)} ELSE {default} END"


def _oldest_canonicals(org_id: int, hashes: list[str]) -> dict[str, int]:
    """Content hash → id of the oldest mention of the organization with that hash that is not
    itself a duplicate."""
    if connection.vendor == "postgresql":
        # One index descent on (organization, content hash) per hash. Written per hash so the plan
        # does not hinge on statistics: with the hashes as one IN list and no fresh ANALYZE, the
        # planner may AND the organization index with the canonical IS NULL one and scan the
        # latter whole (tens of milliseconds per batch on a million mentions).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT h.content_hash, m.id FROM unnest(%s::text[]) AS h(content_hash) "
                "CROSS JOIN LATERAL ("
                f"SELECT id FROM {Mention._meta.db_table} WHERE organization_id = %s "
                "AND content_hash = h.content_hash AND canonical_id IS NULL "
                "ORDER BY published_at, id LIMIT 1) AS m",
                [hashes, org_id],
            )
            return dict(cursor.fetchall())
    canonical: dict[str, int] = {}
    for content_hash, mention_id in (
        Mention.objects.filter(organization_id=org_id, content_hash__in=hashes, canonical__isnull=True)
        .order_by("published_at", "id")
        .values_list("content_hash", "id")
    ):
        canonical.setdefault(content_hash, mention_id)
    return canonical
