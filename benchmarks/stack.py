"""What the benchmarks that run the whole stack share: a throw-away PostgreSQL database seeded with a
large organization, and the API (gunicorn) and Celery workers as subprocesses on loopback.

Used by ``benchmarks.api`` (dashboard latency) and ``benchmarks.load`` (mixed load). The seeding:
one organization, ``BRANDS`` brands with Zipf volumes, 10% co-mentions, one 30-day campaign per brand,
authors and terms drawn from fixed pools, written with COPY; the rollups are then built with
set-based SQL (the same definitions as ``do_update_rollups``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import requests

if TYPE_CHECKING:
    from listening.tenancy.models import Organization

BRANDS = 20
ROOT = Path(__file__).resolve().parents[1]
NULL = "\\N"  # COPY's null marker, so empty strings stay empty strings
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ven",
    "tor",
    "sa",
    "rel",
    "qui",
    "bon",
    "dra",
    "fel",
    "nu",
    "pax",
    "zor",
    "el",
]


def bench_database_url(name: str | None = None) -> str:
    """``DATABASE_URL``'s server with a database of the benchmark's own: ``name``, else ``<its name>_bench``.

    Never ``DATABASE_URL``'s own database: the benchmarks drop and recreate theirs.
    """
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/bench"
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("this benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    current = parts.path.lstrip("/") or "bench"
    name = name or current + "_bench"
    if name == current:
        sys.exit(f"refusing to drop and recreate DATABASE_URL's own database {current!r}: name another one")
    return urlunsplit(parts._replace(path="/" + name))


def _admin_execute(url: str, *statements: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        admin.close()


def recreate_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    _admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    _admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vocabulary(size: int, rng: random.Random) -> list[str]:
    from listening.analytics.terms import STOP_WORDS

    words: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        if len(word) >= 4 and word not in STOP_WORDS:
            words.add(word)
    return sorted(words)


def seed(n: int, now: datetime, organization: Organization | None = None) -> dict[str, Any]:
    """Seed ``BRANDS`` brands, their campaigns and ``n`` mentions over the year before ``now`` into
    ``organization`` (a new one, "Bench", if not given); returns the brand ids, campaign ids/windows
    and, for a new organization, its owner's API key (else ``None``)."""
    from django.db import connection

    from listening.brands.models import Brand, Campaign
    from listening.mentions.models import Source, SourceKind
    from listening.tenancy.services import do_create_organization

    if organization is None:
        org, issued = do_create_organization("Bench", owner_username="bench")
        key: str | None = issued.plaintext
    else:
        org, key = organization, None
    source = Source.objects.create(organization=org, name="firehose", kind=SourceKind.SOCIAL)
    brands = [
        Brand.objects.create(organization=org, name=f"brand{i:02d}", query=f"brand{i:02d}")
        for i in range(BRANDS)
    ]
    for i, brand in enumerate(brands):
        brand.competitors.set([brands[(i + 1) % BRANDS], brands[(i + 2) % BRANDS]])
    campaigns = []
    for i, brand in enumerate(brands):
        starts = now - timedelta(days=30 + 7 * (i % 5))
        campaigns.append(
            Campaign.objects.create(
                organization=org,
                brand=brand,
                name=f"campaign{i:02d}",
                query=f"#campaign{i:02d}",
                starts_at=starts,
                ends_at=starts + timedelta(days=30),
                baseline_starts_at=starts - timedelta(days=30),
                baseline_ends_at=starts,
            )
        )
    windows = [(c.starts_at, c.starts_at + timedelta(days=30)) for c in campaigns]
    rng = np.random.default_rng(42)
    words = np.array(vocabulary(400, random.Random(42)))
    word_p = 1 / np.arange(1, len(words) + 1) ** 1.1
    word_p /= word_p.sum()
    brand_p = 1 / np.arange(1, BRANDS + 1) ** 0.8
    brand_p /= brand_p.sum()
    authors = max(1_000, n // 4)
    author_p = 1 / np.arange(1, authors + 1) ** 0.9
    author_p /= author_p.sum()
    kinds = np.array([SourceKind.SOCIAL.value, SourceKind.REVIEW.value, SourceKind.SUPPORT.value])
    sentiments = np.array(["positive", "neutral", "negative", ""])
    languages = np.array(["en", "es", "fr", "de"])

    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('mentions_mention', 'id'))")
        first_id = cursor.fetchone()[0]
    seconds = rng.integers(0, 365 * 86_400, size=n)
    brand_of = rng.choice(BRANDS, size=n, p=brand_p)
    second_brand = np.where(rng.random(n) < 0.1, rng.choice(BRANDS, size=n, p=brand_p), -1)
    author_of = rng.choice(authors, size=n, p=author_p)
    kind_of = rng.choice(len(kinds), size=n, p=[0.8, 0.15, 0.05])
    sentiment_of = rng.choice(len(sentiments), size=n, p=[0.35, 0.4, 0.2, 0.05])
    language_of = rng.choice(len(languages), size=n, p=[0.7, 0.1, 0.1, 0.1])
    engagement = rng.zipf(2.0, size=n).clip(max=100_000) - 1
    word_idx = rng.choice(len(words), size=(n, 6), p=word_p)
    campaign_pick = rng.random(n)
    created = now.isoformat()
    mention_cols = (
        "id, organization_id, source_id, external_id, kind, text, clean_text, model_text, language, "
        "author_id, author_handle, author_name, published_at, url, engagement, engagement_total, extra, "
        "bot_score, content_hash, duplicate_count, sentiment, enriched_at, created_at, updated_at, "
        # NOT NULL with a Django-side default only: COPY must name them (a column added to Mention
        # without them here stops the seed, and the load harness with it, before its first request).
        "channel, conversation_id, in_reply_to, author_role"
    )
    started = time.perf_counter()
    chunk = 100_000
    for offset in range(0, n, chunk):
        mentions, links, campaign_links = io.StringIO(), io.StringIO(), io.StringIO()
        mw, lw, cw = csv.writer(mentions), csv.writer(links), csv.writer(campaign_links)
        for i in range(offset, min(n, offset + chunk)):
            mid = first_id + i
            published = now - timedelta(seconds=int(seconds[i]))
            b = int(brand_of[i])
            campaign = campaigns[b]
            starts, ends = windows[b]
            in_campaign = starts <= published < ends and campaign_pick[i] < 0.3
            tokens = [brands[b].name, *words[word_idx[i]].tolist()]
            if in_campaign:
                tokens.append(f"#campaign{b:02d}")
            if second_brand[i] >= 0 and second_brand[i] != b:
                tokens.append(brands[int(second_brand[i])].name)
            text = " ".join(tokens)
            sentiment = sentiments[sentiment_of[i]]
            mw.writerow(
                (
                    mid,
                    org.pk,
                    source.pk,
                    f"x{mid}",
                    kinds[kind_of[i]],
                    text,
                    text,
                    text,
                    languages[language_of[i]],
                    f"a{author_of[i]}",
                    "",
                    "",
                    published.isoformat(),
                    "",
                    "{}",
                    int(engagement[i]),
                    "{}",
                    0.0,
                    "",
                    1,
                    sentiment,
                    created if sentiment else NULL,
                    created,
                    created,
                    "",
                    "",
                    "",
                    "",
                )
            )
            lw.writerow((org.pk, b_id := brands[b].pk, mid, published.isoformat(), sentiment))
            if second_brand[i] >= 0 and brands[int(second_brand[i])].pk != b_id:
                lw.writerow((org.pk, brands[int(second_brand[i])].pk, mid, published.isoformat(), sentiment))
            if in_campaign:
                cw.writerow((org.pk, campaign.pk, mid, published.isoformat()))
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for table, cols, buffer in (
                ("mentions_mention", mention_cols, mentions),
                (
                    "mentions_brandmention",
                    "organization_id, brand_id, mention_id, published_at, sentiment",
                    links,
                ),
                (
                    "mentions_campaignmention",
                    "organization_id, campaign_id, mention_id, published_at",
                    campaign_links,
                ),
            ):
                buffer.seek(0)
                raw.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('mentions_mention', 'id'), %s)", [first_id + n])
    seed_enrichments(org.pk)
    seeded = time.perf_counter() - started
    return {
        "now": now,
        "key": key,
        "org": org.pk,
        "brands": [b.pk for b in brands],
        "campaigns": [(c.pk, c.starts_at, c.ends_at) for c in campaigns],
        "seed_seconds": seeded,
    }


# Each sentiment's probabilities in a seeded enrichment: what a page shows, not what a model said.
SEED_PROBS = {
    "positive": '{"negative": 0.04, "neutral": 0.11, "positive": 0.85}',
    "neutral": '{"negative": 0.12, "neutral": 0.76, "positive": 0.12}',
    "negative": '{"negative": 0.81, "neutral": 0.14, "positive": 0.05}',
}


def seed_enrichments(organization_id: int) -> int:
    """Give every scored mention of the organization one enrichment, as a model would have.

    A mention page shows each mention's newest enrichment, so a benchmark without them would leave
    that part of a page out. One ``INSERT ... SELECT``: the sentiment is the mention's, the other
    readings vary with its id. Idempotent (the unique mention/version pair); returns rows added.
    """
    from django.db import connection

    from listening.learning.models import ModelStatus, ModelVersion

    version, _ = ModelVersion.objects.get_or_create(
        name="bench-seed", defaults={"backbone": "bench", "status": ModelStatus.ACTIVE}
    )
    emotions = ["joy", "anger", "sadness", "optimism"]
    intents = ["", "billing", "delivery", "refund", "account"]
    probs = " ".join(f"WHEN '{sentiment}' THEN '{p}'" for sentiment, p in SEED_PROBS.items())
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO mentions_enrichment (organization_id, mention_id, model_version_id, sentiment,
                sentiment_probs, emotion, emotion_probs, irony_prob, intent, intent_prob, created_at)
            SELECT m.organization_id, m.id, %s, m.sentiment,
                (CASE m.sentiment {probs} END)::jsonb,
                (ARRAY{emotions})[1 + m.id %% 4],
                jsonb_build_object((ARRAY{emotions})[1 + m.id %% 4], 0.7),
                (m.id %% 100) / 100.0,
                (ARRAY{intents})[1 + m.id %% 5],
                CASE WHEN m.id %% 5 = 0 THEN NULL ELSE 0.9 END,
                m.enriched_at
            FROM mentions_mention m
            WHERE m.organization_id = %s AND m.sentiment <> ''
            ON CONFLICT (mention_id, model_version_id) DO NOTHING
            """,
            [version.pk, organization_id],
        )
        added = cursor.rowcount
        # The mentions' labels are that version's (what analytics count per version).
        cursor.execute(
            "UPDATE mentions_mention SET model_version_id = %s "
            "WHERE organization_id = %s AND sentiment <> '' AND model_version_id IS DISTINCT FROM %s",
            [version.pk, organization_id, version.pk],
        )
        return added


def existing(now: datetime) -> dict[str, Any]:
    """The organization seeded by an earlier run, with a fresh API key."""
    from listening.brands.models import Brand, Campaign
    from listening.mentions.models import Mention
    from listening.tenancy.models import Membership, Organization
    from listening.tenancy.services import do_issue_api_key

    org = Organization.objects.get(name="Bench")
    membership = Membership.objects.filter(organization=org).first()
    assert membership is not None
    latest = (
        Mention.objects.filter(organization=org)
        .order_by("-published_at")
        .values_list("published_at", flat=True)
    )
    return {
        "now": (latest.first() or now).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1),
        "key": do_issue_api_key(membership, name=f"bench-{now:%H%M%S}").plaintext,
        "org": org.pk,
        "brands": list(Brand.objects.filter(organization=org).order_by("name").values_list("pk", flat=True)),
        "campaigns": [
            (c.pk, c.starts_at, c.ends_at) for c in Campaign.objects.filter(organization=org).order_by("name")
        ],
        "mentions": Mention.objects.filter(organization=org).count(),
    }


AUTHOR_KEY_SQL = (
    "CASE WHEN m.author_id <> '' THEN left(m.author_id, 255) "
    "WHEN m.author_handle <> '' THEN left('@' || lower(m.author_handle), 255) ELSE 'mention:' || m.id END"
)
# listening.analytics.authors.digest of that key.
AUTHOR_DIGEST_SQL = f"substr(sha256(convert_to({AUTHOR_KEY_SQL}, 'UTF8')), 1, 8)"


def sql_build_rollups(org_id: int) -> float:
    """Set-based rollups for benchmark data (texts already space-separated normalised terms), of
    the read mentions as ``listening.analytics.services`` counts them."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for subject, link in (("brand", "mentions_brandmention"), ("campaign", "mentions_campaignmention")):
            for interval in ("hour", "day"):
                cursor.execute(
                    f"""
                    INSERT INTO analytics_{subject}rollup (organization_id, {subject}_id, interval, bucket,
                        source_kind, sentiment, language, mention_count, engagement_sum)
                    SELECT l.organization_id, l.{subject}_id, %s, date_trunc(%s, l.published_at, 'UTC'),
                        m.kind, m.sentiment, m.language, count(*), sum(m.engagement_total)
                    FROM {link} l JOIN mentions_mention m ON m.id = l.mention_id
                    WHERE l.organization_id = %s AND m.enriched_at IS NOT NULL
                    GROUP BY 1, 2, 4, 5, 6, 7""",
                    [interval, interval, org_id],
                )
            for interval in ("hour", "day"):
                cursor.execute(
                    f"""
                    INSERT INTO analytics_{subject}totals (organization_id, {subject}_id, interval, bucket,
                        mention_count, engagement_sum, positive, neutral, negative, unscored,
                        author_count, authors)
                    SELECT r.organization_id, r.{subject}_id, r.interval, r.bucket, r.n, r.engagement,
                        r.positive, r.neutral, r.negative, r.unscored, a.n, a.authors
                    FROM (
                        SELECT organization_id, {subject}_id, interval, bucket, sum(mention_count) AS n,
                            sum(engagement_sum) AS engagement,
                            coalesce(sum(mention_count) FILTER (WHERE sentiment = 'positive'), 0) AS positive,
                            coalesce(sum(mention_count) FILTER (WHERE sentiment = 'neutral'), 0) AS neutral,
                            coalesce(sum(mention_count) FILTER (WHERE sentiment = 'negative'), 0) AS negative,
                            coalesce(sum(mention_count) FILTER (WHERE sentiment = ''), 0) AS unscored
                        FROM analytics_{subject}rollup
                        WHERE organization_id = %s AND interval = %s
                        GROUP BY 1, 2, 3, 4
                    ) r JOIN (
                        SELECT {subject}_id, bucket, count(*) AS n,
                            string_agg(d, ''::bytea ORDER BY d) AS authors
                        FROM (
                            SELECT DISTINCT l.{subject}_id, date_trunc(%s, l.published_at, 'UTC') AS bucket,
                                {AUTHOR_DIGEST_SQL} AS d
                            FROM {link} l JOIN mentions_mention m ON m.id = l.mention_id
                            WHERE l.organization_id = %s AND m.enriched_at IS NOT NULL
                        ) digests
                        GROUP BY 1, 2
                    ) a ON a.{subject}_id = r.{subject}_id AND a.bucket = r.bucket""",
                    [org_id, interval, interval, org_id],
                )
            cursor.execute(
                f"""
                INSERT INTO analytics_{subject}termday
                    (organization_id, {subject}_id, bucket, term, mention_count)
                SELECT l.organization_id, l.{subject}_id, date_trunc('day', l.published_at, 'UTC'),
                    t.term, count(*)
                FROM {link} l JOIN mentions_mention m ON m.id = l.mention_id,
                    LATERAL (SELECT DISTINCT term FROM regexp_split_to_table(m.clean_text, ' ') AS term) t
                WHERE l.organization_id = %s AND m.enriched_at IS NOT NULL
                GROUP BY 1, 2, 3, 4""",
                [org_id],
            )
            cursor.execute(
                f"""
                INSERT INTO analytics_{subject}versionday
                    (organization_id, {subject}_id, bucket, model_version_id, mention_count)
                SELECT l.organization_id, l.{subject}_id, date_trunc('day', l.published_at, 'UTC'),
                    m.model_version_id, count(*)
                FROM {link} l JOIN mentions_mention m ON m.id = l.mention_id
                WHERE l.organization_id = %s AND m.enriched_at IS NOT NULL AND m.model_version_id IS NOT NULL
                GROUP BY 1, 2, 3, 4""",
                [org_id],
            )
            cursor.execute(
                f"""
                INSERT INTO analytics_{subject}termweek
                    (organization_id, {subject}_id, bucket, term, mention_count)
                SELECT organization_id, {subject}_id, date_trunc('week', bucket, 'UTC'), term,
                    sum(mention_count)
                FROM analytics_{subject}termday
                WHERE organization_id = %s
                GROUP BY 1, 2, 3, 4""",
                [org_id],
            )
    # Autovacuum does this in production; here the visibility map must be set before measuring, or
    # PostgreSQL cannot use index-only scans.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def check_sql_matches_python(brand_id: int, day: datetime) -> bool:
    """Recompute one brand-day with ``recompute_subject_days`` and compare with the SQL rows."""
    from listening.analytics.models import (
        BrandRollup,
        BrandTermDay,
        BrandTermWeek,
        BrandTotals,
        BrandVersionDay,
    )
    from listening.analytics.services import recompute_subject_days
    from listening.analytics.vocabulary import BRAND_SCOPE, DAY, WEEK, floor_week

    def rows() -> tuple[set[Any], ...]:
        window = {"brand_id": brand_id, "bucket__gte": day, "bucket__lt": day + DAY}
        week = floor_week(day)
        return (
            set(
                BrandRollup.objects.filter(**window).values_list(
                    "interval",
                    "bucket",
                    "source_kind",
                    "sentiment",
                    "language",
                    "mention_count",
                    "engagement_sum",
                )
            ),
            {
                (*row[:-1], bytes(row[-1]))
                for row in BrandTotals.objects.filter(**window).values_list(
                    "interval",
                    "bucket",
                    "mention_count",
                    "engagement_sum",
                    "positive",
                    "neutral",
                    "negative",
                    "unscored",
                    "author_count",
                    "authors",
                )
            },
            set(BrandTermDay.objects.filter(**window).values_list("bucket", "term", "mention_count")),
            set(
                BrandVersionDay.objects.filter(**window).values_list(
                    "bucket", "model_version_id", "mention_count"
                )
            ),
            set(
                BrandTermWeek.objects.filter(
                    brand_id=brand_id, bucket__gte=week, bucket__lt=week + WEEK
                ).values_list("bucket", "term", "mention_count")
            ),
        )

    before = rows()
    recompute_subject_days(BRAND_SCOPE, brand_id, [day])
    return before == rows() and bool(before[0])


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the API and worker subprocesses: the benchmark's database, no rate limit
    (the benchmark sets the load), quiet logs, persistent database connections."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "LISTENING_ENV": "test",
        "DJANGO_DEBUG": "false",
        "API_RATE_LIMIT": "1000000/min",
        "LOG_LEVEL": "warning",
        "DATABASE_CONN_MAX_AGE": "600",
        "DATABASE_STATEMENT_TIMEOUT_MS": "30000",
        **(extra or {}),
    }


def _stop(process: subprocess.Popen[bytes], sig: int, grace: float) -> None:
    """Send ``sig``, wait ``grace`` seconds, then kill the process and what it started."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass
        # Its own session (start_new_session): the group holds the process and its children.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class Server:
    """``gunicorn listening.wsgi`` (gthread) on 127.0.0.1:``port``, up when the constructor returns.

    It runs in a session of its own, so a Ctrl-C at the terminal reaches only the benchmark, which
    then stops it in order.
    """

    def __init__(
        self,
        database_url: str,
        port: int,
        workers: int,
        threads: int,
        *,
        env: Mapping[str, str] | None = None,
        log: IO[bytes] | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "listening.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=service_env(database_url, env),
            stdout=log,
            stderr=subprocess.STDOUT if log is not None else None,
            start_new_session=True,
        )
        try:
            self._wait_until_up(port)
        except BaseException:  # a Ctrl-C while waiting too: nobody else holds the process yet
            self.stop()
            raise

    def _wait_until_up(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode} (port {port} in use?)")
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not come up within 60 s")

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM, grace=30)


class CeleryWorker:
    """``celery -A workers worker -Q <queues>`` as a subprocess, ready (answering a ping) when the
    constructor returns. Needs ``REDIS_URL`` and a configured Django (the ping goes through the app)."""

    def __init__(
        self,
        name: str,
        queues: str,
        database_url: str,
        *,
        concurrency: int = 1,
        pool: str = "prefork",
        env: Mapping[str, str] | None = None,
        log: IO[bytes] | None = None,
        ready_timeout: float = 120,
    ) -> None:
        from workers import app

        self.name, self.queues = name, queues
        self.hostname = f"{name}@{socket.gethostname()}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers",
                "worker",
                "-Q",
                queues,
                "-n",
                self.hostname,
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=service_env(database_url, env),
            stdout=log,
            stderr=subprocess.STDOUT if log is not None else None,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + ready_timeout
            while not app.control.ping(destination=[self.hostname], timeout=1.0):
                if self.process.poll() is not None:
                    raise RuntimeError(f"celery worker {name} exited with {self.process.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"celery worker {name} did not answer a ping within {ready_timeout:.0f} s"
                    )
        except BaseException:  # a Ctrl-C while waiting too: nobody else holds the process yet
            self.stop()
            raise

    def stop(self) -> None:
        # SIGTERM is Celery's warm shutdown: running tasks finish, nothing new is taken.
        _stop(self.process, signal.SIGTERM, grace=60)
