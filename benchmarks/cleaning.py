"""The cleaning pipeline and query matching, stage by stage, on one core.

Documents are real texts from ``LISTENING_DATA_DIR`` (sentiment tweets, brand-topic tweets,
clothing reviews, banking support queries), mixed as a social feed is: mostly tweets, some
retweets and copy-paste repeats, some reviews and support messages. Each stage runs over the same
documents in batches of ``--batch``; the median over ``--repeats`` runs is printed as docs/s of
CPU time (one thread, so one core: stable on a shared machine) and of wall time, beside the whole
pipeline (``clean_batch`` with 20 brand queries). Run from the repo root:

    python -m benchmarks.cleaning [--docs 20000] [--batch 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ingestion.cleaning.dedup import DedupIndex, canonical_words, content_hash, signature_batch
from ingestion.cleaning.language import clear_cache, detect_languages
from ingestion.cleaning.normalise import model_text
from ingestion.cleaning.pii import redact
from ingestion.cleaning.pipeline import RawMention, clean_batch
from ingestion.cleaning.spam import score_batch
from ingestion.cleaning.text import clean_display_text
from ingestion.query import QueryIndex, TextIndex

QUERIES = [
    "apple OR iphone OR #apple OR ipad",
    'amazon NOT "prime video"',
    "netflix OR #netflix",
    'nike OR "just do it"',
    "xbox OR #xboxone OR @xbox",
    "uber OR lyft",
    "(samsung OR galaxy) NOT note",
    "google NEAR/3 (pixel OR phone)",
    'tesla OR "elon musk"',
    "starbucks OR @starbucks",
    "disney*",
    "spotify",
    "microsoft AND (windows OR surface OR xbox)",
    '"customer service" NEAR/5 (bad OR terrible OR slow)',
    'mcdonalds OR "mc donalds" OR #mcdonalds',
    "walmart",
    "target NOT shooting",
    "adidas OR #adidas",
    "playstation OR ps4 OR #ps4",
    '(card OR transfer) AND (declined OR "not working")',
]


def data_dir() -> Path:
    return Path(
        os.environ.get("LISTENING_DATA_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "data")
    )


def _column(path: Path, column: str, delimiter: str = "\t") -> list[str]:
    csv.field_size_limit(10**7)
    # The tweet files are unquoted TSV (a '"' is text); the reviews and banking files quote fields.
    quoting = csv.QUOTE_NONE if path.suffix == ".tsv" and "reviews" not in path.parts else csv.QUOTE_MINIMAL
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter, quoting=quoting)  # type: ignore[call-overload]
        return [row[column] for row in reader if row[column]]


def load_documents(count: int, seed: int = 7) -> list[RawMention]:
    root = data_dir()
    tweets = _column(root / "sentiment" / "train.tsv", "text") + _column(
        root / "brands" / "brand_topic_tweets.tsv", "text"
    )
    reviews = _column(root / "reviews" / "clothing_reviews.tsv", "review_text")
    support = _column(root / "intent" / "banking77_train.csv", "text", delimiter=",")
    rng = random.Random(seed)
    docs: list[RawMention] = []
    for number in range(count):
        roll = rng.random()
        if roll < 0.70:
            text, kind = rng.choice(tweets), "post"
        elif roll < 0.80:  # retweets and copy-paste repeats of earlier posts
            earlier = docs[rng.randrange(len(docs))].text if docs else rng.choice(tweets)
            text, kind = (f"RT @fan{rng.randrange(50)}: {earlier}" if rng.random() < 0.5 else earlier), "post"
        elif roll < 0.90:
            text, kind = rng.choice(reviews), "review"
        else:
            text, kind = f"Hi Anna, {rng.choice(support)} Thanks, Mark", "support"
        docs.append(RawMention(str(number), text, kind, author=f"user{rng.randrange(3000)}"))
    return docs


def _median_rates(run: Callable[[], object], docs: int, repeats: int) -> tuple[float, float]:
    """Median docs/s by CPU time of this process and by wall-clock time.

    Everything here runs on one thread, so CPU time is time on one core; on a shared, loaded
    machine it is the stable number (wall time also counts the time other processes had the core).
    """
    cpu_rates, wall_rates = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        cpu_rates.append(docs / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(docs / (time.perf_counter() - wall))
    return statistics.median(cpu_rates), statistics.median(wall_rates)


def _batches(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _cold_languages(texts: Sequence[str], batch: int) -> None:
    clear_cache()  # the memo would make every run after the first a cache lookup
    for part in _batches(texts, batch):
        detect_languages(part)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not data_dir().is_dir():
        print(f"no data at {data_dir()} (set LISTENING_DATA_DIR)", file=sys.stderr)
        return 1
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    docs = load_documents(args.docs)
    n = len(docs)
    raw = [doc.text for doc in docs]
    display = [clean_display_text(text) for text in raw]
    redacted = [
        redact(text, names=doc.kind == "support").text for text, doc in zip(display, docs, strict=True)
    ]
    model = [model_text(text) for text in redacted]
    words = [canonical_words(text) for text in model]
    keys = [content_hash(text) for text in model]
    authors = [doc.author for doc in docs]
    bank = QueryIndex(dict(enumerate(QUERIES)))
    detect_languages(model[:50])  # builds the detector (about a second) outside the timings

    def dedup_all() -> None:
        index = DedupIndex()
        for start in range(0, n, args.batch):
            signatures, has_signature = signature_batch(words[start : start + args.batch])
            index.check_signatures(keys[start : start + args.batch], signatures, has_signature)

    from datetime import UTC, datetime

    now = datetime.now(UTC)
    stages: list[tuple[str, Callable[[], object]]] = [
        ("unicode+markup+whitespace", lambda: [clean_display_text(t) for t in raw]),
        ("pii redaction", lambda: [redact(t) for t in display]),
        ("model text (url/handle)", lambda: [model_text(t) for t in redacted]),
        ("language (lingua + rule)", lambda: _cold_languages(model, args.batch)),
        ("canonical words + hash", lambda: [content_hash(t) for t in model]),
        ("minhash + lsh dedup", dedup_all),
        ("spam/bot score", lambda: score_batch(redacted, authors, [now] * n, keys)),
        (f"match {len(QUERIES)} queries", lambda: [bank.match(TextIndex(t)) for t in redacted]),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{n} documents ({args.batch} per batch), median of {args.repeats} runs, one thread, load {load:.1f}"
    )
    print(f"{'stage':<28} {'cpu docs/s':>12} {'wall docs/s':>12}")
    total_inverse = 0.0
    for name, run in stages:
        cpu_rate, wall_rate = _median_rates(run, n, args.repeats)
        total_inverse += 1 / cpu_rate
        print(f"{name:<28} {cpu_rate:>12,.0f} {wall_rate:>12,.0f}")
    batches = [docs[start : start + args.batch] for start in range(0, n, args.batch)]

    def pipeline() -> None:
        clear_cache()
        index = DedupIndex()
        for batch in batches:
            clean_batch(batch, dedup_index=index, queries=bank)

    whole_cpu, whole_wall = _median_rates(pipeline, n, args.repeats)
    print(f"{'sum of the stages':<28} {1 / total_inverse:>12,.0f}")
    print(f"{'clean_batch + queries':<28} {whole_cpu:>12,.0f} {whole_wall:>12,.0f}")
    print(f"clean_batch + queries / 8,000 docs/s target (cpu): {whole_cpu / 8000:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
