from __future__ import annotations

from pathlib import Path

import pytest

from models import datasets
from models.labels import EMOTION, IRONY, SENTIMENT


def test_readers_match_the_data_readme(shared_data: Path) -> None:
    assert len(datasets.sentiment("val")) == 2000
    assert len(datasets.sentiment("train")) == 47480
    assert set(datasets.sentiment("val").labels) == set(SENTIMENT)
    assert (len(datasets.emotion("train")), len(datasets.emotion("val"))) == (3257, 374)
    assert set(datasets.emotion("val").labels) == set(EMOTION)
    assert (len(datasets.irony("train")), len(datasets.irony("val"))) == (2862, 955)
    assert set(datasets.irony("val").labels) == set(IRONY)
    intent = datasets.intent()
    assert len(intent) == 10003 and set(intent.labels) == set(datasets.intent_labels())
    assert len(datasets.intent_labels()) == 77


def test_domain_sets_fold_to_three_classes(shared_data: Path) -> None:
    brands = datasets.brands()
    assert len(brands) == 4233 and set(brands.labels) == set(SENTIMENT)
    reviews = datasets.reviews()
    assert 1400 < len(reviews) <= 1499 and set(reviews.labels) == set(SENTIMENT)
    assert all(text.strip() for text in reviews.texts)


def test_brand_tweets_unseen_by_the_training_pool(shared_data: Path) -> None:
    """Scoring on the brand tweets a model trained on sentiment/train never saw."""
    train = datasets.sentiment("train")
    fresh = datasets.unseen(datasets.brands(), train)
    assert len(fresh) == 4233 - 4045 and fresh.name == "brands/unseen"
    keys = {datasets.text_key(t) for t in train.texts}
    assert not any(datasets.text_key(t) in keys for t in fresh.texts)
    assert datasets.text_key("Loving the new @Nike  shoes!!") == datasets.text_key(
        "loving the new nike shoes "
    )


def test_quoted_fields_are_unquoted(shared_data: Path) -> None:
    texts = datasets.sentiment("val").texts
    assert (
        '"National hot dog day, national tequila day, then national dance day... Sounds like a Friday night."'
        in texts
    )


def test_missing_folder_raises_dataset_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTENING_DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(datasets.DatasetMissing, match="LISTENING_DATA_DIR"):
        datasets.sentiment("val")


def test_tsv_without_label_and_text_columns_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="columns"):
        datasets.read_label_text_tsv(path)


def test_bad_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="split"):
        datasets.sentiment("test")


def test_the_contrast_set_ships_with_the_code_and_its_halves_share_no_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTENING_DATA_DIR", str(tmp_path / "absent"))  # no data folder needed
    train, held_out = datasets.contrast("train"), datasets.contrast("held_out")
    assert (len(train), len(held_out)) == (801, 244)
    assert set(train.labels) == set(held_out.labels) == set(SENTIMENT)
    # The emotion column: every opinion carries one, no neutral sentence does.
    for split, data in (("train", train), ("held_out", held_out)):
        emotion = datasets.contrast_emotion(split)
        assert set(emotion.labels) == {"joy", "sadness", "anger"}
        assert len(emotion) == sum(label != "neutral" for label in data.labels)
    train_emotion = datasets.contrast_emotion("train")
    emotions = dict(zip(train_emotion.texts, train_emotion.labels, strict=True))
    assert emotions["Could have been better. The strap feels cheap."] == "sadness"  # a letdown
    assert emotions["Runs a size small, had to send it back."] == "anger"  # a plain fault
    assert emotions["Better than expected!"] == "joy"
    # No sentence of one half in the other, and none of the held-out half's products either:
    # the held-out half measures the construction, not the fillers.
    keys = {datasets.text_key(t) for t in train.texts}
    assert not keys & {datasets.text_key(t) for t in held_out.texts}
    assert not any(product in text for product in ("parka", "kettle", "drone") for text in train.texts)
    with pytest.raises(ValueError, match="split"):
        datasets.contrast("test")
