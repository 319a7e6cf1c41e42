"""Load: dashboard reads, ingestion pushes and analyze calls at a steady rate against the whole stack.

    python -m benchmarks.load [--minutes 3] [--users 20] [--rate 5] [--mentions 200000]

Needs PostgreSQL and Redis (``DATABASE_URL``, ``REDIS_URL``) and runs everything over loopback:

1. Recreates the database ``--database`` (default ``load_bench``) on ``DATABASE_URL``'s server (never
   ``DATABASE_URL``'s own database), migrates it and seeds the demo organization (three live brands,
   their campaign, three push sources, an owner key) plus ``--mentions`` mentions of 20 more brands
   over the last year, with their rollups (``benchmarks.stack``); the history counts as enriched.
2. Starts gunicorn (``--gunicorn-workers`` x ``--threads``, gthread) on a free port, a Celery worker on
   ``enrich`` (the language model: pushed mentions, with their rollups in the same transaction, and
   analyze calls) and one on ``ingest,maintenance,alerts`` as in production (pushes are stored by the
   API itself), then warms each route up.
3. Runs locust headless on ``benchmarks/locustfile.py`` for ``--minutes``: ``--users`` users, ``--rate``
   actions per second in all (``constant_throughput``), mixed by ``--weights``. The resident memory
   of every process (gunicorn master and workers, each Celery process, locust, this database's
   PostgreSQL backends, redis-server) is sampled every second. A progress line every ``--progress`` s.
4. After the load: waits (``--drain-timeout``) until every mention the API confirmed as stored is in
   the database, enriched, and counted by sentiment in the live brands' and campaign's rollups; then
   prints per request type throughput, p50/p95/p99 and errors, the memory table, and the verdicts as
   a markdown table ``| scenario | pass criterion | measured |``.

Latency percentiles are computed from every request's own time (not locust's rounded buckets), over
the whole run: the warm-up requests of step 2 are not in them. Everything is stopped in order, the
database dropped (unless ``--keep-database``), also on Ctrl-C or a failure. Files in ``--out``
(default ``var/load/<time>``): locust's CSVs and log, every request, memory samples, server and worker
logs, ``summary.json``. Exit status: 0 when every criterion passes, 1 when one fails, 2 when the run
could not be made, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psutil
import requests

from benchmarks.stack import (
    ROOT,
    CeleryWorker,
    Server,
    bench_database_url,
    drop_database,
    free_port,
    recreate_database,
    seed,
    sql_build_rollups,
)

WEIGHTS = {"metrics": 25, "comparisons": 20, "mentions": 30, "brands": 10, "ingest": 10, "analyze": 5}
GROUPS = {"read": "dashboard reads", "ingest": "ingest pushes", "analyze": "analyze calls"}
MB = 1024 * 1024


# --- memory -----------------------------------------------------------------------------------------
class MemorySampler(threading.Thread):
    """Every ``interval`` s, the RSS of each watched process tree, of this database's PostgreSQL
    backends (summed) and of redis-server. Labels are stable: children are numbered by first sight."""

    def __init__(self, database: str, interval: float = 1.0) -> None:
        super().__init__(name="memory-sampler", daemon=True)
        self.database, self.interval = database, interval
        self.roots: dict[str, tuple[int, str, str]] = {}  # key → (pid, main label, child label)
        self.children: dict[str, dict[int, str]] = defaultdict(dict)
        self.samples: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.backends: list[tuple[float, int]] = []  # (time, PostgreSQL backends of the database)
        self.stop_event = threading.Event()
        self.lock = threading.Lock()

    def watch(self, key: str, pid: int, main: str, child: str) -> None:
        with self.lock:
            self.roots[key] = (pid, main, child)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)

    def sample(self) -> None:
        now = time.monotonic()
        readings: list[tuple[str, int]] = []
        with self.lock:
            roots = dict(self.roots)
        for key, (pid, main, child) in roots.items():
            try:
                root = psutil.Process(pid)
                readings.append((main, root.memory_info().rss))
                for process in sorted(root.children(recursive=True), key=lambda p: p.pid):
                    labels = self.children[key]
                    label = labels.setdefault(process.pid, f"{child} {len(labels) + 1}")
                    readings.append((label, process.memory_info().rss))
            except psutil.Error:
                continue  # exited between listing and reading
        backends, count, redis = 0, 0, 0
        for process in psutil.process_iter(["name", "cmdline"]):
            try:
                name, cmdline = process.info["name"] or "", " ".join(process.info["cmdline"] or [])
                if cmdline.startswith("postgres: ") and f" {self.database} " in cmdline:
                    backends += process.memory_info().rss
                    count += 1
                elif name == "redis-server":
                    redis = max(redis, process.memory_info().rss)
            except psutil.Error:
                continue
        if count:
            readings.append((f"postgres backends of {self.database} (sum)", backends))
        if redis:
            readings.append(("redis-server (shared)", redis))
        with self.lock:
            for label, rss in readings:
                self.samples[label].append((now, rss))
            if count:
                self.backends.append((now, count))

    def latest_app_rss(self) -> int:
        with self.lock:
            return sum(
                series[-1][1]
                for label, series in self.samples.items()
                if label.startswith(("gunicorn", "celery")) and series
            )


@dataclass
class MemoryRow:
    label: str
    start: int
    third: int
    peak: int
    end: int
    app: bool  # ours (gunicorn, Celery): the growth criterion applies

    @property
    def growth(self) -> float:
        return (self.end - self.third) / self.third if self.third else 0.0


def memory_rows(samples: dict[str, list[tuple[float, int]]], t0: float, t1: float) -> list[MemoryRow]:
    """Per process: RSS when the load started, at a third of it, the peak during it, at its end."""
    rows = []
    third_at = t0 + (t1 - t0) / 3
    for label, series in samples.items():
        during = [(t, rss) for t, rss in series if t0 - 1.5 <= t <= t1 + 1.5]
        if not during:
            continue
        at_third = min(during, key=lambda s: abs(s[0] - third_at))[1]
        rows.append(
            MemoryRow(
                label,
                during[0][1],
                at_third,
                max(rss for _, rss in during),
                during[-1][1],
                app=label.startswith(("gunicorn", "celery")),
            )
        )
    return rows


# --- requests ---------------------------------------------------------------------------------------
@dataclass
class Latency:
    name: str
    count: int = 0
    errors: int = 0
    times: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.times, q)) if self.times else float("nan")


def latency_table(samples: list[list[Any]]) -> tuple[dict[str, Latency], dict[str, Latency], Latency]:
    by_name: dict[str, Latency] = {}
    by_group: dict[str, Latency] = {group: Latency(label) for group, label in GROUPS.items()}
    total = Latency("all requests")
    for _start, name, ms, error in samples:
        group = by_group[name.split(":", 1)[0]]
        for bucket in (by_name.setdefault(name, Latency(name)), group, total):
            bucket.count += 1
            bucket.times.append(ms)
            bucket.errors += bool(error)
    return dict(sorted(by_name.items())), by_group, total


# --- the checks after the load ----------------------------------------------------------------------
@dataclass
class Pushed:
    confirmed: int
    in_database: int
    missing: int
    unexpected: int
    enriched: int
    with_enrichment_row: int
    rollups_current: bool
    rollup_detail: str

    @property
    def complete(self) -> bool:
        return (
            self.missing == 0
            and self.unexpected == 0
            and self.enriched == self.in_database
            and self.with_enrichment_row == self.in_database
            and self.rollups_current
        )


def check_pushed(
    org_id: int, prefix: str, confirmed: set[str], uncertain: set[str], brand_ids: list[int], campaign_id: int
) -> Pushed:
    """Compare the database with what the API confirmed; rollups by sentiment against the links."""
    from django.db.models import Sum

    from listening.analytics.models import BrandRollup, CampaignRollup
    from listening.mentions.models import BrandMention, CampaignMention, Enrichment, Mention

    rows = list(
        Mention.objects.filter(organization_id=org_id, external_id__startswith=prefix).values_list(
            "external_id", "enriched_at"
        )
    )
    stored = {external_id for external_id, _ in rows}
    with_row = (
        Enrichment.objects.filter(organization_id=org_id, mention__external_id__startswith=prefix)
        .values("mention_id")
        .distinct()
        .count()
    )
    mismatches = []
    subjects: list[tuple[str, Any, Any, dict[str, int]]] = [
        ("brand", BrandRollup, BrandMention, {"brand_id": b}) for b in brand_ids
    ]
    subjects.append(("campaign", CampaignRollup, CampaignMention, {"campaign_id": campaign_id}))
    for kind, rollup, link, subject in subjects:
        expected = Counter(link.objects.filter(**subject).values_list("mention__sentiment", flat=True))
        got = Counter(
            dict(
                rollup.objects.filter(**subject, interval="day")
                .values("sentiment")
                .annotate(total=Sum("mention_count"))
                .values_list("sentiment", "total")
            )
        )
        if expected != got:
            mismatches.append(
                f"{kind} {next(iter(subject.values()))}: links {dict(expected)} rollups {dict(got)}"
            )
    return Pushed(
        confirmed=len(confirmed),
        in_database=len(stored),
        missing=len(confirmed - stored),
        unexpected=len(stored - confirmed - uncertain),
        enriched=sum(enriched_at is not None for _, enriched_at in rows),
        with_enrichment_row=with_row,
        rollups_current=not mismatches,
        rollup_detail="; ".join(mismatches),
    )


def pending_enrichment(org_id: int) -> int:
    from listening.mentions.models import Mention

    return Mention.objects.filter(organization_id=org_id, enriched_at__isnull=True).count()


# --- the run ----------------------------------------------------------------------------------------
def seed_dataset(mentions: int) -> dict[str, Any]:
    """The demo organization (live brands, campaign, push sources, key) plus seeded history."""
    from django.utils import timezone

    from listening.demo.services import do_seed_demo
    from listening.mentions.models import Mention

    started = time.perf_counter()
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    demo = do_seed_demo()
    info = seed(mentions, now, organization=demo.organization)
    # The history counts as read by the model, so the enrich worker only sees what the load pushes.
    Mention.objects.filter(organization=demo.organization, enriched_at__isnull=True).update(enriched_at=now)
    rollup_seconds = sql_build_rollups(demo.organization.pk)
    return {
        "org": demo.organization.pk,
        "key": demo.owner_key.plaintext,
        "brands": info["brands"],
        "live_brands": [b.pk for b in demo.brands],
        "campaigns": [c[0] for c in info["campaigns"]] + [demo.campaign.pk],
        "live_campaign": demo.campaign.pk,
        "sources": {source.kind: source.pk for source in demo.sources},
        "seed_seconds": time.perf_counter() - started,
        "rollup_seconds": rollup_seconds,
    }


def warm_up(base: str, dataset: dict[str, Any], rounds: int) -> None:
    """A few requests of every kind, so model loads and first connections fall outside the run."""
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {dataset['key']}"
    for i in range(rounds):
        for path in (
            "/api/v1/brands/",
            f"/api/v1/campaigns/{dataset['live_campaign']}/metrics/?interval=day",
            f"/api/v1/comparisons/?brands={','.join(map(str, dataset['live_brands']))}",
            "/api/v1/mentions/?page_size=50",
        ):
            _ok(session.get(base + path, timeout=60))
        _ok(
            session.post(
                base + "/api/v1/ingest",
                json={
                    "source": dataset["sources"]["social"],
                    "items": [
                        {"external_id": f"warm-up-{i}", "text": "Warming up the Northwind StormShell jacket"}
                    ],
                },
                timeout=60,
            )
        )
        warm_up_analyze(session, base)


def _ok(response: requests.Response) -> None:
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:  # the stack is not serving: no run to report (exit 2, not 1)
        raise RuntimeError(f"warm-up: {exc}") from exc


# The analyze worker loads the model on its first message: on a busy 2-core machine that outlasts
# the endpoint's own wait (ANALYZE_TIMEOUT_SECONDS), which answers 503 meanwhile.
WARM_UP_ANALYZE_SECONDS = 300.0


def warm_up_analyze(session: requests.Session, base: str) -> None:
    """POST /analyze until it answers 200 (503 means the worker is still loading its model)."""
    deadline = time.monotonic() + WARM_UP_ANALYZE_SECONDS
    while True:
        response = session.post(base + "/api/v1/analyze", json={"texts": ["warm-up"]}, timeout=120)
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    _ok(response)


def stats_history(path: Path) -> tuple[float, int, int]:
    """(current req/s, requests, failures) from the last aggregated row locust wrote."""
    try:
        with path.open(encoding="utf-8") as handle:
            last = None
            for row in csv.DictReader(handle):
                if row.get("Name") == "Aggregated":
                    last = row
    except OSError:
        return 0.0, 0, 0
    if not last:
        return 0.0, 0, 0
    return (
        float(last.get("Requests/s") or 0),
        int(last.get("Total Request Count") or 0),
        int(last.get("Total Failure Count") or 0),
    )


def stop_locust(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # locust stops its users and writes its results
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def fmt_mb(value: int) -> str:
    return f"{value / MB:,.0f}"


def verdict(ok: bool) -> str:
    return "**pass**" if ok else "**FAIL**"


def run(args: argparse.Namespace, url: str, out: Path, stack: ExitStack) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    dataset = seed_dataset(args.mentions)
    print(
        f"seeded the demo organization + {args.mentions:,} mentions of 20 brands in "
        f"{dataset['seed_seconds']:.1f} s (rollups by SQL {dataset['rollup_seconds']:.1f} s); database "
        f"{urlsplit(url).path.lstrip('/')}; files in {out}",
        flush=True,
    )
    connection.close()

    sampler = MemorySampler(urlsplit(url).path.lstrip("/"))
    logs = {name: stack.enter_context((out / f"{name}.log").open("wb")) for name in ("gunicorn", "celery")}
    started = time.perf_counter()
    server = Server(url, args.port or free_port(), args.gunicorn_workers, args.threads, log=logs["gunicorn"])
    stack.callback(server.stop)
    sampler.watch("gunicorn", server.process.pid, "gunicorn master", "gunicorn worker")
    enrich = CeleryWorker(
        "load-enrich", "enrich", url, concurrency=args.enrich_concurrency, log=logs["celery"]
    )
    stack.callback(enrich.stop)
    sampler.watch("enrich", enrich.process.pid, "celery enrich main", "celery enrich pool")
    # POST /analyze has its own queue and worker, as in production: a waiting client never sits
    # behind batch enrichment.
    analyze_worker = CeleryWorker("load-analyze", "analyze", url, concurrency=1, log=logs["celery"])
    stack.callback(analyze_worker.stop)
    sampler.watch("analyze", analyze_worker.process.pid, "celery analyze main", "celery analyze pool")
    general = CeleryWorker(
        "load-general",
        "ingest,maintenance,alerts",
        url,
        concurrency=args.general_concurrency,
        log=logs["celery"],
    )
    stack.callback(general.stop)
    sampler.watch(
        "general",
        general.process.pid,
        "celery ingest+maintenance+alerts main",
        "celery ingest+maintenance+alerts pool",
    )
    sampler.start()
    stack.callback(sampler.stop)
    warm_up(server.url, dataset, rounds=args.gunicorn_workers * 2)
    print(
        f"stack up in {time.perf_counter() - started:.1f} s: gunicorn {args.gunicorn_workers} workers x "
        f"{args.threads} threads at {server.url}; celery enrich (concurrency {args.enrich_concurrency}), "
        "analyze (1), "
        f"celery ingest,maintenance,alerts (concurrency {args.general_concurrency}); warmed up",
        flush=True,
    )

    seconds = int(args.minutes * 60)
    prefix = f"load-{uuid.uuid4().hex[:8]}-"
    weights = dict(WEIGHTS)
    for part in filter(None, args.weights.split(",")):
        name, _, value = part.partition("=")
        if name not in weights:
            raise SystemExit(f"--weights: unknown task {name!r} (known: {', '.join(weights)})")
        weights[name] = int(value)
    config = {
        **dataset,
        "now": datetime.now(UTC).isoformat(),
        "users": args.users,
        "rate": args.rate,
        "weights": weights,
        "batch": args.batch,
        "duplicate_share": args.duplicates,
        "retry_share": args.retries,
        "id_prefix": prefix,
        "corpus_seeds": args.corpus_seeds,
        "results": str(out / "requests.json"),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless",
        "--host",
        server.url,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(max(1.0, args.users / 5)),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "60",
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    total_weight = sum(weights.values())
    print(
        f"load: {args.users} users, {args.rate:g} actions/s in all for {seconds} s; mix "
        + ", ".join(f"{k} {v / total_weight:.0%}" for k, v in weights.items())
        + f"; pushes of ~{args.batch} items ({args.duplicates:.0%} re-sent ids, "
        f"{args.retries:.0%} retried with the same Idempotency-Key)",
        flush=True,
    )
    locust_log = stack.enter_context((out / "locust.log").open("wb"))
    t0 = time.monotonic()
    locust = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "LOAD_CONFIG": str(out / "config.json"), "PYTHONPATH": str(ROOT)},
        stdout=locust_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.callback(stop_locust, locust)
    sampler.watch("locust", locust.pid, "locust", "locust child")
    max_pending = 0
    while locust.poll() is None:
        with suppress(subprocess.TimeoutExpired):
            locust.wait(timeout=args.progress)
        rps, sent, failed = stats_history(out / "locust_stats_history.csv")
        pending = pending_enrichment(dataset["org"])
        max_pending = max(max_pending, pending)
        print(
            f"  {time.monotonic() - t0:5.0f} s  {rps:5.1f} req/s now  {sent:6d} requests  {failed} failed  "
            f"enrichment backlog {pending:5d}  RSS gunicorn+celery {fmt_mb(sampler.latest_app_rss())} MB",
            flush=True,
        )
    t1 = time.monotonic()
    if locust.returncode not in (0, 1):  # 1: locust's "there were failures"
        print(f"locust exited with {locust.returncode}; see {out / 'locust.log'}", file=sys.stderr)
        return 2
    results = json.loads((out / "requests.json").read_text(encoding="utf-8"))
    ledger = results["ledger"]
    confirmed, uncertain = set(ledger["stored"]), set(ledger["uncertain"])

    # Enrichment and rollups catch up.
    deadline = time.monotonic() + args.drain_timeout
    while True:
        pushed = check_pushed(
            dataset["org"], prefix, confirmed, uncertain, dataset["live_brands"], dataset["live_campaign"]
        )
        if pushed.complete or time.monotonic() > deadline:
            break
        time.sleep(1)
    drained = time.monotonic() - t1
    sampler.stop()

    # --- report -------------------------------------------------------------------------------------
    by_name, by_group, total = latency_table(results["samples"])
    achieved = ledger["actions"] / seconds
    print()
    print(
        f"{'request':<40} {'count':>7} {'req/s':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    for row in [*by_name.values(), None, *by_group.values(), total]:
        if row is None:
            print()
            continue
        print(
            f"{row.name:<40} {row.count:7d} {row.count / seconds:6.2f} {row.percentile(50):8.1f} "
            f"{row.percentile(95):8.1f} {row.percentile(99):8.1f} {row.errors:7d}"
        )
    errors = Counter(error for *_, error in results["samples"] if error)
    for message, count in errors.most_common(5):
        print(f"  error x{count}: {message}")
    items = ledger["items_sent"]
    print(
        f"pushed {items:,} items ({items / seconds:.1f}/s): {len(confirmed):,} stored, "
        f"{ledger['duplicates_answered']:,}/{ledger['duplicates_sent']:,} re-sent ids answered duplicate, "
        f"{ledger['replays_identical']}/{ledger['replays']} retries replayed identically, "
        f"{len(uncertain)} in failed pushes"
    )
    print(
        f"after the load: {pushed.in_database:,} in the database, {pushed.missing} missing, "
        f"{pushed.unexpected} unexpected, {pushed.enriched:,} enriched "
        f"({pushed.with_enrichment_row:,} with an enrichment row), "
        f"rollups of the live brands and campaign current: {pushed.rollups_current}; "
        f"drained {drained:.1f} s after the load stopped (max backlog during the load {max_pending})"
    )
    if pushed.rollup_detail:
        print(f"  rollups: {pushed.rollup_detail}")

    rows = memory_rows(sampler.samples, t0, t1)
    print()
    print(
        f"{'process (RSS, MB)':<44} {'start':>7} {'at 1/3':>7} {'peak':>7} {'end':>7} {'growth 1/3→end':>15}"
    )
    for mem in rows:
        print(
            f"{mem.label:<44} {fmt_mb(mem.start):>7} {fmt_mb(mem.third):>7} {fmt_mb(mem.peak):>7} "
            f"{fmt_mb(mem.end):>7} {mem.growth:+14.1%}"
        )
    during = [n for t, n in sampler.backends if t0 - 1.5 <= t <= t1 + 1.5]
    if during:
        print(
            f"(PostgreSQL backends of the database: {during[0]} at the start, {during[-1]} at the end; "
            "their RSS counts the shared buffers each has touched. redis-server serves other sessions too.)"
        )
    (out / "memory.json").write_text(json.dumps(sampler.samples), encoding="utf-8")

    reads, pushes, analyze = by_group["read"], by_group["ingest"], by_group["analyze"]
    app_rows = [mem for mem in rows if mem.app]
    worst = max(app_rows, key=lambda mem: mem.growth) if app_rows else None
    load = os.getloadavg()
    criteria: list[tuple[str, str, str, bool]] = [
        (
            f"steady mixed load, {seconds} s, {args.users} users",
            f"≥ 95 % of {args.rate:g} actions/s sustained",
            f"{achieved:.2f} actions/s ({achieved / args.rate:.0%}), {total.count / seconds:.2f} req/s",
            achieved >= 0.95 * args.rate,
        ),
        (
            "errors, all request types",
            "error rate 0 % (non-2xx, timeouts, wrong ingest outcomes)",
            f"{total.errors} of {total.count:,} ({total.errors / max(1, total.count):.2%})",
            total.errors == 0 and total.count > 0,
        ),
        (
            f"dashboard reads ({reads.count / seconds:.1f} req/s)",
            f"p95 ≤ {args.p95_reads:g} ms at {args.rate:g} actions/s in all",
            f"p95 {reads.percentile(95):.0f} ms (p50 {reads.percentile(50):.0f}, "
            f"p99 {reads.percentile(99):.0f})",
            reads.count > 0 and reads.percentile(95) <= args.p95_reads,
        ),
        (
            f"ingest pushes of ~{args.batch} items ({pushes.count / seconds:.2f} req/s)",
            f"p95 ≤ {args.p95_push:g} ms",
            f"p95 {pushes.percentile(95):.0f} ms (p50 {pushes.percentile(50):.0f}, "
            f"p99 {pushes.percentile(99):.0f})",
            pushes.count > 0 and pushes.percentile(95) <= args.p95_push,
        ),
        (
            f"analyze, 1-10 texts ({analyze.count / seconds:.2f} req/s)",
            f"p95 ≤ {args.p95_analyze:g} ms",
            f"p95 {analyze.percentile(95):.0f} ms (p50 {analyze.percentile(50):.0f}, "
            f"p99 {analyze.percentile(99):.0f})",
            analyze.count > 0 and analyze.percentile(95) <= args.p95_analyze,
        ),
        (
            "pushed mentions",
            "all stored once and enriched; re-sent ids answered duplicate; retries replayed",
            f"{pushed.in_database:,}/{len(confirmed):,} stored, {pushed.enriched:,} enriched, "
            f"{pushed.missing} missing, {pushed.unexpected} unexpected, "
            f"{ledger['duplicates_answered']}/{ledger['duplicates_sent']} duplicates, "
            f"{ledger['replays_identical']}/{ledger['replays']} replays",
            pushed.complete
            and len(confirmed) > 0
            and ledger["duplicates_answered"] == ledger["duplicates_sent"]
            and ledger["replays_identical"] == ledger["replays"],
        ),
        (
            "dashboards count pushed mentions",
            "day rollups of the live brands and campaign equal their mentions, by sentiment",
            "equal" if pushed.rollups_current else f"differ: {pushed.rollup_detail[:120]}",
            pushed.rollups_current,
        ),
        (
            "enrichment keeps up",
            f"backlog drained ≤ {args.drain_limit:g} s after the load stops",
            f"{drained:.1f} s (max backlog during the load: {max_pending:,} mentions)",
            pushed.complete and drained <= args.drain_limit,
        ),
        (
            "memory (gunicorn, Celery)",
            f"no process grows > {args.max_growth:g} % from a third of the run to its end",
            (
                f"largest: {worst.label} {worst.growth:+.1%} ({fmt_mb(worst.third)} → {fmt_mb(worst.end)} MB)"
                if worst
                else "no samples"
            ),
            worst is not None and worst.growth * 100 <= args.max_growth,
        ),
    ]
    print()
    print(
        f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs "
        "(the machine is shared)"
    )
    print()
    print("| scenario | pass criterion | measured |")
    print("|---|---|---|")
    for scenario, criterion, measured, ok in criteria:
        print(f"| {scenario} | {criterion} | {measured} {verdict(ok)} |")
    summary = {
        "seconds": seconds,
        "rate": args.rate,
        "achieved_rate": achieved,
        "requests_per_second": total.count / seconds,
        "requests": total.count,
        "errors": total.errors,
        "error_messages": dict(errors),
        "p95_ms": {key: group.percentile(95) for key, group in by_group.items()},
        "pushed": {
            "confirmed": len(confirmed),
            "uncertain": len(uncertain),
            "in_database": pushed.in_database,
            "missing": pushed.missing,
            "unexpected": pushed.unexpected,
            "enriched": pushed.enriched,
            "with_enrichment_row": pushed.with_enrichment_row,
            "rollups_current": pushed.rollups_current,
            "duplicates_sent": ledger["duplicates_sent"],
            "duplicates_answered": ledger["duplicates_answered"],
            "replays": ledger["replays"],
            "replays_identical": ledger["replays_identical"],
            "complete": pushed.complete,
        },
        "drain_seconds": drained,
        "memory_mb": {m.label: [m.start / MB, m.third / MB, m.peak / MB, m.end / MB] for m in rows},
        "criteria": [
            {"scenario": s, "criterion": c, "measured": m, "passed": ok} for s, c, m, ok in criteria
        ],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0 if all(ok for *_, ok in criteria) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument(
        "--rate",
        type=float,
        default=5.0,
        help="actions per second, all users together (a mention page may follow its cursor and a push "
        "may be retried: about 10 %% more requests)",
    )
    parser.add_argument("--mentions", type=int, default=200_000, help="seeded history (COPY)")
    parser.add_argument("--database", default="load_bench", help="recreated, then dropped at the end")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--out", type=Path, help="output folder (default var/load/<time>)")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--enrich-concurrency", type=int, default=1)
    parser.add_argument("--general-concurrency", type=int, default=2)
    parser.add_argument("--weights", default="", help=f"e.g. 'ingest=20,analyze=0' (defaults: {WEIGHTS})")
    parser.add_argument("--batch", type=int, default=50, help="mean items per push (uniform ±50 %%)")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of re-sent items per push")
    parser.add_argument(
        "--retries", type=float, default=0.05, help="share of pushes retried with the same key"
    )
    parser.add_argument(
        "--corpus-seeds", type=int, default=8, help="demo corpus generations (~1,800 items each)"
    )
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--p95-reads", type=float, default=250.0, help="ms")
    parser.add_argument("--p95-push", type=float, default=1000.0, help="ms")
    parser.add_argument("--p95-analyze", type=float, default=1000.0, help="ms")
    parser.add_argument("--drain-limit", type=float, default=60.0, help="s")
    parser.add_argument("--max-growth", type=float, default=10.0, help="%%")
    args = parser.parse_args(argv)

    if not os.environ.get("REDIS_URL"):
        print("benchmarks.load needs Redis (the Celery broker): set REDIS_URL", file=sys.stderr)
        return 2
    url = bench_database_url(args.database)
    os.environ["DATABASE_URL"] = url
    os.environ["LISTENING_ENV"] = "test"
    os.environ["LOG_LEVEL"] = "warning"
    # Seeding and set-based rollups outlast the API's statement timeout.
    os.environ["DATABASE_STATEMENT_TIMEOUT_MS"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")
    out = args.out or ROOT / "var" / "load" / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    # Ctrl-C stops the run in order, even when started where SIGINT is ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    recreate_database(url)
    try:
        with ExitStack() as stack:
            return run(args, url, out, stack)
    except KeyboardInterrupt:
        print("interrupted: stopping the load, the workers and the server", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"the run could not be made: {exc}", file=sys.stderr)
        return 2
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            drop_database(url)


if __name__ == "__main__":
    raise SystemExit(main())
