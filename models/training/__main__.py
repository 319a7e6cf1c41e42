"""Run one cycle from files: ``python -m models.training --parent DIR --out DIR --train FILE.tsv``.

Prints the evaluation on the sentiment validation file when ``--evaluate`` is given. A run killed at
any point and started again with the same arguments resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from models import datasets
from models.settings import DEFAULT_MODEL_DIR
from models.training.config import TrainingConfig, TrainingConfigError, parse_overrides
from models.training.data import TrainingData
from models.training.evaluate import evaluate_version
from models.training.trainer import examples_from, train_cycle


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.training", description=__doc__)
    parser.add_argument("--parent", default=str(DEFAULT_MODEL_DIR), help="parent version directory")
    parser.add_argument("--out", required=True, help="new version directory (must not exist)")
    parser.add_argument("--version", default=None, help="version name (default: the out dir's name)")
    parser.add_argument("--train", help="TSV with label and text columns (default: sentiment/train.tsv)")
    parser.add_argument("--limit", type=int, default=0, help="use the first N labelled rows")
    parser.add_argument("--raw", help="file with one raw text per line (SimCSE)")
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--evaluate", action="store_true", help="print val metrics of the new version")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a TrainingConfig field, e.g. --set method=full --set max_steps=20",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    try:
        overrides = parse_overrides(args.set)
    except TrainingConfigError as exc:
        parser.error(str(exc))
    config = TrainingConfig.from_env(**overrides)
    labelled = datasets.read_label_text_tsv(args.train) if args.train else datasets.sentiment("train")
    if args.limit:
        labelled = labelled.head(args.limit)
    raw = (
        [line.strip() for line in Path(args.raw).read_text().splitlines() if line.strip()] if args.raw else []
    )
    data = TrainingData(examples=examples_from(labelled), raw_texts=raw)
    out = Path(args.out)
    result = train_cycle(
        args.parent,
        data,
        out,
        version=args.version or out.name,
        config=config,
        checkpoint_dir=args.checkpoint_dir,
        device=args.device,
        progress=not args.no_progress,
    )
    summary = {
        "version": str(out),
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "first_loss": result.first_loss,
        "last_loss": result.last_loss,
        "seconds": round(result.seconds, 1),
    }
    if args.evaluate:
        summary["val"] = evaluate_version(out, {"val": datasets.sentiment("val")}, device=args.device)["val"]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
