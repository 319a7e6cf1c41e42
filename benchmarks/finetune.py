"""Fine-tuning figures, measured in one run on this machine (python -m benchmarks.finetune).

Prints, one comparison per line:

1. macro recall on sentiment/val.tsv: the shipped default (weak supervision), TF-IDF + logistic
   regression on the whole train.tsv, and the training service after one epoch on ``--rows`` rows of
   train.tsv (with the wall time);
2. a continual cycle: ``--new-labels`` new labels + ``--raw`` raw texts (SimCSE) + a replay sample,
   time to an evaluated candidate, and the gate's decision;
3. domain lift: 200 analyst corrections in a new domain (brands or reviews) on the held-out rest
   of that domain, and the change on val;
4. kill -9 mid-cycle and resume from the checkpoint.

Use ``--quick`` for a smoke run (small numbers, minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LISTENING_TORCH_THREADS", str(os.cpu_count() or 2))

from models import datasets
from models.datasets import LabelledTexts
from models.settings import DEFAULT_MODEL_DIR
from models.training.config import TrainingConfig, parse_overrides
from models.training.data import Example, TrainingData, feedback_concentration, replay_sample
from models.training.evaluate import evaluate_version
from models.training.gate import gate
from models.training.trainer import CHECKPOINT_FILE, examples_from, train_cycle


def tfidf_baseline(train: LabelledTexts, val: LabelledTexts) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import recall_score
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, class_weight="balanced", C=2.0),
    )
    model.fit(train.texts, train.labels)
    return 100 * float(recall_score(val.labels, model.predict(val.texts), average="macro"))


def line(label: str, value: str) -> None:
    print(f"{label:<58} {value}", flush=True)


def split(data: LabelledTexts, n: int, seed: int) -> tuple[LabelledTexts, LabelledTexts]:
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    take, rest = order[:n], order[n:]
    pick = lambda idx: LabelledTexts([data.texts[i] for i in idx], [data.labels[i] for i in idx], data.name)  # noqa: E731
    return pick(take), pick(rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--new-labels", type=int, default=2000)
    parser.add_argument("--raw", type=int, default=20000)
    parser.add_argument("--domain", choices=("brands", "reviews"), default="brands")
    parser.add_argument("--corrections", type=int, default=200)
    parser.add_argument("--only", default="supervised,cycle,domain,resume")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.new_labels, args.raw, args.corrections = 256, 128, 512, 64
    only = set(args.only.split(","))
    config = TrainingConfig.from_env(**parse_overrides(args.set))
    work = Path(tempfile.mkdtemp(prefix="finetune-bench-"))
    try:
        train, val = datasets.sentiment("train"), datasets.sentiment("val")
    except datasets.DatasetMissing as exc:
        print(f"skipped: {exc}")
        return 0
    print(f"config: {json.dumps(config.as_dict())}", flush=True)
    default_val = evaluate_version(DEFAULT_MODEL_DIR, {"val": val}, device=args.device)["val"]
    line("shipped default (weak supervision), val macro recall", f"{default_val['macro_recall']:.1f}")
    train_shuffled, _ = split(train, len(train), 0)
    parent = DEFAULT_MODEL_DIR
    parent_val = default_val

    if "supervised" in only:
        started = time.perf_counter()
        baseline = tfidf_baseline(train, val)
        line(
            "TF-IDF + LR on all of train.tsv, val macro recall",
            f"{baseline:.1f} ({time.perf_counter() - started:.0f} s)",
        )
        rows = train_shuffled.head(args.rows)
        data = TrainingData(examples=examples_from(rows))
        started = time.perf_counter()
        result = train_cycle(
            DEFAULT_MODEL_DIR,
            data,
            work / "supervised",
            version="bench-supervised",
            config=config,
            calibration=val,
            device=args.device,
            progress=False,
        )
        seconds = time.perf_counter() - started
        sup_val = evaluate_version(result.directory, {"val": val}, device=args.device)["val"]
        line(
            f"training service, 1 epoch {config.method} on {len(rows)} rows, val macro recall",
            f"{sup_val['macro_recall']:.1f} (macro-F1 {sup_val['macro_f1']:.1f}, {seconds / 60:.1f} min, "
            f"{result.steps} steps, loss {result.first_loss:.3f} -> {result.last_loss:.3f})",
        )
        line("  per-class recall", json.dumps(sup_val["per_class_recall"]))
        parent, parent_val = result.directory, sup_val

    if "cycle" in only:
        new = train_shuffled.texts[args.rows : args.rows + args.new_labels]
        new_labels = train_shuffled.labels[args.rows : args.rows + args.new_labels]
        fresh, recent = split(LabelledTexts(new, new_labels, "new"), int(len(new) * 0.8), 1)
        raw = (
            datasets.unlabelled_tweets()[: args.raw]
            if args.raw <= len(train)
            else datasets.unlabelled_tweets()
        )
        replay = replay_sample(examples_from(train_shuffled.head(args.rows)), 1000, seed=2)
        data = TrainingData(examples=examples_from(fresh) + replay, raw_texts=list(raw[: args.raw]))
        started = time.perf_counter()
        result = train_cycle(
            parent,
            data,
            work / "cycle",
            version="bench-cycle",
            config=config,
            calibration=val,
            device=args.device,
            progress=False,
        )
        slices = {"val": val, "recent": recent}
        candidate = evaluate_version(result.directory, slices, device=args.device)
        active = evaluate_version(parent, slices, device=args.device)
        decision = gate(candidate, active)
        seconds = time.perf_counter() - started
        line(
            f"cycle: {len(fresh)} labels + {len(data.raw_texts)} raw + {len(replay)} replay -> evaluated",
            f"{seconds / 60:.1f} min ({result.steps} steps); val {active['val']['macro_recall']:.1f} -> "
            f"{candidate['val']['macro_recall']:.1f}, recent {active['recent']['macro_recall']:.1f} -> "
            f"{candidate['recent']['macro_recall']:.1f}; gate {'passed' if decision.passed else 'blocked'}",
        )

    if "domain" in only:
        domain = datasets.brands() if args.domain == "brands" else datasets.reviews()
        corrections, held = split(domain, args.corrections, 3)
        replay = replay_sample(examples_from(train_shuffled.head(args.rows)), 1000, seed=4)
        data = TrainingData(examples=examples_from(corrections, kind="feedback") + replay)
        started = time.perf_counter()
        result = train_cycle(
            parent,
            data,
            work / "domain",
            version="bench-domain",
            config=config,
            calibration=val,
            device=args.device,
            progress=False,
        )
        seconds = time.perf_counter() - started
        slices = {"val": val, args.domain: held}
        before = evaluate_version(parent, slices, device=args.device)
        after = evaluate_version(result.directory, slices, device=args.device)
        line(
            f"{args.corrections} corrections in {args.domain} (+{len(replay)} replay), held-out rest",
            f"{before[args.domain]['macro_recall']:.1f} -> {after[args.domain]['macro_recall']:.1f} "
            f"(n={len(held)}, {seconds / 60:.1f} min)",
        )
        line(
            "  same cycle, val macro recall",
            f"{before['val']['macro_recall']:.1f} -> {after['val']['macro_recall']:.1f} "
            f"({after['val']['macro_recall'] - before['val']['macro_recall']:+.1f})",
        )
        _ = feedback_concentration  # the real cycle also checks who sent them

    if "resume" in only:
        out, checkpoint = work / "resume", work / "resume.ckpt"
        command = [
            sys.executable,
            "-m",
            "models.training",
            "--out",
            str(out),
            "--checkpoint-dir",
            str(checkpoint),
            "--limit",
            "640",
            "--no-progress",
            "--set",
            "max_steps=20",
            "--set",
            "checkpoint_every=5",
            "--set",
            "batch_size=16",
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        while not (checkpoint / CHECKPOINT_FILE).is_file() and process.poll() is None:
            time.sleep(0.2)
        time.sleep(1.0)
        process.send_signal(signal.SIGKILL)
        process.wait()
        finished = subprocess.run(command, capture_output=True, text=True, check=True)
        summary = json.loads(finished.stdout.strip().splitlines()[-1])
        line(
            "kill -9 after a checkpoint, then the same command",
            f"resumed at step {summary['resumed_from']} of {summary['steps']}",
        )
    _ = Example, parent_val
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
