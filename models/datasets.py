"""Readers for the labelled files in the data folder (``LISTENING_DATA_DIR``, see data/README.md).

Every reader returns a :class:`LabelledTexts` whose labels are strings from the head's label set,
so the same evaluation and training code serves every file. A missing folder or file raises
:class:`DatasetMissing` (tests and benchmarks turn it into a skip with the message).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from models.settings import data_dir

csv.field_size_limit(1 << 24)


class DatasetMissing(FileNotFoundError):
    """The data folder or one of its files is absent."""


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    name: str

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int) -> LabelledTexts:
        return LabelledTexts(self.texts[:n], self.labels[:n], f"{self.name}[:{n}]")


_NON_WORD = re.compile(r"\W+")


def text_key(text: str) -> str:
    """What two copies of one tweet share: case, punctuation and spacing dropped (files of the
    same pool differ in those: ``text`` vs ``text_tweeteval_style``)."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


def unseen(data: LabelledTexts, seen: LabelledTexts) -> LabelledTexts:
    """The rows of ``data`` whose text (by :func:`text_key`) is not in ``seen``: an evaluation set
    that overlaps a training pool, scored only on what the model was not trained on."""
    known = {text_key(text) for text in seen.texts}
    rows = [(t, label) for t, label in zip(data.texts, data.labels, strict=True) if text_key(t) not in known]
    return LabelledTexts([t for t, _ in rows], [label for _, label in rows], f"{data.name}/unseen")


def _path(relative: str, root: Path | None) -> Path:
    base = root if root is not None else data_dir()
    path = base / relative
    if not path.is_file():
        raise DatasetMissing(f"{path} not found (set LISTENING_DATA_DIR to the shared data folder)")
    return path


def _rows(path: Path, delimiter: str = "\t") -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle, delimiter=delimiter)


def read_label_text_tsv(path: str | Path, *, name: str | None = None) -> LabelledTexts:
    """Any TSV with ``label`` and ``text`` columns (the evaluation input format)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetMissing(f"{path} not found")
    texts, labels = [], []
    for row in _rows(path):
        if row.get("text") is None or row.get("label") is None:
            raise ValueError(f"{path}: expected 'label' and 'text' columns")
        texts.append(row["text"])
        labels.append(row["label"].strip())
    return LabelledTexts(texts, labels, name or path.name)


def sentiment(split: str = "val", *, root: Path | None = None) -> LabelledTexts:
    """TweetEval-style sentiment: ``split`` is ``train`` (47k, SemEval 2013-16) or ``val`` (2k)."""
    if split not in ("train", "val"):
        raise ValueError("split must be 'train' or 'val'")
    return read_label_text_tsv(_path(f"sentiment/{split}.tsv", root), name=f"sentiment/{split}")


def emotion(split: str = "train", *, root: Path | None = None) -> LabelledTexts:
    if split not in ("train", "val"):
        raise ValueError("split must be 'train' or 'val'")
    return read_label_text_tsv(_path(f"emotion/{split}.tsv", root), name=f"emotion/{split}")


def irony(split: str = "train", *, root: Path | None = None) -> LabelledTexts:
    if split not in ("train", "val"):
        raise ValueError("split must be 'train' or 'val'")
    return read_label_text_tsv(_path(f"irony/{split}.tsv", root), name=f"irony/{split}")


def intent(*, root: Path | None = None) -> LabelledTexts:
    """BANKING77 support queries (one file; split it yourself for validation)."""
    rows = list(_rows(_path("intent/banking77_train.csv", root), delimiter=","))
    return LabelledTexts([r["text"] for r in rows], [r["category"] for r in rows], "intent/banking77")


def intent_labels(*, root: Path | None = None) -> list[str]:
    """The 77 BANKING77 categories in their published order."""
    labels = json.loads(_path("intent/banking77_categories.json", root).read_text())
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError("banking77_categories.json must be a list of strings")
    return labels


def support_intents(*, root: Path | None = None) -> LabelledTexts:
    """Bitext consumer-support requests: 27 intents (orders, delivery, refunds, payment, account,
    complaint...), CDLA-Sharing-1.0. One file; :func:`support_intent_split` is the fixed split."""
    rows = list(_rows(_path("intent/bitext_customer_support.csv", root), delimiter=","))
    return LabelledTexts(
        [r["text"].strip() for r in rows], [r["intent"].strip() for r in rows], "intent/bitext"
    )


SUPPORT_HELD_OUT_EVERY = 7


def support_intent_split(*, root: Path | None = None) -> tuple[LabelledTexts, LabelledTexts]:
    """(train, held-out) of :func:`support_intents`: every 7th row of each intent is held back.

    Deterministic and stratified without a random generator, so the build and the quality
    benchmark agree on which rows were never trained on.
    """
    data = support_intents(root=root)
    seen: dict[str, int] = {}
    train: tuple[list[str], list[str]] = ([], [])
    held: tuple[list[str], list[str]] = ([], [])
    for text, label in zip(data.texts, data.labels, strict=True):
        seen[label] = seen.get(label, 0) + 1
        side = held if seen[label] % SUPPORT_HELD_OUT_EVERY == 0 else train
        side[0].append(text)
        side[1].append(label)
    return (
        LabelledTexts(*train, f"{data.name}/train"),
        LabelledTexts(*held, f"{data.name}/held-out"),
    )


_FIVE_POINT = {"-2": "negative", "-1": "negative", "0": "neutral", "1": "positive", "2": "positive"}


def brands(*, root: Path | None = None) -> LabelledTexts:
    """Brand-topic tweets with sentiment folded to three classes (5-point -2..2 → neg/neu/pos).

    Most of them (4,045 of 4,233) are also in ``sentiment/train.tsv`` (the same SemEval-2017
    pool): score a model trained on that file with ``unseen(brands(), sentiment("train"))``."""
    texts, labels = [], []
    for row in _rows(_path("brands/brand_topic_tweets.tsv", root)):
        label = row["label"].strip()
        label = _FIVE_POINT.get(label, label) if row["label_scale"] == "5pt" else label
        if label not in ("negative", "neutral", "positive"):
            raise ValueError(f"brands: unexpected label {row['label']!r} ({row['label_scale']})")
        texts.append(row["text"])
        labels.append(label)
    return LabelledTexts(texts, labels, "brands")


def reviews(*, root: Path | None = None) -> LabelledTexts:
    """Clothing reviews (title + text) with the 1-5 rating folded: 1-2 negative, 3 neutral, 4-5 positive."""
    texts, labels = [], []
    for row in _rows(_path("reviews/clothing_reviews.tsv", root)):
        text = " ".join(part for part in (row["title"].strip(), row["review_text"].strip()) if part)
        if not text:
            continue
        rating = int(row["rating"])
        texts.append(text)
        labels.append("negative" if rating <= 2 else "neutral" if rating == 3 else "positive")
    return LabelledTexts(texts, labels, "reviews")


CONTRAST_DIR = Path(__file__).resolve().parent / "contrast"
CONTRAST_SPLITS = ("train", "held_out")


def _contrast_file(split: str) -> Path:
    if split not in CONTRAST_SPLITS:
        raise ValueError(f"unknown contrast split {split!r}; expected one of {CONTRAST_SPLITS}")
    return CONTRAST_DIR / f"{split}.tsv"


def contrast(split: str = "held_out") -> LabelledTexts:
    """The project's own expectation contrast set (``models/contrast``, see its README): sentiment
    sentences about expectations met, unmet and merely stated. Ships with the code, so it needs no
    data folder. ``held_out`` is never trained or tuned on."""
    return read_label_text_tsv(_contrast_file(split), name=f"contrast/{split}")


def contrast_emotion(split: str = "held_out") -> LabelledTexts:
    """The contrast set's rows that carry an emotion (its ``emotion`` column: joy for an expectation
    exceeded, sadness for one let down, anger for a plain fault; neutral rows carry none), labelled
    with it, for the emotion head."""
    rows = [row for row in _rows(_contrast_file(split)) if row.get("emotion")]
    return LabelledTexts([r["text"] for r in rows], [r["emotion"] for r in rows], f"contrast/{split}/emotion")


RATED_FILES = {
    "tweets": "rated/tweets_GroundTruth.txt",
    "movies": "rated/movieReviewSnippets_GroundTruth.txt",
    "nyt": "rated/nytEditorialSnippets_GroundTruth.txt",
}
# Mean human rating on VADER's -4..4 scale; within half a point of zero reads as neutral.
RATED_NEUTRAL_BAND = 0.5


def rated_label(rating: float) -> str:
    if rating >= RATED_NEUTRAL_BAND:
        return "positive"
    if rating <= -RATED_NEUTRAL_BAND:
        return "negative"
    return "neutral"


def rated(name: str = "tweets", *, root: Path | None = None) -> LabelledTexts:
    """VADER's ground truth (MIT): sentences rated by >= 20 people, folded to three classes by
    :func:`rated_label`. ``name`` is ``tweets``, ``movies`` or ``nyt``."""
    if name not in RATED_FILES:
        raise ValueError(f"name must be one of {sorted(RATED_FILES)}")
    texts, labels = [], []
    with _path(RATED_FILES[name], root).open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) != 3 or not parts[2].strip():
                continue
            texts.append(parts[2].strip())
            labels.append(rated_label(float(parts[1])))
    return LabelledTexts(texts, labels, f"rated/{name}")


def unlabelled_tweets(*, root: Path | None = None) -> list[str]:
    """In-domain raw text for weak supervision: the sentiment training tweets with labels dropped."""
    return sentiment("train", root=root).texts
