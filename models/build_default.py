"""Build the shipped default model version: heads on frozen backbone features.

    python -m models.build_default [--out models/default] [--backbone REF] [--sentiment weak|supervised]

How each head is made (all from the data folder, ``LISTENING_DATA_DIR``; selection on validation only):

- sentiment, ``weak`` (the default, the cold start): the VADER lexicon labels the *unlabelled*
  in-domain tweets of sentiment/train.tsv (their gold labels are ignored), keeping only the texts
  it is confident about, and a logistic regression learns those labels from the backbone's pooled
  state. ``supervised`` trains on the gold labels instead (a reference point; the training service
  does this properly by fine-tuning);
- emotion and irony: logistic regression on their train.tsv, regularisation chosen on val.tsv;
- intent: logistic regression on 90 % of BANKING77, chosen and measured on the other 10 %;
- every head's temperature is fitted on the even rows of its validation data; its calibration
  error is reported on the odd rows, which the fit never saw.

The output directory is a regular model version (a few hundred KB: heads + manifest, the backbone
by reference), committed under ``models/default`` so a fresh install works with no data folder.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from models import datasets
from models.backbones import load_backbone
from models.evaluation import classification_metrics
from models.head_training import LinearHead, fit_logistic_head, fit_temperature, install_head
from models.heads import ListeningHeads, ListeningNetwork, set_seed
from models.inference import ListeningModel, configure_threads, resolve_device, resolve_dtype
from models.labels import EMOTION, IRONY, SENTIMENT
from models.lexicon import vader_labels, weak_sentiment_labels
from models.settings import DEFAULT_MODEL_DIR, ModelSettings
from models.version import save_model_version

logger = logging.getLogger(__name__)

C_GRID = (0.01, 0.1, 1.0)
MAX_LENGTH = 128
SEED = 13


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _select_and_fit(
    task: str,
    train_x: np.ndarray,
    train_y: Sequence[str],
    val_x: np.ndarray,
    val_y: Sequence[str],
    labels: Sequence[str],
) -> tuple[LinearHead, float, dict[str, Any]]:
    """Pick C on validation macro recall, fit the temperature on even val rows; return metrics."""
    best: tuple[float, float, LinearHead] | None = None
    for c in C_GRID:
        head = fit_logistic_head(train_x, train_y, labels, c=c, seed=SEED)
        pred = np.asarray(labels)[head.logits(val_x).argmax(axis=1)]
        score = classification_metrics(val_y, pred, labels).macro_recall
        logger.info("%s C=%s val macro recall %.2f", task, c, score)
        if best is None or score > best[0]:
            best = (score, c, head)
    assert best is not None
    _, c, head = best
    logits = head.logits(val_x)
    index = {label: i for i, label in enumerate(labels)}
    truth = np.array([index[y] for y in val_y])
    temperature = fit_temperature(logits[0::2], truth[0::2])
    pred = np.asarray(labels)[logits.argmax(axis=1)]
    odd_y = [val_y[i] for i in range(1, len(val_y), 2)]
    metrics = classification_metrics(val_y, pred, labels).as_dict()
    metrics |= {
        "C": c,
        "temperature": round(temperature, 4),
        "ece_uncalibrated_odd_rows": round(
            classification_metrics(odd_y, pred[1::2], labels, _softmax(logits[1::2])).ece or 0.0, 2
        ),
        "ece_calibrated_odd_rows": round(
            classification_metrics(odd_y, pred[1::2], labels, _softmax(logits[1::2] / temperature)).ece
            or 0.0,
            2,
        ),
    }
    return head, temperature, metrics


def default_label_maps() -> dict[str, tuple[str, ...]]:
    """Every head of a full version: the three TweetEval tasks and the BANKING77 intents."""
    return {
        "sentiment": SENTIMENT,
        "emotion": EMOTION,
        "irony": IRONY,
        "intent": tuple(datasets.intent_labels()),
    }


def build(out: Path, *, backbone: str, sentiment_mode: str, version: str | None = None) -> dict[str, Any]:
    settings = ModelSettings.from_env()
    configure_threads(settings.torch_threads)
    set_seed(SEED)
    started = time.perf_counter()
    label_maps = default_label_maps()
    intent_labels = list(label_maps["intent"])
    loaded = load_backbone(backbone, cache_dir=settings.cache_dir)
    network = ListeningNetwork(loaded, ListeningHeads(loaded.hidden_size, label_maps))
    device = resolve_device(None)
    encoder = ListeningModel(
        network,
        {"version": "building"},
        device=device,
        dtype=resolve_dtype(settings.dtype, device),
        max_length=MAX_LENGTH,
    )

    def features(texts: Sequence[str]) -> np.ndarray:
        return encoder.pooled(texts, batch_size=64)

    metrics: dict[str, Any] = {}
    training: dict[str, Any] = {"seed": SEED, "method": "logistic regression on frozen pooled states"}

    # Sentiment.
    train = datasets.sentiment("train")
    val = datasets.sentiment("val")
    train_x, val_x = features(train.texts), features(val.texts)
    if sentiment_mode == "weak":
        weak, keep = weak_sentiment_labels(train.texts)
        train_x, train_y = train_x[keep], list(weak[keep])
        training["sentiment"] = {
            "mode": "weak",
            "labeller": "VADER, confident only: |compound| >= 0.5 polar, == 0 neutral",
            "texts": "sentiment/train.tsv (gold labels unused)",
        }
    else:
        train_y = train.labels
        training["sentiment"] = {"mode": "supervised", "texts": "sentiment/train.tsv"}
    training["sentiment"]["n"] = len(train_y)
    head, temperature, metrics["sentiment"] = _select_and_fit(
        "sentiment", train_x, train_y, val_x, val.labels, SENTIMENT
    )
    install_head(network.heads, "sentiment", head, temperature)
    metrics["sentiment"]["vader_on_val"] = classification_metrics(
        val.labels, vader_labels(val.texts), SENTIMENT
    ).as_dict()

    # Emotion and irony: supervised on their own train files.
    for task, labels in (("emotion", EMOTION), ("irony", IRONY)):
        reader = getattr(datasets, task)
        tr, va = reader("train"), reader("val")
        head, temperature, metrics[task] = _select_and_fit(
            task, features(tr.texts), tr.labels, features(va.texts), va.labels, labels
        )
        install_head(network.heads, task, head, temperature)
        training[task] = {"mode": "supervised", "texts": f"{task}/train.tsv", "n": len(tr)}

    # Intent: BANKING77 has one file; hold out a stratified 10 % for selection and measurement.
    data = datasets.intent()
    tr_texts, va_texts, tr_y, va_y = train_test_split(
        data.texts, data.labels, test_size=0.1, random_state=SEED, stratify=data.labels
    )
    head, temperature, metrics["intent"] = _select_and_fit(
        "intent", features(tr_texts), tr_y, features(va_texts), va_y, intent_labels
    )
    metrics["intent"].pop("confusion")  # 77 x 77: too big for a manifest
    install_head(network.heads, "intent", head, temperature)
    training["intent"] = {"mode": "supervised", "texts": "intent/banking77_train.csv (90 %)", "n": len(tr_y)}
    training["build_seconds"] = round(time.perf_counter() - started, 1)

    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        staged = Path(tmp) / "version"
        manifest = save_model_version(
            network,
            staged,
            version=version or f"default-{sentiment_mode}-v1",
            max_length=MAX_LENGTH,
            metrics=metrics,
            training=training,
        )
        if out.exists():
            shutil.rmtree(out)
        shutil.move(str(staged), out)
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument(
        "--backbone", default=None, help="backbone reference (default: LISTENING_MODEL_BACKBONE)"
    )
    parser.add_argument("--sentiment", choices=("weak", "supervised"), default="weak")
    parser.add_argument("--version", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    manifest = build(
        args.out.resolve(),
        backbone=args.backbone or ModelSettings.from_env().backbone,
        sentiment_mode=args.sentiment,
        version=args.version,
    )
    s = manifest["metrics"]["sentiment"]
    print(f"wrote {args.out} version {manifest['version']} checksum {manifest['checksum'][:12]}")
    print(
        f"sentiment/val macro recall: ours ({args.sentiment}) {s['macro_recall']:.1f}  "
        f"VADER {s['vader_on_val']['macro_recall']:.1f}"
    )
    for task in ("emotion", "irony", "intent"):
        m = manifest["metrics"][task]
        print(
            f"{task}: macro recall {m['macro_recall']:.1f}  macro F1 {m['macro_f1']:.1f}  "
            f"accuracy {m['accuracy']:.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
