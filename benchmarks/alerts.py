"""Spike alerts end to end: burst-to-webhook latency, and false alarms over a long quiet replay.

    python -m benchmarks.alerts [--trials 3] [--replay-days 35] [--judge-days 21]

Needs PostgreSQL and Redis (``DATABASE_URL``, ``REDIS_URL``); runs in a throw-away test database.
The quiet stream replays real tweets (../shared/data/brands/brand_topic_tweets.tsv, SemEval-2017
4B/C) as one brand's mentions with their human labels as sentiment, arriving as a Poisson stream
with a daily and weekly rhythm; enrichment is simulated by storing the label as ``Mention.sentiment``.

1. Latency: a real Celery worker on the ``alerts`` queue and a beat-like loop sending
   ``alerts.check_rules`` every ``ALERT_CHECK_SECONDS`` (the configured cadence) and, side by side,
   every 10 s. A burst of real negative tweets is committed at t0; t1 is when the loopback receiver
   has verified (independent verifier) and processed the webhook.
2. False alarms: ``do_check_rule`` over the replay every ``--check-minutes`` of stream time, for the
   default sensitivity and a sensitive rule; every FIRE on the quiet stream is a false alarm. Then a
   burst is injected and the rule must fire once with an explanation naming it.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")

import django

django.setup()

from celery.contrib.testing.worker import start_worker  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from listening.alerts.models import Alert, AlertRule  # noqa: E402
from listening.alerts.services import do_check_rule  # noqa: E402
from listening.analytics.services import do_update_rollups  # noqa: E402
from listening.brands.models import Brand  # noqa: E402
from listening.jobs import Queue  # noqa: E402
from listening.mentions.models import BrandMention, Mention, Source, SourceKind  # noqa: E402
from listening.tenancy.models import Organization  # noqa: E402
from listening.tenancy.services import do_create_organization  # noqa: E402
from listening.webhooks.services import do_create_endpoint  # noqa: E402
from tests.webhooks.receiver import Receiver  # noqa: E402
from workers import app  # noqa: E402
from workers.tasks.alerts import check_rules  # noqa: E402

SENTIMENT = {"-2": "negative", "-1": "negative", "0": "neutral", "1": "positive", "2": "positive"}


@dataclass(frozen=True)
class Tweet:
    topic: str
    text: str
    sentiment: str


def load_tweets(path: Path) -> list[Tweet]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        Tweet(r["topic"], r["text"], SENTIMENT.get(r["label"], r["label"]))
        for r in rows
        if SENTIMENT.get(r["label"], r["label"]) in ("negative", "neutral", "positive")
    ]


def replay(
    org: Organization,
    brand: Brand,
    source: Source,
    tweets: list[Tweet],
    end: datetime,
    days: float,
    seed: int,
) -> int:
    """Store ``days`` of quiet stream ending at ``end`` (about 12 mentions an hour on average)."""
    rng = random.Random(seed)
    rows: list[tuple[datetime, Tweet]] = []
    hour = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        daily = 1 + 0.6 * math.sin((hour.hour - 9) / 24 * 2 * math.pi)
        weekly = 0.75 if hour.weekday() >= 5 else 1.0
        lam = 12 * daily * weekly
        # Poisson by inversion; lam is small.
        k, p, limit = 0, rng.random(), math.exp(-lam)
        while p > limit:
            k, p = k + 1, p * rng.random()
        for _ in range(k):
            when = hour + timedelta(seconds=rng.randrange(3600))
            if when < end:
                rows.append((when, rng.choice(tweets)))
        hour += timedelta(hours=1)
    return store(org, brand, source, rows, prefix=f"replay{brand.pk}-{seed}")


def store(
    org: Organization, brand: Brand, source: Source, rows: list[tuple[datetime, Tweet]], prefix: str
) -> int:
    mentions = Mention.objects.bulk_create(
        [
            Mention(
                organization=org,
                source=source,
                external_id=f"{prefix}-{i}",
                kind=SourceKind.SOCIAL,
                text=t.text,
                clean_text=t.text,
                model_text=t.text,
                published_at=when,
                sentiment=t.sentiment,
                enriched_at=when,
            )
            for i, (when, t) in enumerate(rows)
        ],
        batch_size=2000,
    )
    BrandMention.objects.bulk_create(
        [
            BrandMention(
                organization=org, brand=brand, mention=m, published_at=m.published_at, sentiment=m.sentiment
            )
            for m in mentions
        ],
        batch_size=2000,
    )
    do_update_rollups([m.pk for m in mentions])  # as enrichment does, in its transaction
    return len(mentions)


def burst(
    org: Organization, brand: Brand, source: Source, negatives: list[Tweet], end: datetime, n: int, tag: str
) -> int:
    rng = random.Random(tag)
    rows = [(end - timedelta(seconds=rng.randrange(1, 600)), rng.choice(negatives)) for _ in range(n)]
    return store(org, brand, source, rows, prefix=f"burst-{tag}")


class Beat(threading.Thread):
    """What ``celery beat`` does for ``alerts-check-rules``: send the task every ``cadence`` seconds."""

    def __init__(self, cadence: float, phase: float) -> None:
        super().__init__(daemon=True)
        self.cadence, self.phase = cadence, phase
        self.stop = threading.Event()

    def run(self) -> None:
        if self.stop.wait(self.phase):
            return
        while not self.stop.is_set():
            check_rules.delay()
            self.stop.wait(self.cadence)


def latency_trials(
    org: Organization,
    source: Source,
    tweets: list[Tweet],
    negatives: list[Tweet],
    cadence: float,
    trials: int,
) -> list[tuple[float, float]]:
    """(burst stored → verified webhook, alert fired → verified webhook) seconds per trial."""
    out: list[tuple[float, float]] = []
    rng = random.Random(int(cadence))
    for trial in range(trials):
        AlertRule.objects.update(is_active=False)
        now = timezone.now()
        brand = Brand.objects.create(organization=org, name=f"live {cadence:g}s #{trial}", query="x")
        replay(org, brand, source, tweets, now, days=8, seed=trial)
        rule = AlertRule.objects.create(organization=org, brand=brand)
        with Receiver() as receiver:
            endpoint, receiver.secret = do_create_endpoint(org.pk, url=receiver.url, name=f"bench {brand.pk}")
            beat = Beat(cadence, phase=rng.uniform(0, cadence))
            beat.start()
            try:
                t0 = time.monotonic()
                burst(org, brand, source, negatives, timezone.now(), 60, f"{cadence}-{trial}")
                while not receiver.processed_ids and time.monotonic() - t0 < cadence + 120:
                    time.sleep(0.05)
                t1 = time.monotonic()
            finally:
                beat.stop.set()
                beat.join()
            endpoint.is_active = False
            endpoint.save(update_fields=["is_active"])
        if not receiver.processed_ids:
            print(f"  trial {trial} at {cadence:g}s cadence: no verified webhook within {cadence + 120:g}s")
            continue
        fired = Alert.objects.get(rule=rule).fired_at
        received_wall = timezone.now() - timedelta(seconds=time.monotonic() - t1)
        out.append((t1 - t0, (received_wall - fired).total_seconds()))
    return out


def false_alarms(
    org: Organization,
    source: Source,
    tweets: list[Tweet],
    negatives: list[Tweet],
    replay_days: float,
    judge_days: float,
    check_minutes: int,
) -> None:
    AlertRule.objects.update(is_active=False)
    end = timezone.now().replace(second=0, microsecond=0) - timedelta(days=1)
    brand = Brand.objects.create(organization=org, name="quiet replay", query="x")
    started = time.monotonic()
    stored = replay(org, brand, source, tweets, end, days=replay_days, seed=99)
    store_s = time.monotonic() - started
    rules = {
        s: AlertRule.objects.create(organization=org, brand=brand, sensitivity=s, name=f"s={s}")
        for s in (0.5, 0.8)
    }
    fires = {s: 0 for s in rules}
    checks = 0
    check_times: list[float] = []
    t = end - timedelta(days=judge_days)
    while t <= end:
        for s, rule in rules.items():
            began = time.perf_counter()
            if do_check_rule(rule.pk, now=t) == "fire":
                fires[s] += 1
            check_times.append(time.perf_counter() - began)
        checks += 1
        t += timedelta(minutes=check_minutes)
    weeks = judge_days / 7
    print(
        f"quiet replay: {stored} real tweets over {replay_days:g} days stored in {store_s:.1f}s; "
        f"{checks} checks over the last {judge_days:g} days (every {check_minutes} min of stream time); "
        f"median check {statistics.median(check_times) * 1000:.1f} ms"
    )
    for s, n in fires.items():
        print(f"false alarms, sensitivity {s}: {n} in {judge_days:g} days ({n / weeks:.2f} per week)")

    # The same brand, a burst of real negative tweets: it fires once, and says why.
    inject_at = end + timedelta(hours=6)
    replay(org, brand, source, tweets, inject_at, days=0.25, seed=100)
    topic = "netflix"
    chosen = [t for t in negatives if t.topic == topic] or negatives
    burst(org, brand, source, chosen, inject_at, 60, "inject")
    rule = rules[0.5]
    actions = [do_check_rule(rule.pk, now=inject_at + timedelta(minutes=m)) for m in range(0, 30, 1)]
    alerts = Alert.objects.filter(rule=rule, fired_at__gte=inject_at)
    print(
        f"injected burst (60 negative '{topic}' tweets in 10 min): actions {sorted(set(actions))}, "
        f"fires {actions.count('fire')}, alerts {alerts.count()}"
    )
    for alert in alerts:
        terms = [t["term"] for t in alert.explanation["top_terms"][:6]]
        n = alert.numbers
        print(
            f"  explanation: observed {n['observed']} negative vs expected {n['expected']:.2f} "
            f"(score {n['score']:.1f} ≥ {n['threshold']:.1f}); top terms {terms}; "
            f"sources {alert.explanation['sources']}; {len(alert.explanation['sample_mentions'])} samples"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--replay-days", type=float, default=35.0)
    parser.add_argument("--judge-days", type=float, default=21.0)
    parser.add_argument("--check-minutes", type=int, default=15)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)

    data = Path(settings.LISTENING_DATA_DIR) / "brands" / "brand_topic_tweets.tsv"
    if not data.exists():
        print(f"benchmark needs {data} (LISTENING_DATA_DIR)", file=sys.stderr)
        return 2
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        print("benchmark needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL", file=sys.stderr)
        return 2
    tweets = load_tweets(data)
    negatives = [t for t in tweets if t.sentiment == "negative"]
    share = len(negatives) / len(tweets)
    print(f"corpus: {len(tweets)} labelled tweets, {share:.1%} negative")

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        with override_settings(WEBHOOK_ALLOW_LIST=["127.0.0.1/32"]):
            org, _ = do_create_organization("Bench alerts", owner_username="bench")
            source = Source.objects.create(organization=org, name="replay", kind=SourceKind.SOCIAL)
            if not args.skip_latency:
                app.control.purge()
                cadences = [float(settings.ALERT_CHECK_SECONDS), 10.0]
                results: dict[float, list[tuple[float, float]]] = {}
                with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.ALERTS.value]):
                    for cadence in cadences:
                        results[cadence] = latency_trials(
                            org, source, tweets, negatives, cadence, args.trials
                        )
                for cadence, got in results.items():
                    if not got:
                        continue
                    total = statistics.median(g[0] for g in got)
                    after = statistics.median(g[1] for g in got)
                    print(
                        f"burst stored → verified webhook, beat every {cadence:g}s: median {total:.1f}s "
                        f"(max {max(g[0] for g in got):.1f}s, n={len(got)}); alert fired → webhook "
                        f"median {after:.2f}s; goal ≤ 60s"
                    )
            false_alarms(
                org, source, tweets, negatives, args.replay_days, args.judge_days, args.check_minutes
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
