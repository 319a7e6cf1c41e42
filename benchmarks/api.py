"""Dashboard API latency on a large PostgreSQL table, over loopback HTTP under concurrent load.

    python -m benchmarks.api [--mentions 1000000] [--concurrency 8] [--requests 300] [--explain]

1. Creates a fresh database ``<DATABASE_URL name>_bench`` (default ``bench_api``), migrates it and
   seeds ``--mentions`` mentions across 20 brands over the last year with COPY (one org, Zipf brand
   volumes, 10% co-mentions, one 30-day campaign per brand, authors and terms drawn from fixed pools).
2. Builds the rollups with set-based SQL (the same definitions as ``do_update_rollups``; the seeded
   texts are already normalised terms, so splitting on spaces equals ``extract_terms``) and checks
   one brand-day against the Python recompute.
3. Starts gunicorn (gthread) on 127.0.0.1 and measures p50/p95 per endpoint with a thread-pool
   client, each endpoint alone under ``--concurrency`` parallel clients, with random brands,
   campaigns and 30-day windows. Goals: metrics/comparison p95 <= 100 ms, mention page <= 50 ms.
4. ``--explain`` prints EXPLAIN ANALYZE of the slowest SQL statement of each endpoint.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import requests

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


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/bench"
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("benchmarks.api needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = (parts.path.lstrip("/") or "bench") + "_bench"
    return urlunsplit(parts._replace(path="/" + name))


def recreate_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = parts.path.lstrip("/")
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    from listening.analytics.terms import STOP_WORDS

    words: set[str] = set()
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        if len(word) >= 4 and word not in STOP_WORDS:
            words.add(word)
    return sorted(words)


def seed(n: int, now: datetime) -> dict[str, Any]:
    """Seed one organization; returns its API key, brand ids and campaign ids/windows."""
    from django.db import connection

    from listening.brands.models import Brand, Campaign
    from listening.mentions.models import Source, SourceKind
    from listening.tenancy.services import do_create_organization

    org, key = do_create_organization("Bench", owner_username="bench")
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
        "bot_score, content_hash, duplicate_count, sentiment, enriched_at, created_at, updated_at"
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
                )
            )
            lw.writerow((org.pk, b_id := brands[b].pk, mid, published.isoformat()))
            if second_brand[i] >= 0 and brands[int(second_brand[i])].pk != b_id:
                lw.writerow((org.pk, brands[int(second_brand[i])].pk, mid, published.isoformat()))
            if in_campaign:
                cw.writerow((org.pk, campaign.pk, mid, published.isoformat()))
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for table, cols, buffer in (
                ("mentions_mention", mention_cols, mentions),
                ("mentions_brandmention", "organization_id, brand_id, mention_id, published_at", links),
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
    seeded = time.perf_counter() - started
    return {
        "now": now,
        "key": key.plaintext,
        "org": org.pk,
        "brands": [b.pk for b in brands],
        "campaigns": [(c.pk, c.starts_at, c.ends_at) for c in campaigns],
        "seed_seconds": seeded,
    }


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


def sql_build_rollups(org_id: int) -> float:
    """Set-based rollups for benchmark data (texts already space-separated normalised terms)."""
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
                    WHERE l.organization_id = %s
                    GROUP BY 1, 2, 4, 5, 6, 7""",
                    [interval, interval, org_id],
                )
            cursor.execute(
                f"""
                INSERT INTO analytics_{subject}authorhour (organization_id, {subject}_id, bucket, author_key)
                SELECT DISTINCT l.organization_id, l.{subject}_id, date_trunc('hour', l.published_at, 'UTC'),
                    {AUTHOR_KEY_SQL}
                FROM {link} l JOIN mentions_mention m ON m.id = l.mention_id
                WHERE l.organization_id = %s""",
                [org_id],
            )
            cursor.execute(
                f"""
                INSERT INTO analytics_{subject}termday
                    (organization_id, {subject}_id, bucket, term, mention_count)
                SELECT l.organization_id, l.{subject}_id, date_trunc('day', l.published_at, 'UTC'),
                    t.term, count(*)
                FROM {link} l JOIN mentions_mention m ON m.id = l.mention_id,
                    LATERAL (SELECT DISTINCT term FROM regexp_split_to_table(m.clean_text, ' ') AS term) t
                WHERE l.organization_id = %s
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
    from listening.analytics.models import BrandAuthorHour, BrandRollup, BrandTermDay
    from listening.analytics.services import BRAND_SCOPE, DAY, recompute_subject_days

    def rows() -> tuple[set[Any], ...]:
        window = {"brand_id": brand_id, "bucket__gte": day, "bucket__lt": day + DAY}
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
            set(BrandAuthorHour.objects.filter(**window).values_list("bucket", "author_key")),
            set(BrandTermDay.objects.filter(**window).values_list("bucket", "term", "mention_count")),
        )

    before = rows()
    recompute_subject_days(BRAND_SCOPE, brand_id, [day])
    return before == rows() and bool(before[0])


class Server:
    def __init__(self, database_url: str, port: int, workers: int, threads: int) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "LISTENING_ENV": "test",
            "DJANGO_DEBUG": "false",
            "API_RATE_LIMIT": "1000000/min",
            "LOG_LEVEL": "warning",
            "DATABASE_CONN_MAX_AGE": "600",
            "DATABASE_STATEMENT_TIMEOUT_MS": "30000",
        }
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
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode} (port {port} in use?)")
            try:
                if requests.get(f"{self.url}/healthz", timeout=10).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not come up within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def measure(
    base: str, key: str, make_path: Callable[[random.Random], str], total: int, concurrency: int, seed_: int
) -> dict[str, float]:
    """Latencies (ms) of ``total`` GETs from ``concurrency`` threads, after a warm-up."""
    rng = random.Random(seed_)
    paths = [make_path(rng) for _ in range(total + concurrency * 3)]
    sessions: dict[int, requests.Session] = {}
    import threading

    def get(path: str) -> float:
        session = sessions.setdefault(threading.get_ident(), requests.Session())
        started = time.perf_counter()
        response = session.get(base + path, headers={"Authorization": f"Api-Key {key}"}, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(get, paths[: concurrency * 3]))  # warm-up: connections, caches
        started = time.perf_counter()
        latencies = list(pool.map(get, paths[concurrency * 3 :]))
        wall = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return {"p50": statistics.median(latencies), "p95": quantiles[94], "rps": len(latencies) / wall}


def explain(key: str, path: str) -> None:
    """Run one request in-process and print EXPLAIN ANALYZE of its slowest statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:1]
    for query in slowest:
        print(
            f"  slowest of {len(captured.captured_queries)} statements "
            f"({float(query['time']) * 1000:.1f} ms):"
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            for (line,) in cursor.fetchall():
                print("    " + line)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per endpoint")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database seeded by a previous run (skip seeding)"
    )
    args = parser.parse_args()

    url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("LISTENING_ENV", "test")
    os.environ["LOG_LEVEL"] = "warning"
    # Seeding and set-based rollups of a million rows outlast the API's statement timeout.
    os.environ["DATABASE_STATEMENT_TIMEOUT_MS"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")
    if not args.reuse:
        recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if args.reuse:
        info = existing(now)
        print(f"reusing {info['mentions']:,} seeded mentions")
    else:
        info = seed(args.mentions, now)
        rollup_seconds = sql_build_rollups(info["org"])
        sample_day = (now - timedelta(days=3)).replace(hour=0)
        consistent = check_sql_matches_python(info["brands"][0], sample_day)
        print(
            f"seeded {args.mentions:,} mentions x {BRANDS} brands over 365 days "
            f"in {info['seed_seconds']:.1f} s "
            f"(COPY); rollups by SQL in {rollup_seconds:.1f} s; "
            f"SQL rollups == Python recompute on a brand-day: {consistent}"
        )
    now = info["now"]

    brands, campaigns = info["brands"], info["campaigns"]

    def window(rng: random.Random) -> str:
        end = now - timedelta(days=rng.randint(0, 330))
        return f"from={(end - timedelta(days=30)).isoformat()}&to={end.isoformat()}".replace("+00:00", "Z")

    def metrics(interval: str) -> Callable[[random.Random], str]:
        def make(rng: random.Random) -> str:
            cid, _starts, _ends = rng.choice(campaigns)
            return f"/api/v1/campaigns/{cid}/metrics/?interval={interval}"

        return make

    def comparison(count: int, interval: str) -> Callable[[random.Random], str]:
        def make(rng: random.Random) -> str:
            ids = ",".join(str(b) for b in rng.sample(brands, count))
            return f"/api/v1/comparisons/?brands={ids}&interval={interval}&{window(rng)}"

        return make

    endpoints: list[tuple[str, Callable[[random.Random], str], int]] = [
        ("metrics 30d daily", metrics("day"), 100),
        ("metrics 30d hourly", metrics("hour"), 100),
        ("comparison 5 brands 30d daily", comparison(5, "day"), 100),
        ("comparison 5 brands 30d hourly", comparison(5, "hour"), 100),
        ("comparison 20 brands 30d daily", comparison(20, "day"), 100),
        ("mention list page (org)", lambda rng: "/api/v1/mentions/?page_size=50", 50),
        (
            "mention list page (brand)",
            lambda rng: f"/api/v1/mentions/?brand={rng.choice(brands)}&page_size=50",
            50,
        ),
        (
            "mention list page (brand, negative)",
            lambda rng: f"/api/v1/mentions/?brand={rng.choice(brands)}&sentiment=negative&page_size=50",
            50,
        ),
    ]
    if args.explain:
        for name, make, _goal in endpoints:
            path = make(random.Random(1))
            print(f"EXPLAIN {name}: {path}")
            explain(info["key"], path)

    server = Server(url, args.port, args.workers, args.threads)
    try:
        print(
            f"gunicorn {args.workers} workers x {args.threads} threads; "
            f"{args.concurrency} concurrent clients; "
            f"{args.requests} requests per endpoint"
        )
        print(
            f"{'endpoint':<36} {'1 client p50/p95 ms':>20} {f'{args.concurrency} clients p50/p95 ms':>21} "
            f"{'goal p95':>9} {'req/s':>6}  verdict (at {args.concurrency} clients)"
        )
        for i, (name, make, goal) in enumerate(endpoints):
            alone = measure(server.url, info["key"], make, max(30, args.requests // 3), 1, seed_=100 + i)
            loaded = measure(server.url, info["key"], make, args.requests, args.concurrency, seed_=i)
            verdict = "ok" if loaded["p95"] <= goal else "OVER"
            print(
                f"{name:<36} {alone['p50']:9.1f} /{alone['p95']:7.1f}   "
                f"{loaded['p50']:9.1f} /{loaded['p95']:7.1f}   "
                f"{'<= ' + str(goal):>9} {loaded['rps']:6.0f}  {verdict}"
            )
        load = os.getloadavg()
        print(
            f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
