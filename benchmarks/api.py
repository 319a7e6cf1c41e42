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
import os
import random
import runpy
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests

from benchmarks.stack import (
    BRANDS,
    ROOT,
    Server,
    bench_database_url,
    check_sql_matches_python,
    existing,
    free_port,
    recreate_database,
    seed,
    seed_enrichments,
    sql_build_rollups,
)


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
    """Run one request in-process (in the benchmark's database, as the benchmark organization's key)
    and print EXPLAIN ANALYZE of its slowest SQL statement.

    The request runs twice and the second is captured, so connection set-up and cold caches do not
    pick the statement. Each captured SELECT is then run under EXPLAIN ANALYZE and the one with the
    longest execution time is printed (the captured timings are whole milliseconds: too coarse to
    choose by); writes (the key's last-used stamp) are not re-run.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    status = client.get(path).status_code
    if status != 200:
        raise RuntimeError(f"{path}: HTTP {status}")
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    statements = [q["sql"] for q in captured.captured_queries]
    plans: list[tuple[float, list[str]]] = []
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip(" (").upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            lines = [line for (line,) in cursor.fetchall()]
            took = next(
                (float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")),
                0.0,
            )
            plans.append((took, lines))
    print(f"  {len(statements)} statements; each SELECT's execution time and scans:")
    for took, lines in plans:
        scans = sorted({_scan(line) for line in lines if " Scan " in f" {line} "})
        print(f"    {took:6.1f} ms  {'; '.join(scans)}")
    took, lines = max(plans, key=lambda plan: plan[0])
    print(f"  slowest ({took:.1f} ms):")
    for line in lines:
        print("    " + line)


def _scan(line: str) -> str:
    """``Index Only Scan Backward using idx on table`` out of a plan line (costs and aliases cut)."""
    node = line.strip().removeprefix("->").strip().split("  (")[0]
    words = node.split(" ")
    return " ".join(words[: words.index("on") + 2]) if "on" in words else node


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per endpoint")
    # By default what ``gunicorn listening.wsgi`` runs: gunicorn.conf.py's processes and threads.
    serving = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    parser.add_argument("--workers", type=int, default=serving["workers"])
    parser.add_argument("--threads", type=int, default=serving["threads"])
    parser.add_argument("--port", type=int, default=8765, help="0: a free one")
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
    from django.db import connection

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if args.reuse:
        # Migrations may have rewritten rows since the seeding (a backfill): autovacuum would set the
        # visibility map in time; here it must be set before measuring, or no scan is index-only.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        info = existing(now)
        # A database seeded before mentions had enrichments gets them now (a no-op after that).
        added = seed_enrichments(info["org"])
        note = f" ({added:,} enrichments added)" if added else ""
        print(f"reusing {info['mentions']:,} seeded mentions{note}")
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

    server = Server(url, args.port or free_port(), args.workers, args.threads)
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
