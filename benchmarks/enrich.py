"""End-to-end enrichment beside the model alone, on the same texts, in one run.

    python -m benchmarks.enrich [--tweets N] [--rounds 2] [--batch 512]

Needs PostgreSQL (``DATABASE_URL``); runs in a throw-away test database. It seeds the demo
organization and pushes its corpus (about 1,800 posts, reviews and support transcripts) through the
real ingestion pipeline, plus up to ``--tweets`` real brand tweets
(``$LISTENING_DATA_DIR/brands/brand_topic_tweets.tsv``) when the data folder is there. Then, in
interleaved rounds:

- model only: the active version's ``predict`` on the texts enrichment reads, in enrichment's own
  batches (``--batch`` mentions per claim);
- end to end: the body of the ``enrich.pending`` task (``do_enrich_pending``, one task's worth at a
  time): claim, infer, write the enrichments, copy sentiment to the brand links, rollups and signals,
  each batch committed. Between rounds the mentions are marked unread again.

It prints docs/s of both, the ratio (target >= 0.8), the share of each stage (claim, tokenise,
forward, heads, rows, write, signals and the rollups among them; marked with ``models.stages``), the
CPU features and the inference path (dtype, quantisation, threads).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from benchmarks.brand_tweets import BRANDS, read_brand_tweets  # noqa: E402
from benchmarks.common import line, machine_line  # noqa: E402
from listening.analytics.vocabulary import SCOPES  # noqa: E402
from listening.brands.models import Brand  # noqa: E402
from listening.demo.services import do_load_demo_corpus, do_seed_demo  # noqa: E402
from listening.jobs import Queue  # noqa: E402
from listening.learning.registry import get_active_version  # noqa: E402
from listening.mentions.enrichment import DEFAULT_BATCH, do_enrich_pending, load_version  # noqa: E402
from listening.mentions.models import Enrichment, Mention, Source, SourceKind  # noqa: E402
from models.inference import ListeningModel  # noqa: E402
from models.stages import StageClock  # noqa: E402
from workers import app  # noqa: E402
from workers.celery_app import freeze_startup_heap  # noqa: E402
from workers.tasks.enrich import PENDING_PER_TASK  # noqa: E402

# The stages one after another; "rollups" is the part of "signals" that the rollups take.
STAGES = ("claim", "tokenise", "forward", "heads", "rows", "write", "signals")


def store_mentions(tweets: int) -> int:
    """The demo corpus and up to ``tweets`` real brand tweets, through the ingestion pipeline."""
    from ingestion.services import ingest_items

    setup = do_seed_demo()
    do_load_demo_corpus(setup)
    if tweets:
        try:
            rows = read_brand_tweets()[:tweets]
        except FileNotFoundError:
            print("brand tweets absent: demo corpus only", file=sys.stderr)
            rows = []
        if rows:
            org = setup.organization
            for name in BRANDS:
                Brand.objects.get_or_create(organization=org, name=name.title(), defaults={"query": name})
            source, _ = Source.objects.get_or_create(
                organization=org, name="Brand tweets", defaults={"kind": SourceKind.SOCIAL}
            )
            items = [
                {"external_id": t.id, "text": t.text, "published_at": t.published_at.isoformat()}
                for t in rows
            ]
            for start in range(0, len(items), 1000):
                ingest_items(source, items[start : start + 1000], channel="push")
    app.control.purge()  # the enrichment messages ingestion sent: this run enriches in-process
    return Mention.objects.filter(enriched_at__isnull=True).count()


def reset() -> None:
    """Every mention unread again, with no reading and no rollups, as after a fresh push."""
    Enrichment.objects.all().delete()
    for scope in SCOPES:
        for table in (scope.rollup, scope.totals, scope.terms, scope.term_weeks, scope.versions):
            table._default_manager.all().delete()
    Mention.objects.update(enriched_at=None, sentiment="", model_version=None)


def model_only(texts: list[str], batch: int, clock: StageClock) -> float:
    model = load_version(get_active_version(None))
    started = time.perf_counter()
    with clock:
        for start in range(0, len(texts), batch):
            model.predict(texts[start : start + batch])
    return time.perf_counter() - started


def end_to_end(batch: int, clock: StageClock) -> tuple[float, int]:
    started, done = time.perf_counter(), 0
    with clock:
        while True:  # what enrich.pending does, one task's worth after another
            step = do_enrich_pending(limit=PENDING_PER_TASK, batch_size=batch)
            done += step
            if step < PENDING_PER_TASK:
                break
    return time.perf_counter() - started, done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tweets", type=int, default=4000, help="real brand tweets added to the demo corpus")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help="mentions per claim (enrichment's default)"
    )
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        print("skipped: needs PostgreSQL (DATABASE_URL)", file=sys.stderr)
        return 2
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        n = store_mentions(args.tweets)
        ids_texts = Mention.objects.filter(enriched_at__isnull=True).order_by("id")
        texts = [m or c for m, c in ids_texts.values_list("model_text", "clean_text")]
        model = load_version(get_active_version(None))
        model.predict(texts[:64])  # warm-up: first-call allocations and kernel selection
        freeze_startup_heap([Queue.ENRICH])  # what an enrich worker does when it starts
        model_s: list[float] = []
        e2e_s: list[float] = []
        stages: dict[str, dict[str, float]] = {"model": defaultdict(float), "e2e": defaultdict(float)}
        for _ in range(args.rounds):
            clock = StageClock()
            model_s.append(model_only(texts, args.batch, clock))
            for key, value in clock.seconds.items():
                stages["model"][key] += value
            reset()
            clock = StageClock()
            seconds, done = end_to_end(args.batch, clock)
            if done != n:
                raise SystemExit(f"enriched {done} of {n} mentions")
            e2e_s.append(seconds)
            for key, value in clock.seconds.items():
                stages["e2e"][key] += value
        model_rate = n / statistics.median(model_s)
        e2e_rate = n / statistics.median(e2e_s)
        ratio = e2e_rate / model_rate
        print(machine_line("cpu", str(model.dtype).removeprefix("torch.")))
        line("inference path", _describe(model))
        line(
            "mentions",
            f"{n} ({args.rounds} interleaved rounds, median; batch {args.batch}, model {model.version})",
        )
        line("model only (predict, same texts and batches)", f"{model_rate:8.1f} docs/s")
        line("end to end (enrich.pending: claim..rollups)", f"{e2e_rate:8.1f} docs/s")
        line(
            "ratio end to end / model only (target >= 0.80)",
            f"{ratio:8.2f} {'met' if ratio >= 0.8 else 'NOT met'}",
        )
        total = sum(e2e_s)
        for name in STAGES:
            spent = stages["e2e"].get(name, 0.0)
            line(
                f"  stage {name}",
                f"{spent / total * 100:5.1f} % of end to end ({spent / len(e2e_s):6.2f} s/round)",
            )
        spent = stages["e2e"].get("rollups", 0.0)
        line(
            "    of which rollups",
            f"{spent / total * 100:5.1f} % of end to end ({spent / len(e2e_s):6.2f} s/round)",
        )
        named = sum(stages["e2e"].get(name, 0.0) for name in STAGES)
        line("  other (commit, version lookup, python)", f"{(total - named) / total * 100:5.1f} %")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


def _describe(model: ListeningModel) -> str:
    import torch

    from models.paths import kernel_of

    return f"{model.inference_path}: {kernel_of(model.inference_path)}, {torch.get_num_threads()} threads"


if __name__ == "__main__":
    raise SystemExit(main())
