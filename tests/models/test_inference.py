from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models import datasets
from models.artifacts import ArtifactError
from models.evaluation import classification_metrics
from models.inference import MAX_CHARS, ListeningModel, load_model
from models.labels import CONTRARY_EMOTIONS, EMOTION, INTENT, NO_INTENT, SENTIMENT, SUPPORT_INTENTS
from models.serving import ServingThresholds
from models.settings import DEFAULT_MODEL_DIR
from tests.models.variants import variant_version

# Measured on the shipped default (models/README.md); a few points below, so a rebuild that keeps
# the construction passes and one that forgets it does not.
CONTRAST_MIN_ACCURACY = 85.0
CONTRAST_MIN_CLASS_RECALL = 70.0
CONTRARY_EMOTION_MAX = 0.15  # v3: 9.7 % of the held-out opinions

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
    assert out.irony.shape == (n,) and out.irony.dtype == bool and out.intent.dtype == object
    assert out.embedding.shape == (n, d) and out.embedding.dtype == np.float32
    assert d == 384
    np.testing.assert_allclose(out.sentiment_probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out.emotion_probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out.embedding, axis=1), 1.0, atol=1e-5)
    assert ((out.irony_prob >= 0) & (out.irony_prob <= 1)).all()
    maps = default_model.label_maps
    assert maps["sentiment"] == SENTIMENT and maps["emotion"] == EMOTION
    assert maps["irony"] == ("not_irony", "irony") and maps["intent"] == INTENT
    assert set(out.sentiment) <= set(SENTIMENT) and set(out.emotion) <= set(EMOTION)
    assert set(out.intent) <= {*SUPPORT_INTENTS, None}  # the abstention label is never served
    # Labels are the argmax of the probabilities they come with.
    assert list(out.sentiment) == [SENTIMENT[i] for i in out.sentiment_probs.argmax(axis=1)]


def test_predictions_make_sense(default_model: ListeningModel) -> None:
    out = default_model.predict(TEXTS)
    assert out.sentiment[0] == "positive"
    assert out.sentiment[1] == "negative"


def test_expectations_met_and_unmet_read_the_way_a_marketer_reads_them(default_model: ListeningModel) -> None:
    """The held-out half of the contrast set (models/contrast): templates and fillers the default
    never trained on. The first fine-tuned default read 57.8 % of it right: "Definitely expected
    better from Arbor." positive, "It couldn't be better, honestly." negative."""
    data = datasets.contrast("held_out")
    metrics = classification_metrics(data.labels, default_model.predict(data.texts).sentiment, SENTIMENT)
    assert metrics.accuracy >= CONTRAST_MIN_ACCURACY, metrics.per_class_recall
    assert min(metrics.per_class_recall.values()) >= CONTRAST_MIN_CLASS_RECALL, metrics.per_class_recall
    # The demo community's own idiom, which is not in the contrast set.
    out = default_model.predict(
        ["Zipper on the Trailhead jacket broke after a week. Expected better for the price."]
    )
    assert out.sentiment[0] == "negative"


def test_the_emotion_of_an_opinion_agrees_with_its_sentiment(default_model: ListeningModel) -> None:
    """The contrast set's held-out opinions, read by the emotion head (which has no neutral class).
    v2, trained on tweets' emotions only, said joy or optimism for 36 of the 118 negatives ("Could
    have been better." joy) and anger or sadness for 30 of the 78 positives: 27.6 % contrary."""
    contrast = datasets.contrast("held_out")
    sentiment_of = dict(zip(contrast.texts, contrast.labels, strict=True))
    opinions = datasets.contrast_emotion("held_out")
    emotion = default_model.predict(opinions.texts).emotion
    wrong = [
        t for t, e in zip(opinions.texts, emotion, strict=True) if e in CONTRARY_EMOTIONS[sentiment_of[t]]
    ]
    assert len(wrong) <= CONTRARY_EMOTION_MAX * len(opinions), wrong[:10]
    assert default_model.predict(["Could have been better."]).emotion[0] in ("sadness", "anger")


SUPPORT_REQUESTS = [
    ("Where is my order? Tracking hasn't updated in 6 days.", {"track_order", "delivery_period"}),
    ("I want to cancel my order, I ordered the wrong size", {"cancel_order"}),
    ("How do I reset my password? I can't log in to my account", {"recover_password"}),
    ("I was charged twice for my order, please refund one payment", {"payment_issue", "get_refund"}),
]
ORDINARY_POSTS = [
    "Beautiful sunset over the lake tonight",
    "Just finished my first 10k run, legs are jelly",
    "Watching the match with friends, what a goal",
    "Coffee and a good book, perfect Sunday morning",
    "The leaves are turning gold already #autumn",
    "Happy birthday to my little sister!",
    "Loving the new album, on repeat all week",
    "Rainy Monday, staying in with soup",
]


def test_support_requests_get_their_intent(default_model: ListeningModel) -> None:
    out = default_model.predict([text for text, _ in SUPPORT_REQUESTS])
    for (text, expected), intent in zip(SUPPORT_REQUESTS, out.intent, strict=True):
        assert intent in expected, (text, intent)


def test_no_forced_intent_on_ordinary_posts(default_model: ListeningModel) -> None:
    out = default_model.predict(ORDINARY_POSTS)
    assert list(out.intent) == [None] * len(ORDINARY_POSTS), list(
        zip(ORDINARY_POSTS, out.intent, strict=True)
    )


def test_intent_is_null_where_the_head_abstains_or_is_below_the_threshold(
    default_model: ListeningModel, tmp_path: Path
) -> None:
    texts = [text for text, _ in SUPPORT_REQUESTS] + ORDINARY_POSTS + TEXTS
    shipped = default_model.predict(texts)
    # The support requests' median: the fine-tuned head is near-certain on ordinary posts ("none").
    threshold = float(np.median(shipped.intent_prob[: len(SUPPORT_REQUESTS)]))
    irony_threshold = float(np.median(shipped.irony_prob))
    model = load_model(
        variant_version(
            tmp_path / "thresholds",
            serving={"intent_min_confidence": threshold, "irony_threshold": irony_threshold},
        ),
        device="cpu",
    )
    assert model.serving == ServingThresholds(threshold, irony_threshold)
    out = model.predict(texts)
    np.testing.assert_array_equal(out.intent_prob, shipped.intent_prob)  # same head, other thresholds
    # The head's own top label, read through the uncalibrated path (temperature keeps the argmax).
    argmax = np.asarray(model.label_maps["intent"], dtype=object)[
        model.logits(texts)["intent"].argmax(axis=1)
    ]
    expected = [
        None if label == NO_INTENT or p < threshold else label
        for label, p in zip(argmax, out.intent_prob, strict=True)
    ]
    assert list(out.intent) == expected
    assert 0 < sum(i is None for i in out.intent) < len(texts)
    np.testing.assert_array_equal(out.irony, out.irony_prob >= irony_threshold)
    assert 0 < out.irony.sum() < len(texts)


def test_an_unsure_intent_head_serves_no_intent(default_model: ListeningModel, tmp_path: Path) -> None:
    texts = [text for text, _ in SUPPORT_REQUESTS]
    assert all(intent is not None for intent in default_model.predict(texts).intent)
    unsure = load_model(variant_version(tmp_path / "unsure", intent_temperature=1000.0), device="cpu")
    out = unsure.predict(texts)
    assert list(out.intent) == [None] * len(texts)
    assert (out.intent_prob < 0.1).all()  # flat: about 1/28 each
    # The other heads are untouched.
    np.testing.assert_array_equal(out.sentiment, default_model.predict(texts).sentiment)


def test_the_shipped_version_serves_its_own_thresholds(default_model: ListeningModel) -> None:
    assert default_model.serving == ServingThresholds.from_manifest(default_model.manifest)
    out = default_model.predict(TEXTS + ORDINARY_POSTS)
    np.testing.assert_array_equal(out.irony, out.irony_prob >= default_model.serving.irony_threshold)


def test_a_malformed_serving_block_refuses_to_load(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="serving"):
        load_model(variant_version(tmp_path / "bad", serving={"irony_threshold": "high"}), device="cpu")


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
