"""The general check set and replay sample shipped inside a model version (no torch, no Django).

A user's machine has no development data folder, so the shipped default version carries what the
continual-learning loop needs from outside an organization's own labels::

    data/check.tsv       ~1,200 rows the gate scores every candidate and its parent on, and the
                         temperature refit after training reads (never trained on)
    data/replay.tsv      3,000 rows replayed in every cycle, beside the organization's earlier
                         labels, so a cycle on a few hundred new labels does not forget the rest
                         (the expectation contrast set included: what the default learnt beyond
                         tweets is what a cycle would forget first)
    data/LICENSE_*.txt   the licence of each source, beside the rows taken from it
    data/SOURCES.txt     what the files are and where their rows come from

Both TSVs have ``label``, ``text`` and ``source`` columns (``label`` negative/neutral/positive). The
rows come from the permissively licensed files of the data folder only, VADER's human-rated tweets
(MIT) and the clothing reviews (CC0), and, in the replay sample only, from the project's own
expectation contrast set (``models/contrast/train.tsv``; its held-out half is never shipped here,
so it stays a fair test of every later version). Nothing of sentiment/train.tsv or
sentiment/val.tsv (Twitter's terms) and nothing of support/ is ever written here.

Where the loop finds them: in the shipped default (:data:`GENERAL_SETS_HOME`), the root of every
lineage and always installed. A trained version directory may carry a ``data/`` of the same format,
but the cycle does not read it: one fixed yardstick for every cycle of every organization keeps the
gate's figures on the registry rows comparable, and trained versions need not copy the files.

:func:`write_general_sets` builds the files (``python -m models.build_default`` calls it on the
staged version directory before writing the manifest, so the manifest's checksums cover them);
:func:`read_check_set` and :func:`read_replay_sample` read them back, each file verified against
its checksum in the version's manifest.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models import datasets
from models.artifacts import ArtifactError, file_sha256, files_checksum, read_manifest
from models.datasets import LabelledTexts
from models.labels import SENTIMENT
from models.settings import DEFAULT_MODEL_DIR, data_dir
from models.training.data import normalise_text

FORMAT = "listening-general-sets/1"
DATA_DIR = "data"
CHECK_FILE = f"{DATA_DIR}/check.tsv"
REPLAY_FILE = f"{DATA_DIR}/replay.tsv"
SOURCES_FILE = f"{DATA_DIR}/SOURCES.txt"
VADER_LICENCE = "LICENSE_vaderSentiment_MIT.txt"
REVIEWS_LICENCE = "LICENSE_clothing_reviews_CC0.txt"
CONTRAST_LICENCE = "NOTICE_contrast_Apache-2.0.txt"
SEED = 17

# The shipped default: where the loop reads the general sets from (see the module docstring).
GENERAL_SETS_HOME = DEFAULT_MODEL_DIR

# Rows per source. Both files are drawn as class-balanced as each source allows (see _balanced):
# the check set exactly (the gate's per-class rule then reads 400 rows of each class, where the
# sources' own mix would give a few dozen neutral tweets and negative reviews), the replay sample
# from what the check set left. 3,000 replay rows: the default LEARNING_REPLAY_SIZE, the size that
# held val in the measured cycles (docs/learning.md).
CHECK_ROWS = {"rated/tweets": 900, "reviews": 300}
REPLAY_ROWS = {"rated/tweets": 2100, "reviews": 600, "contrast": 300}

REVIEWS_NOTICE = """\
Women's E-Commerce Clothing Reviews, CC0

The rows of check.tsv and replay.tsv whose source is "reviews" (a review's title and text, its
1-5 rating folded to negative 1-2 / neutral 3 / positive 4-5) come from the Women's E-Commerce
Clothing Reviews dataset, published on Kaggle under the Creative Commons CC0 1.0 Universal public
domain dedication: no rights reserved, no attribution required; the source is named as a courtesy.
https://creativecommons.org/publicdomain/zero/1.0/
"""

SOURCES_TEXT = """\
General sentiment sets shipped with this model version (label / text / source TSVs).

check.tsv   scored by the learning loop's gate on every candidate and its parent (never trained on)
replay.tsv  replayed in every fine-tuning cycle so a cycle does not forget what the parent knew

Sources (the two files share no text):
  rated/tweets  VADER sentiment ground truth, tweets_GroundTruth.txt (C.J. Hutto): tweets rated by
                at least 20 people on -4..4, folded to three classes (>= 0.5 positive, <= -0.5
                negative, else neutral). MIT licence: LICENSE_vaderSentiment_MIT.txt
  reviews       Women's E-Commerce Clothing Reviews, CC0: LICENSE_clothing_reviews_CC0.txt
  contrast      replay only: sentences about expectations met, unmet and merely stated, written for
                this project (models/contrast/train.tsv), Apache-2.0: NOTICE_contrast_Apache-2.0.txt
"""

CONTRAST_NOTICE = """\
Expectation contrast set, Apache-2.0

The rows of replay.tsv whose source is "contrast" were written for this project (templates with
slots, see models/contrast/README.md in the source tree) and are distributed under the project's
Apache License 2.0, like its code. https://www.apache.org/licenses/LICENSE-2.0
"""

LICENCES = {
    "rated/tweets": {
        "origin": "VADER sentiment ground truth, tweets_GroundTruth.txt (C.J. Hutto)",
        "licence": "MIT",
        "file": f"{DATA_DIR}/{VADER_LICENCE}",
    },
    "reviews": {
        "origin": "Women's E-Commerce Clothing Reviews",
        "licence": "CC0-1.0",
        "file": f"{DATA_DIR}/{REVIEWS_LICENCE}",
    },
    "contrast": {
        "origin": "expectation contrast set written for this project (models/contrast/train.tsv)",
        "licence": "Apache-2.0",
        "file": f"{DATA_DIR}/{CONTRAST_LICENCE}",
    },
}

REINSTALL = "reinstall the application, or rebuild the default version with `python -m models.build_default`"


class GeneralSetError(ArtifactError):
    """A version's shipped check set or replay sample is absent, damaged or malformed."""


@dataclass(frozen=True)
class _Row:
    label: str
    text: str
    source: str


def _pool(texts: LabelledTexts, source: str, seen: set[str]) -> list[_Row]:
    """The source's rows with whitespace collapsed (one line per row), each text at most once across
    every source (``seen`` is shared), so the check set and the replay sample cannot share a text."""
    rows = []
    for text, label in zip(texts.texts, texts.labels, strict=True):
        text = " ".join(text.split())
        key = normalise_text(text)
        if key and key not in seen:
            seen.add(key)
            rows.append(_Row(label, text, source))
    return rows


def _balanced(rows: list[_Row], n: int) -> tuple[list[_Row], list[_Row]]:
    """(``n`` rows as evenly spread over the classes as ``rows`` allows, the rest), in ``rows``'
    order: a class with fewer rows than its share gives all of them and the others share the
    remainder. Raises ValueError when ``rows`` has fewer than ``n``."""
    if len(rows) < n:
        raise ValueError(f"{len(rows)} rows for a set of {n}")
    by_label = Counter(row.label for row in rows)
    quota: dict[str, int] = {}
    left = n
    for i, (label, available) in enumerate(sorted(by_label.items(), key=lambda item: item[1])):
        quota[label] = min(available, left // (len(by_label) - i))
        left -= quota[label]
    chosen: list[_Row] = []
    rest: list[_Row] = []
    for row in rows:
        if quota[row.label]:
            quota[row.label] -= 1
            chosen.append(row)
        else:
            rest.append(row)
    return chosen, rest


def split_general_sets(*, root: Path | None = None) -> tuple[list[_Row], list[_Row]]:
    """(check rows, replay rows) drawn from the data folder (``root``, default ``LISTENING_DATA_DIR``)
    with a fixed seed: the same folder always gives the same files. Raises DatasetMissing."""
    seen: set[str] = set()
    pools = {
        "rated/tweets": _pool(datasets.rated("tweets", root=root), "rated/tweets", seen),
        "reviews": _pool(datasets.reviews(root=root), "reviews", seen),
    }
    contrast = _pool(datasets.contrast("train"), "contrast", seen)
    rng = random.Random(SEED)
    check: list[_Row] = []
    replay: list[_Row] = []
    for source, rows in pools.items():
        rng.shuffle(rows)
        checked, rest = _balanced(rows, CHECK_ROWS[source])
        check += checked
        replay += _balanced(rest, REPLAY_ROWS[source])[0]
    # Shuffled together, so any prefix (LEARNING_HELDOUT_LIMIT) is a fair sample of every source.
    rng.shuffle(check)
    # The contrast rows are drawn after the check set is final, which is then what it was before
    # they were added (the gate's yardstick did not move).
    rng.shuffle(contrast)
    replay += _balanced(contrast, REPLAY_ROWS["contrast"])[0]
    rng.shuffle(replay)
    return check, replay


def _write_tsv(path: Path, rows: list[_Row]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["label", "text", "source"])
        writer.writerows([row.label, row.text, row.source] for row in rows)


def _describe(rows: list[_Row], file: str) -> dict[str, Any]:
    labels = Counter(row.label for row in rows)
    return {
        "file": file,
        "rows": len(rows),
        "class_share": {label: round(labels[label] / len(rows), 4) for label in SENTIMENT},
        "sources": dict(sorted(Counter(row.source for row in rows).items())),
    }


def write_general_sets(version_dir: Path, *, root: Path | None = None) -> dict[str, Any]:
    """Write ``data/`` (check set, replay sample, licences, a SOURCES note) into ``version_dir``
    from the data folder ``root`` (default ``LISTENING_DATA_DIR``); returns the summary to record in
    the manifest (counts, class shares, sources, licences). Call it before ``write_manifest`` so
    the checksums cover the files. Raises DatasetMissing without the data folder."""
    check, replay = split_general_sets(root=root)
    licence = (root if root is not None else data_dir()) / "rated" / VADER_LICENCE
    if not licence.is_file():
        raise datasets.DatasetMissing(f"{licence} not found: the VADER rows cannot ship without it")
    target = Path(version_dir) / DATA_DIR
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    _write_tsv(Path(version_dir) / CHECK_FILE, check)
    _write_tsv(Path(version_dir) / REPLAY_FILE, replay)
    shutil.copyfile(licence, target / VADER_LICENCE)
    (target / REVIEWS_LICENCE).write_text(REVIEWS_NOTICE, encoding="utf-8")
    (target / CONTRAST_LICENCE).write_text(CONTRAST_NOTICE, encoding="utf-8")
    (Path(version_dir) / SOURCES_FILE).write_text(SOURCES_TEXT, encoding="utf-8")
    return {
        "format": FORMAT,
        "seed": SEED,
        "check": _describe(check, CHECK_FILE),
        "replay": _describe(replay, REPLAY_FILE),
        "licences": LICENCES,
    }


def _read(version_dir: Path, relative: str, what: str) -> LabelledTexts:
    """Read one shipped TSV after checking it against the version's manifest."""
    version_dir = Path(version_dir)
    try:
        manifest = read_manifest(version_dir, verify=False)
    except ArtifactError as exc:
        raise GeneralSetError(
            f"cannot read the {what}: the model version is missing or damaged ({exc}); {REINSTALL}"
        ) from exc
    files = manifest["files"]
    if files_checksum(files) != manifest["checksum"]:
        raise GeneralSetError(
            f"cannot read the {what}: the manifest of the model version at {version_dir} is damaged; "
            f"{REINSTALL}"
        )
    expected = files.get(relative)
    path = version_dir / relative
    if expected is None:
        raise GeneralSetError(
            f"the model version at {version_dir} carries no {what} ({relative}): the learning loop needs "
            f"it; {REINSTALL}"
        )
    if not path.is_file():
        raise GeneralSetError(
            f"the {what} of the model version at {version_dir} is missing ({relative}); {REINSTALL}"
        )
    if file_sha256(path) != expected:
        raise GeneralSetError(
            f"the {what} of the model version at {version_dir} is damaged ({relative} does not match its "
            f"checksum); {REINSTALL}"
        )
    try:
        data = datasets.read_label_text_tsv(path, name=what)
    except ValueError as exc:
        raise GeneralSetError(f"the {what} at {path} is malformed: {exc}") from exc
    unknown = sorted(set(data.labels) - set(SENTIMENT))
    if unknown or not len(data):
        raise GeneralSetError(
            f"the {what} at {path} is malformed: {'labels ' + str(unknown) if unknown else 'no rows'}"
        )
    return data


def read_check_set(version_dir: Path) -> LabelledTexts:
    """The general check set shipped in ``version_dir``; raises GeneralSetError when it is absent,
    does not match the manifest's checksum, or is malformed."""
    return _read(version_dir, CHECK_FILE, "general check set")


def read_replay_sample(version_dir: Path) -> LabelledTexts:
    """The replay sample shipped in ``version_dir``; raises GeneralSetError like :func:`read_check_set`."""
    return _read(version_dir, REPLAY_FILE, "replay sample")
