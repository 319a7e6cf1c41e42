"""Faults on real processes: workers killed with SIGKILL, Redis restarted, PostgreSQL cut off, a
poison message. Each test states its pass criterion and records what it measured.

Sizes are the issue's own (10,000 documents); RELIABILITY_DOCS makes them smaller for a quick run.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import redis
import requests
from celery import Celery
from django.conf import settings
from django.db.models import Count

from listening.brands.models import Brand
from listening.mentions.models import Enrichment, Mention, Source, SourceKind
from listening.operations.models import DeadLetter
from listening.tenancy.models import Organization
from listening.tenancy.services import do_create_organization
from tests.ingestion.servers.harness import Request, Response, serve
from tests.ingestion.servers.x_api import BEARER, XApi, make_tweet, make_user
from tests.reliability.conftest import Row
from tests.reliability.stack import (
    Stack,
    TcpProxy,
    database_url,
    distinct_texts,
    push_items,
    wait_for_worker,
    wait_until,
)
from workers.tasks.maintenance import HEARTBEAT_KEY

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

DOCS = int(os.environ.get("RELIABILITY_DOCS", "10000"))
OUTAGE_SECONDS = 8.0
PG_DOCS = 1000
PAGE_LATENCY = 0.1  # seconds the fake X API takes per page, as a real API over the internet does


class SlowX(XApi):
    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        response.delay = PAGE_LATENCY
        return response


def tenant(name: str) -> tuple[Organization, str]:
    org, key = do_create_organization(name, owner_username=f"{name.lower()}-owner")
    Brand.objects.create(organization=org, name="Northwind", query="northwind")
    return org, key.plaintext


def counts(org: Organization) -> tuple[int, int]:
    mentions = Mention.objects.filter(organization=org).count()
    return mentions, Enrichment.objects.filter(organization=org).count()


def duplicated_external_ids(org: Organization) -> int:
    return (
        Mention.objects.filter(organization=org)
        .values("source_id", "external_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


def mentions_enriched_twice(org: Organization) -> int:
    return (
        Enrichment.objects.filter(organization=org)
        .values("mention_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


def test_kill9_of_ingest_and_enrich_workers_loses_and_duplicates_nothing(
    stack: Stack, report: list[Row]
) -> None:
    org, _ = tenant("Killjoy")
    api = SlowX()
    for n in range(977):
        api.add_user(make_user(str(1000 + n), f"fan{n}"))
    api.add_tweets(
        *(
            make_tweet(2_000_000 + n, text, str(1000 + n % 977), minutes_ago=n % 5000, likes=n % 40)
            for n, text in enumerate(distinct_texts(DOCS, brand="Northwind"))
        )
    )
    with serve(api):
        Source.objects.create(
            organization=org,
            name="X search",
            kind=SourceKind.SOCIAL,
            connector="x_recent_search",
            config={"query": "northwind", "max_results": 100, "base_url": api.base_url},
            credentials={"bearer_token": BEARER},
            pull_interval_seconds=1,
        )
        ingest = stack.worker("ingest", "ingest")
        enrich = stack.worker("enrich", "enrich")
        stack.beat()
        wait_for_worker(ingest)
        wait_for_worker(enrich)

        mentions_at_kill = wait_until(
            lambda: (n := counts(org)[0]) >= DOCS // 4 and n, timeout=300, what="a quarter stored"
        )
        ingest.kill9()
        assert counts(org)[0] < DOCS, "ingestion finished before the kill: slow the fake API down"
        ingest.start()
        enriched_at_kill = wait_until(
            lambda: (n := counts(org)[1]) >= DOCS // 4 and n, timeout=600, what="a quarter enriched"
        )
        enrich.kill9()
        assert counts(org)[1] < DOCS, "enrichment finished before the kill"
        enrich.start()

        wait_until(lambda: counts(org) >= (DOCS, DOCS), timeout=900, what=f"{DOCS} stored and enriched")
        time.sleep(12)  # two re-scan intervals later: nothing more arrives
    mentions, enrichments = counts(org)
    duplicates = duplicated_external_ids(org) + mentions_enriched_twice(org)
    unenriched = Mention.objects.filter(organization=org, enriched_at__isnull=True).count()
    report.append(
        Row(
            f"kill -9 of the ingest worker (at {mentions_at_kill} stored) and the enrich worker "
            f"(at {enriched_at_kill} enriched) mid-way through {DOCS:,} documents, then restart",
            f"exactly {DOCS:,} mentions and {DOCS:,} enrichments; 0 lost, 0 duplicated",
            f"{mentions:,} mentions, {enrichments:,} enrichments, {unenriched} unenriched, "
            f"{duplicates} duplicated",
        )
    )
    assert (mentions, enrichments, unenriched, duplicates) == (DOCS, DOCS, 0, 0)


class Pusher:
    """Pushes batches over HTTP as an integration would: on 503 it waits Retry-After and resends the
    same batch; every answer's status is counted."""

    def __init__(self, base: str, key: str, source_id: int) -> None:
        self.url = f"{base}/api/v1/ingest"
        self.headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
        self.source_id = source_id
        self.statuses: Counter[int] = Counter()
        self.stored = 0

    def push(self, items: list[dict[str, Any]], *, deadline: float = 120) -> None:
        give_up = time.monotonic() + deadline
        while True:
            try:
                body = {"source": self.source_id, "items": items}
                response = requests.post(self.url, json=body, headers=self.headers, timeout=30)
            except requests.ConnectionError:
                self.statuses[0] += 1
            else:
                self.statuses[response.status_code] += 1
                if response.status_code == 200:
                    self.stored += response.json()["stored"]
                    return
                assert response.status_code in (429, 503), (response.status_code, response.text[:300])
            assert time.monotonic() < give_up, f"batch not accepted in {deadline}s: {self.statuses}"
            time.sleep(1.0)


def push_source(org: Organization) -> Source:
    return Source.objects.create(organization=org, name="push", kind=SourceKind.SOCIAL)


def test_redis_restart_under_load_loses_nothing_and_needs_no_hand_restart(
    stack: Stack, report: list[Row]
) -> None:
    org, key = tenant("Restart")
    source = push_source(org)
    worker = stack.worker("worker", "ingest,enrich,maintenance")
    beat = stack.beat()
    _, base = stack.api()
    wait_for_worker(worker)
    texts = distinct_texts(2000, brand="Northwind")
    batches = [push_items(batch, prefix="r") for batch in _chunks(texts, 100)]
    for n, batch in enumerate(batches):
        for item in batch:
            item["external_id"] = f"r{n}-{item['external_id']}"
    pusher = Pusher(base, key, source.pk)
    for batch in batches[:5]:
        pusher.push(batch)

    stack.redis.stop()  # everything queued in Redis is lost with it
    restart = threading.Timer(OUTAGE_SECONDS, stack.redis.start)
    restart.start()
    try:
        for batch in batches[5:]:  # pushes go on while Redis is down, and after it is back
            pusher.push(batch)
    finally:
        restart.join()
    restarted_at = time.time() - 1

    total = sum(len(batch) for batch in batches)
    wait_until(lambda: counts(org) >= (total, total), timeout=600, what="every pushed mention enriched")
    heartbeat = wait_until(
        lambda: _heartbeat_after(stack.redis.url, restarted_at),
        timeout=60,
        what="a beat heartbeat after the restart",
    )
    mentions, enrichments = counts(org)
    report.append(
        Row(
            f"Redis stopped for {OUTAGE_SECONDS:.0f} s (all queued messages lost) while {total:,} "
            "documents were pushed; started again",
            "all pushed documents stored and enriched; worker and beat resume without a restart; "
            "no 5xx but 503",
            f"{mentions:,} stored, {enrichments:,} enriched; worker and beat restarts: "
            f"{worker.starts - 1}, {beat.starts - 1}; answers {dict(pusher.statuses)}; heartbeat {heartbeat}",
        )
    )
    assert (mentions, enrichments) == (total, total) and pusher.stored == total
    assert worker.alive() and beat.alive() and worker.starts == beat.starts == 1
    assert set(pusher.statuses) <= {200, 503}, pusher.statuses


def _heartbeat_after(url: str, after: float) -> str | None:
    """The beat heartbeat (written through Django's cache) if it is newer than ``after``."""
    raw = redis.Redis.from_url(url).get(f":1:{HEARTBEAT_KEY}")  # the cache's key format: version 1
    if not isinstance(raw, bytes):
        return None
    value = str(pickle.loads(raw))  # noqa: S301  (Django's cache pickles values; our own Redis)
    return value if datetime.fromisoformat(value).timestamp() > after else None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def proxied_database(stack: Stack) -> Iterator[TcpProxy]:
    db = settings.DATABASES["default"]
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)))
    stack.database_url = database_url(proxy.port)
    try:
        yield proxy
    finally:
        proxy.close()


def test_postgres_unreachable_tasks_retry_and_api_answers_503(stack: Stack, report: list[Row]) -> None:
    org, key = tenant("Outage")
    source = push_source(org)
    with proxied_database(stack) as proxy:
        worker = stack.worker("worker", "ingest,enrich,maintenance")
        stack.beat()
        _, base = stack.api()
        wait_for_worker(worker)
        pusher = Pusher(base, key, source.pk)
        texts = distinct_texts(PG_DOCS, brand="Northwind")
        for n, batch in enumerate(_chunks(texts, 200)):
            pusher.push(push_items(batch, prefix=f"o{n}"))
        wait_until(lambda: counts(org)[1] > 0, timeout=300, what="enrichment to start")

        headers = {"Authorization": f"Api-Key {key}"}
        seen: Counter[str] = Counter()
        client = Celery(broker=stack.redis.url, set_as_current=False)
        proxy.cut()
        cut_at = time.monotonic()
        client.send_task("enrich.pending", args=[org.pk], queue="enrich")  # meets the outage for sure
        while time.monotonic() - cut_at < 10:
            for name, call in _outage_probes(base, headers, source.pk).items():
                seen[f"{name} {call()}"] += 1
            time.sleep(0.5)
        proxy.restore()
        client.close()

        wait_until(lambda: counts(org) >= (PG_DOCS, PG_DOCS), timeout=600, what="all enriched")
        ready = wait_until(
            lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 200, timeout=60, what="ready"
        )
    retries = worker.log().count("Retry in")
    dead = DeadLetter.objects.count()
    report.append(
        Row(
            "PostgreSQL unreachable for 10 s (every connection cut, new ones refused) during enrichment",
            "tasks retry and finish (all mentions enriched, 0 dead letters); readiness and API answer "
            "503, never 500",
            f"answers during the outage {dict(seen)}; task retries {retries}; "
            f"{counts(org)[1]:,}/{PG_DOCS:,} enriched; dead letters {dead}; ready after: {ready}",
        )
    )
    statuses = {label.rsplit(" ", 1)[1] for label in seen}
    assert statuses == {"503"}, seen
    assert retries >= 1 and dead == 0 and worker.alive() and worker.starts == 1


def _outage_probes(base: str, headers: dict[str, str], source_id: int) -> dict[str, Callable[[], int]]:
    body = {"source": source_id, "items": push_items(["Northwind jacket, day one."], prefix="outage")}
    return {
        "GET /readyz": lambda: requests.get(f"{base}/readyz", timeout=10).status_code,
        "GET /api/v1/brands/": lambda: (
            requests.get(f"{base}/api/v1/brands/", headers=headers, timeout=10).status_code
        ),
        "POST /api/v1/ingest": lambda: (
            requests.post(f"{base}/api/v1/ingest", json=body, headers=headers, timeout=10).status_code
        ),
    }


def test_poison_task_is_dead_lettered_and_does_not_block_its_queue(
    stack: Stack, report: list[Row], tmp_path: Any
) -> None:
    worker = stack.worker("worker", "maintenance", include="tests.reliability.poison")
    wait_for_worker(worker)
    tally = tmp_path / "poison-runs.txt"
    client = Celery(broker=stack.redis.url, backend=stack.redis.url, set_as_current=False)
    client.send_task("reliability.poison", args=[str(tally)], queue="maintenance")
    pings = [client.send_task("maintenance.ping", queue="maintenance") for _ in range(3)]
    answered = sum(1 for ping in pings if ping.get(timeout=180)["database_time"])
    letter = wait_until(
        lambda: DeadLetter.objects.filter(task_name="reliability.poison").first(),
        timeout=120,
        what="the dead letter",
    )
    time.sleep(5)  # no delivery after the dead letter
    runs = len(tally.read_text().split())
    client.close()
    limit = int(settings.TASK_MAX_DELIVERIES)
    report.append(
        Row(
            "a task that SIGKILLs its worker process on every delivery",
            f"dead-lettered after {limit} deliveries; the queue keeps serving",
            f"ran {runs} times, dead letter kind={letter.kind} deliveries={letter.deliveries}; "
            f"{answered}/3 tasks queued behind it answered; worker master restarts {worker.starts - 1}",
        )
    )
    assert runs == limit and letter.kind == DeadLetter.Kind.CRASHED and letter.deliveries == limit
    assert answered == 3 and worker.alive()
