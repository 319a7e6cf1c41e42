from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.artifacts import ArtifactError
from models.inference import MAX_CHARS, ListeningModel, load_model
from models.labels import EMOTION, SENTIMENT
from models.settings import DEFAULT_MODEL_DIR

TEXTS = [
    "I absolutely love my new phone, the camera is amazing!",
    "Worst customer service ever. Still waiting on my refund, so angry.",
    "The store opens at 9am on Saturday.",
    "My card still hasn't arrived after two weeks, what should I do?",
    "ok",
]


def test_predict_shapes_and_label_maps(default_model: ListeningModel) -> None:
    out = default_model.predict(TEXTS)
    n, d = len(TEXTS), default_model.embedding_dim
    assert len(out) == n
    assert out.sentiment_probs.shape == (n, 3) and out.sentiment_probs.dtype == np.float32
    assert out.emotion_probs.shape == (n, 4)
    assert out.irony_prob.shape == (n,) and out.intent.shape == (n,) and out.intent_prob.shape == (n,)
    assert out.embedding.shape == (n, d) and out.embedding.dtype == np.float32
    assert d == 384
    np.testing.assert_allclose(out.sentiment_probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out.emotion_probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out.embedding, axis=1), 1.0, atol=1e-5)
    assert ((out.irony_prob >= 0) & (out.irony_prob <= 1)).all()
    maps = default_model.label_maps
    assert maps["sentiment"] == SENTIMENT and maps["emotion"] == EMOTION
    assert maps["irony"] == ("not_irony", "irony") and len(maps["intent"]) == 77
    assert set(out.sentiment) <= set(SENTIMENT) and set(out.emotion) <= set(EMOTION)
    assert set(out.intent) <= set(maps["intent"])
    # Labels are the argmax of the probabilities they come with.
    assert list(out.sentiment) == [SENTIMENT[i] for i in out.sentiment_probs.argmax(axis=1)]


def test_predictions_make_sense(default_model: ListeningModel) -> None:
    out = default_model.predict(TEXTS)
    assert out.sentiment[0] == "positive"
    assert out.sentiment[1] == "negative"
    assert out.intent[3] == "card_arrival"


def test_outputs_do_not_depend_on_batching_or_order(default_model: ListeningModel) -> None:
    whole = default_model.predict(TEXTS, batch_size=64)
    one_by_one = default_model.predict(TEXTS, batch_size=1)
    reversed_ = default_model.predict(TEXTS[::-1], batch_size=2)
    # bf16 kernels may round differently for different batch shapes: compare with a tolerance.
    np.testing.assert_allclose(whole.sentiment_probs, one_by_one.sentiment_probs, atol=3e-2)
    np.testing.assert_allclose(whole.embedding, reversed_.embedding[::-1], atol=3e-2)
    assert list(whole.sentiment) == list(one_by_one.sentiment) == list(reversed_.sentiment[::-1])


def test_deterministic_repeat(default_model: ListeningModel) -> None:
    first = default_model.predict(TEXTS)
    second = default_model.predict(TEXTS)
    np.testing.assert_array_equal(first.sentiment_probs, second.sentiment_probs)
    np.testing.assert_array_equal(first.embedding, second.embedding)


def test_empty_input_gives_empty_arrays(default_model: ListeningModel) -> None:
    out = default_model.predict([])
    assert len(out) == 0
    assert out.sentiment_probs.shape == (0, 3)
    assert out.embedding.shape == (0, default_model.embedding_dim)
    assert out.sentiment.shape == (0,) and out.intent_prob.shape == (0,)


def test_empty_and_whitespace_texts_are_scored(default_model: ListeningModel) -> None:
    out = default_model.predict(["", "   ", "\n"])
    assert out.sentiment_probs.shape == (3, 3)
    assert np.isfinite(out.embedding).all()


def test_huge_text_is_truncated(default_model: ListeningModel) -> None:
    huge = "terrible awful product " * 50_000  # ~1 MB
    out = default_model.predict([huge, "fine"])
    assert out.sentiment_probs.shape == (2, 3)
    # Only the first max_length tokens count: the huge text scores like its own opening.
    opening = default_model.predict([huge[:MAX_CHARS]])
    np.testing.assert_allclose(out.sentiment_probs[0], opening.sentiment_probs[0], atol=3e-2)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("a single string", TypeError),
        (b"bytes", TypeError),
        (["fine", None], TypeError),
        (["fine", 42], TypeError),
        (None, TypeError),
        ({"a": 1}, TypeError),
    ],
)
def test_bad_input_raises_clear_errors(default_model: ListeningModel, bad: object, error: type) -> None:
    with pytest.raises(error, match="str"):
        default_model.predict(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size(default_model: ListeningModel, batch_size: object) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        default_model.predict(["x"], batch_size=batch_size)  # type: ignore[arg-type]


def test_load_model_is_cached_per_process(default_model: ListeningModel) -> None:
    assert load_model(DEFAULT_MODEL_DIR, device="cpu") is default_model
    assert default_model.version == default_model.manifest["version"]


def test_int8_quantised_model_agrees(default_model: ListeningModel) -> None:
    quantised = load_model(DEFAULT_MODEL_DIR, device="cpu", dtype="float32", quantize="int8")
    assert quantised.quantized
    texts = TEXTS[:3]
    np.testing.assert_array_equal(quantised.predict(texts).sentiment, default_model.predict(texts).sentiment)


@pytest.mark.parametrize(
    "kwargs", [{"dtype": "float8"}, {"quantize": "int4"}, {"max_length": 2}, {"device": "tpu:0"}]
)
def test_load_model_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        load_model(DEFAULT_MODEL_DIR, **kwargs)


def test_load_model_rejects_a_directory_that_is_not_a_version(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError):
        load_model(tmp_path, device="cpu")
