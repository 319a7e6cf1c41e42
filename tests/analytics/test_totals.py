"""Per-bucket totals, author sets and weekly term rows say the same as the detailed rows they summarise."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

import pytest
from django.db import connection

from listening.analytics import authors as author_sets
from listening.analytics import queries, ranges
from listening.analytics.models import BrandRollup, BrandTermDay, BrandTermWeek, BrandTotals
from listening.analytics.vocabulary import BRAND_SCOPE, WEEK, author_key, floor_day, floor_hour
from listening.mentions.models import BrandMention
from tests.analytics.factories import Fixture, at, build_fixture
from tests.conftest import Tenant


@pytest.fixture
def fx(alice: Tenant) -> Fixture:
    return build_fixture(alice)


def test_author_sets_count_each_author_once() -> None:
    a, b, c = (author_sets.digest(key) for key in ("u1", "@someone", "mention:7"))
    assert len(a) == author_sets.DIGEST_BYTES and len({a, b, c}) == 3
    first, second = author_sets.pack([b, a, a]), author_sets.pack([c, b])
    assert first == min(a, b) + max(a, b)  # distinct and sorted
    assert author_sets.count_union([first, second]) == 3
    assert author_sets.count_union([first, first]) == 2
    assert author_sets.count_union([]) == author_sets.count_union([b""]) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL digest is PostgreSQL's sha256")
def test_postgres_computes_the_same_digest(db: None) -> None:
    # benchmarks/stack.py writes author sets in SQL: its digest must be the Python one.
    keys = ["u1", "@émilie", "mention:42", "x" * 255]
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT substr(sha256(convert_to(%s, 'UTF8')), 1, 8)", [key])
            assert bytes(cursor.fetchone()[0]) == author_sets.digest(key)


def test_totals_equal_the_detailed_rollups_and_the_mentions(fx: Fixture) -> None:
    expected: dict[tuple[str, datetime], Counter[str]] = defaultdict(Counter)
    for detail in BrandRollup.objects.filter(brand=fx.brand):
        sums = expected[(detail.interval, detail.bucket)]
        sums["mention_count"] += detail.mention_count
        sums["engagement_sum"] += detail.engagement_sum
        sums[detail.sentiment or "unscored"] += detail.mention_count
    authors: dict[tuple[str, datetime], set[str]] = defaultdict(set)
    for link in BrandMention.objects.filter(brand=fx.brand).select_related("mention"):
        m = link.mention
        if not (m.author_id or m.author_handle):  # an anonymous mention is nobody that can be counted
            continue
        key = author_key(m.author_id, m.author_handle, m.pk)
        authors[("hour", floor_hour(m.published_at))].add(key)
        authors[("day", floor_day(m.published_at))].add(key)
    totals = {(t.interval, t.bucket): t for t in BrandTotals.objects.filter(brand=fx.brand)}
    assert set(totals) == set(expected)
    for bucket, sums in expected.items():
        row = totals[bucket]
        for name in ("mention_count", "engagement_sum", "positive", "neutral", "negative", "unscored"):
            assert getattr(row, name) == sums[name], (bucket, name)
        assert row.author_count == len(authors[bucket])
        assert bytes(row.authors) == author_sets.pack(author_sets.digest(k) for k in authors[bucket])
    # u1 wrote on Jan 10 and Jan 11: one author of the brand in the union of those days' sets.
    in_january = {
        bucket for bucket in totals if bucket[0] == "day" and (bucket[1].year, bucket[1].month) == (2026, 1)
    }
    days = [bytes(totals[bucket].authors) for bucket in in_january]
    january = {key for bucket in in_january for key in authors[bucket]}
    assert author_sets.count_union(days) == len(january) == 5  # u1..u5, not the anonymous mention


def test_week_rows_are_the_sums_of_their_days(fx: Fixture) -> None:
    weeks = list(BrandTermWeek.objects.filter(brand=fx.brand))
    assert weeks
    for row in weeks:
        days = BrandTermDay.objects.filter(
            brand=fx.brand, term=row.term, bucket__gte=row.bucket, bucket__lt=row.bucket + WEEK
        )
        assert row.bucket.weekday() == 0 and row.bucket == floor_day(row.bucket)
        assert row.mention_count == sum(d.mention_count for d in days)
    # "shoes": Jan 6, 7, 10 (twice), 11 (the week of Jan 5), 12, 15 (the week of Jan 12).
    shoes = {r.bucket: r.mention_count for r in weeks if r.term == "shoes"}
    assert shoes == {at("2026-01-05T00:00:00"): 5, at("2026-01-12T00:00:00"): 2}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-01T00:00:00", "2026-01-31T00:00:00"),  # edge days, two whole weeks, edge days
        ("2026-01-05T00:00:00", "2026-01-19T00:00:00"),  # whole weeks only
        ("2026-01-09T13:00:00", "2026-01-13T02:00:00"),  # no whole week: days only
    ],
)
def test_weeks_and_edge_days_add_up_to_the_days(fx: Fixture, start: str, end: str) -> None:
    ids = (fx.brand.pk, fx.rival.pk)
    found = queries._terms(queries._term_parts("r", BRAND_SCOPE, ids, at(start), at(end)))
    first, last = floor_day(at(start)), ranges.ceil_bucket(queries.Interval.DAY, at(end))
    for bid in ids:
        expected: Counter[str] = Counter()
        for row in BrandTermDay.objects.filter(brand_id=bid, bucket__gte=first, bucket__lt=last):
            expected[row.term] += row.mention_count
        assert found[("r", bid)] == dict(expected)


def test_unique_authors_over_hours_days_and_their_edges(fx: Fixture) -> None:
    # Brand A: u1 (Jan 10 09h, Jan 11 12h), u2 (Jan 10 09h), u3 (Jan 12 08h), anonymous (Jan 15:
    # not counted).
    cases = [
        ("2026-01-10T00:00:00", "2026-01-13T00:00:00", 3),  # whole days
        ("2026-01-10T09:00:00", "2026-01-12T09:00:00", 3),  # edge hours around a whole day
        ("2026-01-10T10:00:00", "2026-01-12T08:00:00", 1),  # u1 only: u2 before, u3 at the end hour
        ("2026-01-10T09:00:00", "2026-01-10T10:00:00", 2),  # one hour
        ("2026-01-01T00:00:00", "2026-02-01T00:00:00", 5),
    ]
    for start, end, count in cases:
        found = queries._unique_authors(BRAND_SCOPE, [fx.brand.pk, fx.rival.pk], at(start), at(end))
        assert found[fx.brand.pk] == count, (start, end)
    assert queries._unique_authors(
        BRAND_SCOPE, [fx.rival.pk], at("2026-01-10T00:00:00"), at("2026-01-14T00:00:00")
    ) == {fx.rival.pk: 2}


@pytest.mark.django_db(transaction=True)
def test_the_migration_derives_totals_and_weeks_from_the_old_rows(alice: Tenant) -> None:
    """Migrating an installation that has author-hour rows gives the rows a rebuild would give."""
    from django.db.migrations.executor import MigrationExecutor

    from tests.analytics.test_rollups import snapshot

    build_fixture(alice)
    expected = snapshot()
    before = ("analytics", "0003_mention_sentiment_index")
    executor = MigrationExecutor(connection)
    executor.migrate([before])  # drops the new tables; the detailed rollups and day terms stay
    old = executor.loader.project_state([before]).apps
    for subject, link_model in (("Brand", "BrandMention"), ("Campaign", "CampaignMention")):
        AuthorHour = old.get_model("analytics", f"{subject}AuthorHour")
        fk = f"{subject.lower()}_id"
        links = old.get_model("mentions", link_model).objects.select_related("mention")
        AuthorHour.objects.bulk_create(
            {
                (getattr(link, fk), floor_hour(link.published_at), key): AuthorHour(
                    organization_id=link.organization_id,
                    bucket=floor_hour(link.published_at),
                    author_key=key,
                    **{fk: getattr(link, fk)},
                )
                for link in links
                # The old rows counted an anonymous mention as an author; rollups no longer do, so
                # an installation migrated with such rows rebuilds them (``rebuild_rollups``).
                if link.mention.author_id or link.mention.author_handle
                for key in [author_key(link.mention.author_id, link.mention.author_handle, link.mention_id)]
            }.values()
        )
    executor = MigrationExecutor(connection)
    # Forward to the latest: 0004 derives its rows from the old ones, later migrations add their own.
    executor.migrate(executor.loader.graph.leaf_nodes("analytics"))
    assert snapshot() == expected
