"""Ingestion throughput: clean + dedup + match + store into PostgreSQL, beside a raw COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python -m benchmarks.ingest --docs 20000

Documents are built from the real texts in ../shared/data (tweets, brand tweets, reviews, support
queries) with varied authors, times and engagement, and 20 brand queries in the query language.
The same rows, as stored, are then written again with COPY into the same table (the physical limit
for that table and its indexes); both are timed in this run, and their ratio is printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")
os.environ.setdefault("LISTENING_ENV", "test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from ingestion.loader import MENTION_COLUMNS  # noqa: E402
from ingestion.services import ingest_items, reset_caches  # noqa: E402
from listening.brands.models import Brand  # noqa: E402
from listening.mentions.models import Mention, Source  # noqa: E402
from listening.tenancy.services import do_create_organization  # noqa: E402

BRAND_QUERIES = {
    "Apple": 'apple OR iphone OR ipad OR @apple OR "tim cook"',
    "Amazon": "amazon OR @amazon OR alexa OR kindle OR #primeday",
    "Netflix": "netflix OR @netflix OR #netflix",
    "Nike": "nike OR @nike OR #justdoit",
    "Xbox": "xbox OR @xbox OR #xboxone",
    "Google": "google OR @google OR android OR #pixel",
    "Microsoft": "microsoft OR windows OR @microsoft",
    "Samsung": "samsung OR galaxy OR @samsung",
    "Starbucks": "starbucks OR @starbucks OR (coffee NEAR/3 latte)",
    "Disney": "disney OR @disney OR pixar",
    "Sony": "sony OR playstation OR ps4",
    "Tesla": "tesla OR @tesla OR (elon NEAR/2 musk)",
    "McDonalds": 'mcdonalds OR "mcdonald\'s" OR @mcdonalds',
    "Twitter": "twitter OR tweetdeck",
    "Facebook": "facebook OR @facebook OR instagram",
    "Spotify": "spotify OR @spotify",
    "Uber": "uber OR @uber",
    "Adidas": "adidas OR @adidas",
    "Zara": 'zara OR "zara home"',
    "Bank": "bank AND (card OR transfer OR account) AND NOT (river OR bank holiday)",
}


def real_texts(data_dir: Path) -> list[str]:
    texts: list[str] = []

    def tsv(relative: str, column: str) -> None:
        path = data_dir / relative
        with path.open(encoding="utf-8", newline="") as handle:
            texts.extend(
                row[column] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            )

    tsv("sentiment/train.tsv", "text")
    tsv("brands/brand_topic_tweets.tsv", "text")
    tsv("reviews/clothing_reviews.tsv", "review_text")
    with (data_dir / "intent/banking77_train.csv").open(encoding="utf-8", newline="") as handle:
        texts.extend(row["text"] for row in csv.DictReader(handle))
    return [t for t in texts if t and t.strip()]


def build_items(texts: list[str], count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    items = []
    for n in range(count):
        text = rng.choice(texts)
        if rng.random() < 0.05:  # retweets and copy-paste: the dedup path gets real work
            text = f"RT @user{rng.randint(1, 500)}: {text}"
        author = rng.randint(1, max(2, count // 8))
        items.append(
            {
                "external_id": f"bench-{seed}-{n}",
                "text": text,
                "published_at": (now - timedelta(minutes=rng.randint(0, 60 * 24 * 30))).isoformat(),
                "author": {"id": str(author), "handle": f"user{author}", "name": f"User {author}"},
                "engagement": {"likes": rng.randint(0, 50), "reposts": rng.randint(0, 10)},
            }
        )
    return items


def copy_rows(rows: list[tuple[Any, ...]]) -> float:
    """COPY the rows into the mentions table; seconds taken."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([r"\N" if value is None else value for value in row])
    data = buffer.getvalue()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor: Django's wrapper has no copy_expert
        raw.copy_expert(
            f"COPY mentions_mention ({', '.join(MENTION_COLUMNS)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            io.StringIO(data),
        )
    connection.commit()
    return time.perf_counter() - started


def _worker(source_id: int, items: list[dict[str, Any]], batch: int, start_at: Any, results: Any) -> None:
    source = Source.objects.get(pk=source_id)
    reset_caches()
    # Warm-up, untimed as in a long-running worker: the language detector, compiled queries, dedup index.
    ingest_items(source, items[:100], channel="push")
    start_at.wait()
    started = time.perf_counter()
    for offset in range(100, len(items), batch):
        ingest_items(source, items[offset : offset + batch], channel="push")
    results.put((started, time.perf_counter(), len(items) - 100))


def timed_parallel_ingest(source_id: int, items: list[dict[str, Any]], batch: int, processes: int) -> float:
    """docs/s of ``processes`` forked ingest processes splitting ``items`` (warm-up excluded)."""
    import multiprocessing

    # spawn, not fork: lingua's detector runs a Rust thread pool, which does not survive a fork.
    context = multiprocessing.get_context("spawn")
    start_at = context.Barrier(processes)
    results = context.Queue()
    connection.close()
    workers = [
        context.Process(target=_worker, args=(source_id, items[i::processes], batch, start_at, results))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    spans = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sum(count for _, _, count in spans) / (
        max(end for _, end, _ in spans) - min(s for s, _, _ in spans)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--processes", type=int, default=2, help="ingest processes in parallel (as ingest workers would be)"
    )
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        print("benchmarks.ingest needs DATABASE_URL pointing at PostgreSQL", file=sys.stderr)
        return 2
    data_dir = Path(settings.LISTENING_DATA_DIR)
    if not data_dir.is_dir():
        print(f"labelled data not found at {data_dir}; set LISTENING_DATA_DIR", file=sys.stderr)
        return 2
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    texts = real_texts(data_dir)
    print(
        f"{len(texts)} real texts; {args.docs} documents per run in {args.processes} processes, "
        f"batches of {args.batch}, {args.repeats} runs"
    )

    ours: list[float] = []
    copies: list[float] = []
    for run in range(args.repeats):
        org, _ = do_create_organization(f"bench {time.time_ns()}")
        for name, query in BRAND_QUERIES.items():
            Brand.objects.create(organization=org, name=name, query=query)
        source = Source.objects.create(organization=org, name="bench", kind="social")
        items = build_items(texts, args.docs, seed=run)
        ours.append(timed_parallel_ingest(source.pk, items, args.batch, args.processes))

        stored = list(Mention.objects.filter(source=source).values_list(*MENTION_COLUMNS[:-2]))
        stamp = datetime.now(UTC)
        copy_source = Source.objects.create(organization=org, name="bench copy", kind="social")
        rows = [(row[0], copy_source.pk, *row[2:], stamp, stamp) for row in stored]
        rows = [tuple(Json(v) if isinstance(v, dict) else v for v in row) for row in rows]
        copies.append(len(rows) / copy_rows(rows))
        linked = Mention.objects.filter(source=source, brand_mentions__isnull=False).distinct().count()
        print(
            f"run {run + 1}: pipeline {ours[-1]:8.0f} docs/s   COPY {copies[-1]:8.0f} docs/s   "
            f"({linked / len(stored):.0%} matched a brand, "
            f"{Mention.objects.filter(source=source, canonical__isnull=False).count()} near/exact duplicates)"
        )
    median_ours, median_copy = statistics.median(ours), statistics.median(copies)
    print(f"ingest (clean+dedup+match+store)  median {median_ours:8.0f} docs/s")
    print(f"raw COPY of the same rows         median {median_copy:8.0f} docs/s")
    print(f"ratio pipeline / COPY             {median_ours / median_copy:.2f}")
    return 0


class Json(str):
    """A dict rendered as JSON text for COPY."""

    def __new__(cls, value: dict[str, Any]) -> Json:
        import json

        return super().__new__(cls, json.dumps(value))


if __name__ == "__main__":
    sys.exit(main())
