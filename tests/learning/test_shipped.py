"""The general check set and replay sample shipped with the default version: what they hold, that the
manifest's checksums cover them, and the messages when one is missing or damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import datasets
from models.artifacts import MANIFEST, read_manifest, write_manifest
from models.labels import SENTIMENT
from models.settings import DEFAULT_MODEL_DIR
from models.shipped import (
    CHECK_FILE,
    GENERAL_SETS_HOME,
    REPLAY_FILE,
    GeneralSetError,
    read_check_set,
    read_replay_sample,
    write_general_sets,
)
from models.training.data import normalise_text
from models.version import copy_model_version


def test_the_default_version_ships_a_small_licensed_check_set_and_replay_sample() -> None:
    assert GENERAL_SETS_HOME == DEFAULT_MODEL_DIR
    manifest = read_manifest(DEFAULT_MODEL_DIR, verify=True)  # every shipped file matches its checksum
    check, replay = read_check_set(DEFAULT_MODEL_DIR), read_replay_sample(DEFAULT_MODEL_DIR)
    summary = manifest["general_sets"]
    assert (len(check), len(replay)) == (summary["check"]["rows"], summary["replay"]["rows"]) == (1200, 3000)
    assert set(check.labels) == set(replay.labels) == set(SENTIMENT)
    assert {label: check.labels.count(label) for label in SENTIMENT} == dict.fromkeys(SENTIMENT, 400)
    assert not {normalise_text(t) for t in check.texts} & {normalise_text(t) for t in replay.texts}
    for source in summary["licences"].values():  # each licence file beside the rows, covered by checksums
        assert source["file"] in manifest["files"] and (DEFAULT_MODEL_DIR / source["file"]).is_file()
    assert "MIT" in (DEFAULT_MODEL_DIR / "data/LICENSE_vaderSentiment_MIT.txt").read_text()
    assert "Women's E-Commerce Clothing Reviews, CC0" in (
        DEFAULT_MODEL_DIR / "data/LICENSE_clothing_reviews_CC0.txt"
    ).read_text(encoding="utf-8")
    size = sum(path.stat().st_size for path in (DEFAULT_MODEL_DIR / "data").iterdir())
    assert size < 1_500_000


def test_the_shipped_files_are_what_the_build_writes_and_hold_no_twitter_terms_rows(
    tmp_path: Path, shared_data: Path
) -> None:
    summary = write_general_sets(tmp_path, root=shared_data)
    for relative in (CHECK_FILE, REPLAY_FILE):  # deterministic: the build reproduces them byte for byte
        assert (tmp_path / relative).read_bytes() == (DEFAULT_MODEL_DIR / relative).read_bytes()
    assert summary == read_manifest(DEFAULT_MODEL_DIR)["general_sets"]
    # Only the permissive sources: nothing of sentiment/train.tsv or val.tsv (Twitter's terms).
    shipped: set[str] = set()
    for relative in (CHECK_FILE, REPLAY_FILE):
        rows = datasets.read_label_text_tsv(tmp_path / relative)
        shipped |= {normalise_text(t) for t in rows.texts}
    twitter = {normalise_text(t) for split in ("train", "val") for t in datasets.sentiment(split).texts}
    assert len(shipped) == 4200 and not shipped & twitter
    sources = {
        row.split("\t")[-1]
        for relative in (CHECK_FILE, REPLAY_FILE)
        for row in (tmp_path / relative).read_text(encoding="utf-8").splitlines()[1:]
    }
    assert sources == {"rated/tweets", "reviews", "contrast"}
    # The contrast set's held-out half is never shipped: it stays a fair test of every version.
    held_out = {normalise_text(t) for t in datasets.contrast("held_out").texts}
    assert not shipped & held_out


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "version"
    copy_model_version(DEFAULT_MODEL_DIR, target)
    return target


def test_a_damaged_check_set_is_refused_with_a_clear_message(copy: Path) -> None:
    path = copy / CHECK_FILE
    path.write_text(path.read_text(encoding="utf-8") + "positive\tbest phone ever\trated/tweets\n")
    with pytest.raises(
        GeneralSetError, match=r"general check set .* is damaged .*does not match its checksum"
    ):
        read_check_set(copy)
    assert len(read_replay_sample(copy)) == 3000  # the other file is still fine


def test_a_missing_replay_sample_is_refused_with_a_clear_message(copy: Path) -> None:
    (copy / REPLAY_FILE).unlink()
    with pytest.raises(GeneralSetError, match=r"replay sample .* is missing .*reinstall"):
        read_replay_sample(copy)


def test_a_version_without_shipped_sets_or_with_a_damaged_manifest_is_refused(
    copy: Path, tmp_path: Path
) -> None:
    for relative in (CHECK_FILE, REPLAY_FILE):
        (copy / relative).unlink()
    manifest = read_manifest(copy, verify=False)
    write_manifest(copy, {k: v for k, v in manifest.items() if k not in ("files", "checksum")})
    with pytest.raises(GeneralSetError, match="carries no general check set"):
        read_check_set(copy)

    edited = json.loads((copy / MANIFEST).read_text())
    edited["files"]["heads.safetensors"] = "0" * 64
    (copy / MANIFEST).write_text(json.dumps(edited))
    with pytest.raises(GeneralSetError, match=r"manifest .* is damaged"):
        read_check_set(copy)
    with pytest.raises(GeneralSetError, match="model version is missing or damaged"):
        read_check_set(tmp_path / "nowhere")
