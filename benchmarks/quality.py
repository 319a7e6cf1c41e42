"""Label quality of every model a user could get, side by side in one run.

    python -m benchmarks.quality [--quick] [--limit N] [--version DIR ...] [--cold-start DIR]

Systems (one column each):

  VADER       the lexicon (``models.lexicon``); no probabilities, so no ECE ("-")
  TF-IDF+LR   word 1-2-gram TF-IDF + logistic regression on all of sentiment/train.tsv,
              class_weight balanced, C chosen on sentiment/val only
  cold start  the weak-supervision cold start (logistic-regression heads on frozen features,
              sentiment learnt from VADER's confident labels), built into a temporary directory
              by ``models.build_default`` (a few minutes), or ``--cold-start DIR``
  default     the shipped ``models/default``, loaded through ``models.inference.load_model``
  v1, v2 ...  each ``--version DIR`` (candidates to compare)

Sections, each printed as soon as it is measured:

1. sentiment on sentiment/val, the clothing reviews, the brand tweets, VADER's rated tweets,
   movie snippets and NYT snippets, and the held-out half of the project's expectation contrast set
   (``models/contrast``: templates and fillers the default never trained on; TF-IDF + LR and the
   cold start never see its training half, the default does): macro recall, macro-F1, accuracy,
   ECE, per-class recall and the confusion matrix of every system (``models.evaluation``);
2. verdicts: each model version against TF-IDF + LR on every domain (target: none below), and
   sentiment/val macro recall against the target of 74;
3. irony: the share of ordinary tweets (sentiment/val, brand tweets) at or above the version's
   serving threshold (``manifest["serving"]["irony_threshold"]``, 0.5 when unset), beside the
   recall of the irony class on irony/val;
4. emotion: macro-F1 on emotion/val; on the contrast set's held-out opinions, accuracy against
   its emotion column and the share whose emotion contradicts their sentiment (joy or optimism on a
   negative, anger or sadness on a positive);
5. support intents: accuracy and macro-F1 on the held-back Bitext rows (never trained on), and the
   share of those rows and of sentiment/val tweets that get no intent under the serving rule;
6. wall time per system, beside the CPU features, torch threads and dtype.

sentiment/val also chose TF-IDF's C (and the heads' choices), so it flatters every trained system a
little; the other domains are unseen by all. ``--quick`` scores small evenly spaced subsets (and
trains TF-IDF on a subset): a smoke run, not the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from benchmarks.common import fit_tfidf_lr, machine_line
from models import datasets
from models.datasets import LabelledTexts
from models.evaluation import Metrics, classification_metrics, format_comparison
from models.inference import ListeningModel, Predictions, load_model
from models.labels import CONTRARY_EMOTIONS, EMOTION, IRONY, NO_INTENT, SENTIMENT
from models.lexicon import vader_labels
from models.settings import DEFAULT_MODEL_DIR, ModelSettings

TARGET_VAL_MACRO_RECALL = 74.0
VAL = "sentiment/val"
ORDINARY = (VAL, "brands/unseen")  # ordinary social posts: irony should be rare, intents absent
DEFAULT_IRONY_THRESHOLD = 0.5
DEFAULT_INTENT_MIN_CONFIDENCE = 0.0  # a version that sets none abstains only on "none"
QUICK_ROWS, QUICK_TRAIN_ROWS = 200, 4000
CHUNK = 1024  # texts per predict call: one progress step (each call still buckets by length)

SentimentScorer = Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray | None]]
"""texts -> (labels [N] str, probabilities [N, 3] in SENTIMENT order, or None)."""


def subset(data: LabelledTexts, n: int | None) -> LabelledTexts:
    """``n`` evenly spaced rows (all when ``n`` is None or not smaller): several files are sorted
    by label or intent, so their first rows would be one class."""
    if n is None or n >= len(data):
        return data
    index = np.linspace(0, len(data) - 1, num=max(n, 1)).round().astype(int)
    return LabelledTexts([data.texts[i] for i in index], [data.labels[i] for i in index], data.name)


@dataclass
class System:
    """One column of the comparison: a name, what it is, and the time it cost."""

    name: str
    about: str
    setup_seconds: float = 0.0  # fit, build or load
    scoring_seconds: float = 0.0
    texts: int = 0
    dtype: str = "-"

    def sentiment(self, data: LabelledTexts) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError


@dataclass
class Baseline(System):
    """A sentiment-only system (VADER, TF-IDF + LR)."""

    scorer: SentimentScorer | None = None

    def sentiment(self, data: LabelledTexts) -> tuple[np.ndarray, np.ndarray | None]:
        assert self.scorer is not None
        started = time.perf_counter()
        result = self.scorer(data.texts)
        self.scoring_seconds += time.perf_counter() - started
        self.texts += len(data)
        return result


@dataclass
class Version(System):
    """A model version with every head; its predictions are computed once per dataset."""

    model: ListeningModel | None = None
    batch_size: int = 64
    progress: bool = True
    _cache: dict[str, Predictions] = field(default_factory=dict)

    @property
    def loaded(self) -> ListeningModel:
        assert self.model is not None
        return self.model

    def _serving(self, key: str, default: float) -> float:
        serving = self.loaded.manifest.get("serving") or {}
        return float(serving.get(key, default))

    @property
    def irony_threshold(self) -> float:
        return self._serving("irony_threshold", DEFAULT_IRONY_THRESHOLD)

    @property
    def intent_min_confidence(self) -> float:
        return self._serving("intent_min_confidence", DEFAULT_INTENT_MIN_CONFIDENCE)

    def predict(self, data: LabelledTexts) -> Predictions:
        if data.name not in self._cache:
            started = time.perf_counter()
            starts = range(0, len(data), CHUNK)
            bar = tqdm(
                starts,
                desc=f"{self.name} on {data.name}",
                unit="chunk",
                disable=None if self.progress else True,
            )
            parts = [self.loaded.predict(data.texts[i : i + CHUNK], batch_size=self.batch_size) for i in bar]
            self._cache[data.name] = concat_predictions(parts) if parts else self.loaded.predict([])
            self.scoring_seconds += time.perf_counter() - started
            self.texts += len(data)
        return self._cache[data.name]

    def sentiment(self, data: LabelledTexts) -> tuple[np.ndarray, np.ndarray | None]:
        out = self.predict(data)
        columns = [list(self.loaded.label_maps["sentiment"]).index(label) for label in SENTIMENT]
        return out.sentiment, out.sentiment_probs[:, columns]


def concat_predictions(parts: Sequence[Predictions]) -> Predictions:
    fields = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Predictions)
    }
    return Predictions(**fields)


def intent_nulls(intent: np.ndarray, intent_prob: np.ndarray, min_confidence: float) -> np.ndarray:
    """The serving rule, whichever way ``predict`` reports it: no intent where the label is None
    (already abstained) or the abstention class, or where its probability is under ``min_confidence``."""
    labels = np.asarray(intent, dtype=object)
    abstained = np.fromiter((x is None or x == NO_INTENT for x in labels), dtype=bool, count=len(labels))
    return abstained | (np.asarray(intent_prob, dtype=np.float64) < min_confidence)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def fmt(row: Sequence[str]) -> str:
        cells = [f"{row[0]:<{widths[0]}}", *(f"{c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True))]
        return "  ".join(cells).rstrip()

    return [fmt(header), *(fmt(row) for row in rows)]


def section(title: str) -> str:
    return f"\n== {title} =="


# --- the sections -------------------------------------------------------------------------------


def sentiment_results(
    domains: Sequence[LabelledTexts], systems: Sequence[System]
) -> Iterator[tuple[LabelledTexts, dict[str, Metrics]]]:
    """Per domain, every system's metrics (one predict per version and domain, reused later)."""
    for data in domains:
        results = {}
        for system in systems:
            labels, probs = system.sentiment(data)
            results[system.name] = classification_metrics(data.labels, labels, SENTIMENT, probs)
        yield data, results


def verdict_lines(
    results: dict[str, dict[str, Metrics]], reference: str, versions: Sequence[str]
) -> list[str]:
    """Each version's macro recall against ``reference`` per domain, then the two targets."""
    header = ["domain (macro recall)", reference, *versions]
    rows = []
    for domain, by_system in results.items():
        base = by_system[reference].macro_recall
        cells = []
        for name in versions:
            delta = by_system[name].macro_recall - base
            cells.append(
                f"{by_system[name].macro_recall:5.1f} {delta:+5.1f} {'ok' if delta >= 0 else 'BELOW':<5}"
            )
        rows.append([domain, f"{base:.1f}", *cells])
    below = {
        name: [d for d, r in results.items() if r[name].macro_recall < r[reference].macro_recall]
        for name in versions
    }
    rows.append(
        ["no domain below " + reference, "-"]
        + [("yes" if not below[n] else f"no: {len(below[n])} of {len(results)}") for n in versions]
    )
    if VAL in results:
        rows.append(
            [f"{VAL} >= {TARGET_VAL_MACRO_RECALL:.0f}", "-"]
            + [
                f"{results[VAL][n].macro_recall:.1f} "
                + ("yes" if results[VAL][n].macro_recall >= TARGET_VAL_MACRO_RECALL else "no")
                for n in versions
            ]
        )
    lines = table(header, rows)
    for name in versions:
        if below[name]:
            lines.append(f"{name} below {reference} on: {', '.join(below[name])}")
    return lines


def irony_lines(
    versions: Sequence[Version], ordinary: Sequence[LabelledTexts], irony_val: LabelledTexts | None
) -> list[str]:
    header = ["version", "threshold", *(f"flagged on {d.name}" for d in ordinary)]
    if irony_val is not None:
        header += ["irony/val recall (irony)", "macro recall"]
    rows = []
    for version in versions:
        threshold = version.irony_threshold
        row = [version.name, f"{threshold:.2f}"]
        row += [f"{100 * float(np.mean(version.predict(d).irony_prob >= threshold)):.1f} %" for d in ordinary]
        if irony_val is not None:
            flagged = version.predict(irony_val).irony_prob >= threshold
            m = classification_metrics(irony_val.labels, np.where(flagged, "irony", "not_irony"), IRONY)
            row += [f"{m.per_class_recall['irony']:.1f}", f"{m.macro_recall:.1f}"]
        rows.append(row)
    return table(header, rows)


def emotion_lines(
    versions: Sequence[Version], emotion_val: LabelledTexts | None, contrast: LabelledTexts
) -> list[str]:
    """Per version: macro-F1 on emotion/val, and on the contrast set's held-out opinions the
    accuracy against its emotion column and the share whose emotion contradicts their sentiment."""
    sentiment_of = dict(zip(contrast.texts, contrast.labels, strict=True))
    every = datasets.contrast_emotion("held_out")  # the rows of ``contrast`` (a --limit subset) only
    kept = [(t, e) for t, e in zip(every.texts, every.labels, strict=True) if t in sentiment_of]
    emotions = LabelledTexts([t for t, _ in kept], [e for _, e in kept], every.name)
    header = ["version"] + (["emotion/val macro-F1"] if emotion_val is not None else [])
    header += [f"{emotions.name} accuracy", "contrary to the sentiment"]
    rows = []
    for version in versions:
        row = [version.name]
        if emotion_val is not None:
            m = classification_metrics(emotion_val.labels, version.predict(emotion_val).emotion, EMOTION)
            row.append(f"{m.macro_f1:.1f}")
        served = version.predict(emotions).emotion
        m = classification_metrics(emotions.labels, served, EMOTION)
        contrary = [
            e in CONTRARY_EMOTIONS[sentiment_of[t]] for t, e in zip(emotions.texts, served, strict=True)
        ]
        row += [f"{m.accuracy:.1f}", f"{100 * float(np.mean(contrary)):.1f} %"]
        rows.append(row)
    return table(header, rows)


@dataclass(frozen=True)
class IntentScores:
    """Percentages over the held-back rows, intents as served (no intent counts as wrong)."""

    accuracy: float
    macro_f1: float
    accuracy_answered: float | None  # on the rows that got an intent; None when none did
    no_intent: float


def intent_scores(
    truth: Sequence[str], intent: np.ndarray, intent_prob: np.ndarray, min_confidence: float
) -> IntentScores:
    nulls = intent_nulls(intent, intent_prob, min_confidence)
    served = np.where(nulls, NO_INTENT, np.asarray(intent, dtype=object)).astype(str)
    m = classification_metrics(truth, served, sorted(set(truth)))
    answered = ~nulls
    right = served == np.asarray(truth)
    return IntentScores(
        accuracy=m.accuracy,
        macro_f1=m.macro_f1,
        accuracy_answered=100 * float(np.mean(right[answered])) if answered.any() else None,
        no_intent=100 * float(np.mean(nulls)),
    )


def intent_lines(versions: Sequence[Version], held_out: LabelledTexts, ordinary: LabelledTexts) -> list[str]:
    """Per version: :class:`IntentScores` on the held-back rows and the no-intent share on tweets."""
    intents = set(held_out.labels)
    header = [
        "version",
        "min confidence",
        "accuracy",
        "macro-F1",
        "accuracy answered",
        "no intent: held-back",
        f"no intent: {ordinary.name}",
    ]
    rows, notes = [], []
    for version in versions:
        head = version.loaded.label_maps["intent"]
        floor = version.intent_min_confidence
        tweets = version.predict(ordinary)
        tweet_nulls = f"{100 * float(np.mean(intent_nulls(tweets.intent, tweets.intent_prob, floor))):.1f} %"
        if not intents & set(head):
            notes.append(
                f"{version.name}: its intent head ({len(head)} labels, e.g. {head[0]}) has none of the "
                f"{len(intents)} Bitext intents"
            )
            rows.append([version.name, f"{floor:.2f}", "-", "-", "-", "-", tweet_nulls])
            continue
        out = version.predict(held_out)
        scores = intent_scores(held_out.labels, out.intent, out.intent_prob, floor)
        answered = "-" if scores.accuracy_answered is None else f"{scores.accuracy_answered:.1f}"
        rows.append(
            [
                version.name,
                f"{floor:.2f}",
                f"{scores.accuracy:.1f}",
                f"{scores.macro_f1:.1f}",
                answered,
                f"{scores.no_intent:.1f} %",
                tweet_nulls,
            ]
        )
    return table(header, rows) + notes


def timing_lines(systems: Sequence[System]) -> list[str]:
    header = ["system", "dtype", "setup s", "scoring s", "texts", "texts/s"]
    rows = [
        [
            s.name,
            s.dtype,
            f"{s.setup_seconds:.1f}",
            f"{s.scoring_seconds:.1f}",
            str(s.texts),
            f"{s.texts / s.scoring_seconds:.0f}" if s.scoring_seconds > 0 else "-",
        ]
        for s in systems
    ]
    return table(header, rows)


@dataclass(frozen=True)
class Suite:
    domains: list[LabelledTexts]  # sentiment, the first is sentiment/val
    irony: LabelledTexts | None = None
    intents: LabelledTexts | None = None  # the held-back Bitext rows
    emotion: LabelledTexts | None = None  # emotion/val


def report(suite: Suite, systems: Sequence[System], reference: str) -> Iterator[str]:
    """Every section's lines, yielded as each is measured."""
    versions = [s for s in systems if isinstance(s, Version)]
    results: dict[str, dict[str, Metrics]] = {}
    for data, by_system in sentiment_results(suite.domains, systems):
        results[data.name] = by_system
        yield section(f"sentiment: {data.name}, {len(data)} texts")
        yield format_comparison(by_system)
    if versions:
        yield section(f"verdict: each version against {reference}")
        yield from verdict_lines(results, reference, [v.name for v in versions])
        ordinary = [d for d in suite.domains if d.name in ORDINARY]
        yield section("irony: share flagged (P(irony) >= the version's threshold) on ordinary tweets")
        yield from irony_lines(versions, ordinary, suite.irony)
        contrast = next((d for d in suite.domains if d.name == "contrast/held_out"), None)
        if contrast is not None:
            yield section("emotion: emotion/val, and the contrast set's held-out opinions")
            yield from emotion_lines(versions, suite.emotion, contrast)
        tweets = next((d for d in suite.domains if d.name == VAL), None)
        if suite.intents is not None and tweets is not None:
            yield section(f"support intents: {len(suite.intents)} held-back Bitext rows (never trained on)")
            yield from intent_lines(versions, suite.intents, tweets)
    yield section("wall time per system")
    yield machine_line(
        str(versions[0].loaded.device) if versions else "cpu", versions[0].dtype if versions else None
    )
    yield from timing_lines(systems)


# --- assembling a run ---------------------------------------------------------------------------


def load_suite(limit: int | None) -> Suite:
    """The evaluation data; sentiment/val is required (DatasetMissing), the rest skip with a message."""
    domains = [subset(datasets.sentiment("val"), limit)]
    optional: list[tuple[str, Callable[[], LabelledTexts]]] = [
        ("reviews", datasets.reviews),
        # 96 % of the brand tweets are in sentiment/train, which the default and the TF-IDF
        # baseline train on: only the rest measures anything.
        ("brands", lambda: datasets.unseen(datasets.brands(), datasets.sentiment("train"))),
        *((f"rated/{name}", lambda name=name: datasets.rated(name)) for name in datasets.RATED_FILES),
    ]
    # The project's own held-out expectation sentences (models/contrast): they ship with the code.
    domains.append(subset(datasets.contrast("held_out"), limit))
    for name, reader in optional:
        try:
            domains.append(subset(reader(), limit))
        except datasets.DatasetMissing as exc:
            print(f"{name}: skipped ({exc})", flush=True)
    irony_val: LabelledTexts | None = None
    held_out: LabelledTexts | None = None
    try:
        irony_val = subset(datasets.irony("val"), limit)
    except datasets.DatasetMissing as exc:
        print(f"irony/val: skipped ({exc})", flush=True)
    try:
        held_out = subset(datasets.support_intent_split()[1], limit)
    except datasets.DatasetMissing as exc:
        print(f"support intents: skipped ({exc})", flush=True)
    emotion_val: LabelledTexts | None = None
    try:
        emotion_val = subset(datasets.emotion("val"), limit)
    except datasets.DatasetMissing as exc:
        print(f"emotion/val: skipped ({exc})", flush=True)
    return Suite(domains, irony_val, held_out, emotion_val)


def cold_start_builder() -> tuple[Callable[..., Any], str]:
    """The function that builds the frozen-feature cold start, and its name."""
    from models.build_default import build_cold_start

    return build_cold_start, "models.build_default.build_cold_start"


def cold_start_arguments() -> dict[str, Any]:
    """Keyword arguments of the build besides the output directory."""
    return {
        "backbone": ModelSettings.from_env().backbone,
        "sentiment_mode": "weak",
        "version": "cold-start-weak",
    }


def load_version(
    name: str, path: Path, args: argparse.Namespace, warm_up: Sequence[str], about: str = ""
) -> Version:
    """Load ``path`` and run it once on ``warm_up`` (first-call allocations and kernel selection
    belong to the setup time, not to the first dataset's)."""
    started = time.perf_counter()
    model = load_model(path, device=args.device)
    model.predict(warm_up, batch_size=args.batch_size)
    return Version(
        name,
        f"{path}, version {model.version}{about}",
        setup_seconds=time.perf_counter() - started,
        dtype=str(model.dtype).removeprefix("torch."),
        model=model,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small subsets: a smoke run, not the figures")
    parser.add_argument("--limit", type=int, default=None, help="N evenly spaced rows of each evaluation set")
    parser.add_argument(
        "--version",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a candidate version (repeatable)",
    )
    parser.add_argument(
        "--cold-start", type=Path, default=None, metavar="DIR", help="an already built cold start"
    )
    parser.add_argument("--device", default=None, help="default: CUDA when present, else CPU")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("LISTENING_TORCH_THREADS", str(os.cpu_count() or 2))  # before any model loads
    limit = args.limit if args.limit is not None else (QUICK_ROWS if args.quick else None)
    for path in [*args.version, *([args.cold_start] if args.cold_start else [])]:
        if not (path / "manifest.json").is_file():
            parser.error(f"{path} is not a model version directory (no manifest.json)")

    try:
        train = datasets.sentiment("train")
        suite = load_suite(limit)
    except datasets.DatasetMissing as exc:
        print(f"skipped: {exc}")
        return 0
    if args.quick:
        train = subset(train, QUICK_TRAIN_ROWS)

    started = time.perf_counter()
    vader = Baseline(
        "VADER",
        "the lexicon (compound >= 0.05 positive, <= -0.05 negative)",
        scorer=lambda texts: (vader_labels(texts), None),
    )
    tfidf = fit_tfidf_lr(train, suite.domains[0], progress=not args.no_progress)
    reference = Baseline(
        "TF-IDF+LR",
        f"word 1-2-gram TF-IDF + LR, class_weight balanced, on {tfidf.train_rows} rows of sentiment/train, "
        f"C={tfidf.c} chosen on {VAL}",
        setup_seconds=time.perf_counter() - started,
        scorer=tfidf.score,
    )
    systems: list[System] = [vader, reference]
    warm_up = suite.domains[0].texts[: args.batch_size]
    work = Path(tempfile.mkdtemp(prefix="quality-bench-"))
    try:
        if args.cold_start:
            systems.append(load_version("cold start", args.cold_start, args, warm_up))
        elif args.quick:
            print("cold start: not built under --quick (pass --cold-start DIR to include one)", flush=True)
        else:
            print("cold start: building (frozen features + LR heads, a few minutes) ...", flush=True)
            started = time.perf_counter()
            builder, how = cold_start_builder()
            builder(work / "cold-start", **cold_start_arguments())
            built = time.perf_counter() - started
            version = load_version(
                "cold start", work / "cold-start", args, warm_up, f", built by {how} in {built:.0f} s"
            )
            version.setup_seconds += built
            systems.append(version)
        systems.append(load_version("default", Path(DEFAULT_MODEL_DIR), args, warm_up))
        for i, path in enumerate(args.version, start=1):
            systems.append(load_version(f"v{i}", path, args, warm_up))

        print(f"quality benchmark{' (--quick: subsets, not the figures)' if args.quick else ''}")
        for system in systems:
            print(f"  {system.name:<11} {system.about}")
        for row in report(suite, systems, reference.name):
            print(row, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
