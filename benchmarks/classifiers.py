"""Custom classifiers on few-shot tasks: TF-IDF + LR, frozen embeddings + LR, zero-shot from the
label descriptions, and ours (``models.classifiers``: zero-shot at 0 examples, the SetFit-style
few-shot recipe above), side by side in one run.

Tasks: BANKING77 (77 intents) and the Bitext customer-support sample (27 intents) from
``LISTENING_DATA_DIR/intent``. Per task a fixed test set (``--test-per-label`` rows of each label)
is drawn first; each seed then samples its k training rows per label from the remaining rows, so
train and test rows are disjoint. Descriptions are the label names in words ("card arrival").
The embeddings are the packaged default version's (the same forward pass enrichment runs);
"frozen embeddings + LR" is scikit-learn's logistic regression on them with default settings.

    .venv/bin/python -m benchmarks.classifiers                # the full run: 5 seeds, k = 0/5/10/32
    .venv/bin/python -m benchmarks.classifiers --seeds 1 --shots 10 --test-per-label 10   # a quick look
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import line, machine_line
from models.classifiers import (
    FewShotConfig,
    balanced_rows,
    fit_head,
    macro_f1,
    normalise,
    zero_shot_head,
)


def read_task(name: str, data_dir: Path) -> tuple[list[str], list[str]]:
    if name == "banking77":
        path, column = data_dir / "intent" / "banking77_train.csv", "category"
    else:
        path, column = data_dir / "intent" / "bitext_customer_support.csv", "intent"
    with path.open(newline="") as handle:
        rows = [(row["text"], row[column]) for row in csv.DictReader(handle)]
    return [t for t, _ in rows], [label for _, label in rows]


def describe(label: str) -> str:
    return label.replace("_", " ")


def f1_points(truth: Sequence[str], guess: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(100 * f1_score(truth, guess, average="macro", labels=sorted(set(truth)), zero_division=0))


def run_task(
    name: str, data_dir: Path, *, shots: Sequence[int], seeds: int, test_per_label: int, pool_per_label: int
) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from models.inference import load_model

    texts, labels = read_task(name, data_dir)
    names = sorted(set(labels))
    test_idx = balanced_rows(labels, test_per_label, seed=1234)
    taken = set(test_idx)
    rest = [i for i in range(len(texts)) if i not in taken]
    pool_idx = [rest[i] for i in balanced_rows([labels[j] for j in rest], pool_per_label, seed=99)]
    used = sorted(set(test_idx) | set(pool_idx))
    model = load_model()
    started = time.perf_counter()
    embedded = normalise(model.pooled([texts[i] for i in used]))
    prototypes = normalise(model.pooled([describe(label) for label in names]))
    embed_seconds = time.perf_counter() - started
    row_of = {i: r for r, i in enumerate(used)}
    line(f"{name}: labels / test rows / train pool", f"{len(names)} / {len(test_idx)} / {len(pool_idx)}")
    line(f"{name}: embedding {len(used) + len(names)} texts", f"{embed_seconds:.1f} s")
    test_x = embedded[[row_of[i] for i in test_idx]]
    test_y = [labels[i] for i in test_idx]
    pool_labels = [labels[i] for i in pool_idx]
    zero = zero_shot_head(prototypes, names, multi_label=False)
    zero_f1 = macro_f1(zero, test_x, [[y] for y in test_y])
    chance = 100.0 / len(names)
    line(f"{name}: chance macro-F1 (uniform guess)", f"{chance:.1f}")
    for k in shots:
        results: dict[str, list[float]] = {"tfidf_lr": [], "frozen_lr": [], "zero_shot": [], "ours": []}
        seconds: list[float] = []
        for seed in range(seeds):
            if k == 0:
                results["zero_shot"].append(zero_f1)
                results["ours"].append(zero_f1)
                continue
            picked = [pool_idx[i] for i in balanced_rows(pool_labels, k, seed=seed)]
            train_texts = [texts[i] for i in picked]
            train_y = [labels[i] for i in picked]
            train_x = embedded[[row_of[i] for i in picked]]
            tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            clf = LogisticRegression(max_iter=2000, class_weight="balanced")
            clf.fit(tfidf.fit_transform(train_texts), train_y)
            results["tfidf_lr"].append(
                f1_points(test_y, clf.predict(tfidf.transform([texts[i] for i in test_idx])))
            )
            frozen = LogisticRegression(max_iter=2000)
            frozen.fit(train_x, train_y)
            results["frozen_lr"].append(f1_points(test_y, frozen.predict(test_x)))
            results["zero_shot"].append(zero_f1)
            t0 = time.perf_counter()
            head = fit_head(
                train_x,
                [[y] for y in train_y],
                prototypes,
                names,
                multi_label=False,
                config=FewShotConfig(seed=seed),
            )
            seconds.append(time.perf_counter() - t0)
            # Served with the threshold at 0 here: the benchmark scores labels, not abstention.
            results["ours"].append(macro_f1(head, test_x, [[y] for y in test_y]))
        cells = "  ".join(
            f"{column} {np.mean(v):5.1f} ± {np.std(v):4.1f}" if v else f"{column}   n/a      "
            for column, v in results.items()
        )
        timing = f"  train {np.mean(seconds):.1f} s (max {max(seconds):.1f})" if seconds else ""
        line(f"{name} k={k:>2} per label, macro-F1 over {seeds} seeds", cells + timing)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", default="banking77,bitext")
    parser.add_argument("--shots", default="0,5,10,32")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--test-per-label", type=int, default=30)
    parser.add_argument("--pool-per-label", type=int, default=64)
    args = parser.parse_args(argv)
    import torch

    threads = int(os.environ.get("LISTENING_TORCH_THREADS", "0") or 0)
    if threads:
        torch.set_num_threads(threads)
    data_dir = Path(os.environ.get("LISTENING_DATA_DIR", "../shared/data"))
    line("machine", machine_line("cpu", "float32"))
    run: Callable[[str], None] = lambda task: run_task(  # noqa: E731
        task,
        data_dir,
        shots=[int(s) for s in args.shots.split(",")],
        seeds=args.seeds,
        test_per_label=args.test_per_label,
        pool_per_label=args.pool_per_label,
    )
    for task in args.tasks.split(","):
        run(task)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
