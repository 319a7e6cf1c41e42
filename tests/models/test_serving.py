"""What a served prediction shows: the manifest's serving thresholds and the intent rule (pure)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models.artifacts import ArtifactError
from models.serving import DEFAULT_SERVING, ServingThresholds, is_question, served_intents, shows_intent


def test_a_version_without_a_serving_block_gets_the_documented_defaults() -> None:
    assert ServingThresholds.from_manifest({}) == DEFAULT_SERVING
    assert ServingThresholds(intent_min_confidence=0.5, irony_threshold=0.5) == DEFAULT_SERVING


def test_the_serving_block_is_read_and_missing_keys_default() -> None:
    both = ServingThresholds.from_manifest(
        {"serving": {"intent_min_confidence": 0.42, "irony_threshold": 0.9}}
    )
    assert both == ServingThresholds(intent_min_confidence=0.42, irony_threshold=0.9)
    one = ServingThresholds.from_manifest({"serving": {"irony_threshold": 1}})
    assert one == ServingThresholds(intent_min_confidence=0.5, irony_threshold=1.0)


@pytest.mark.parametrize(
    "serving",
    [
        [0.5, 0.5],
        "0.5",
        {"intent_min_confidence": "0.5"},
        {"intent_min_confidence": True},
        {"irony_threshold": 1.5},
        {"irony_threshold": -0.1},
        {"intent_min_confidence": None},
    ],
)
def test_a_malformed_serving_block_is_an_artifact_error(serving: Any) -> None:
    with pytest.raises(ArtifactError, match="serving"):
        ServingThresholds.from_manifest({"serving": serving})


def test_served_intents_abstain_on_the_none_label_and_below_the_threshold() -> None:
    labels = ("none", "track_order", "get_refund")
    probs = np.array(
        [
            [0.90, 0.05, 0.05],  # the head abstains
            [0.10, 0.55, 0.35],  # confident enough
            [0.30, 0.45, 0.25],  # top label below the threshold
            [0.00, 0.50, 0.50],  # a tie at the threshold: the first, served (>=)
        ],
        dtype=np.float32,
    )
    intent, top_prob = served_intents(probs, labels, 0.5)
    assert list(intent) == [None, "track_order", None, "track_order"]
    np.testing.assert_allclose(top_prob, [0.90, 0.55, 0.45, 0.50])
    # A version from before the abstention class: only the confidence rule.
    intent, _ = served_intents(probs[:, 1:], ("track_order", "get_refund"), 0.5)
    assert list(intent) == [None, "track_order", None, "track_order"]
    empty, empty_prob = served_intents(np.zeros((0, 3), dtype=np.float32), labels, 0.5)
    assert empty.shape == empty_prob.shape == (0,)


@pytest.mark.parametrize(
    "text",
    [
        "Does the tent come in green?",
        "my order never came ?",
        "How do I reset my password",
        "how long does delivery take to Ireland",
        "@northwindoutdoor where is my parcel",
        "Where's my refund",
        "hi, can you help me with my order",
        "Hi I need a new invoice",
        "I want to cancel my order",
        "Hello Northwind! I'd like to change my address.",
        "Ordered last week. Where is it",
        "please refund the second payment",
        "Anyone know when the sale starts",
        "Is there a way to track my order",
        "Is the store open on Sunday",
        "Do you ship to Ireland",
        "RT @bob: does anyone know how to return this",
        "I'm trying to log in since this morning",
        "\u201cwhere is my order\u201d",  # curly quotes
        "why\u2019s it late",  # curly apostrophe
        "hey\u2014can you help",
        "is it waterproof\uff1f",  # full-width question mark
    ],
)
def test_questions_and_requests(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "Love my new Northwind jacket, kept me dry all weekend!",
        "What a day! Summit reached at last.",
        "When I got home the parcel was waiting.",
        "Can't wait for the weekend!",
        "Had a great time hiking with the club.",
        "Was a great hike today",
        "However, it rained all day.",
        "Whatever happens, happens.",
        "Helpful staff, 10/10.",
        "The zipper on my StormShell jacket snapped. Unacceptable.",
        "New photos up https://photos.example.com/view?id=123&size=large",
        "It is what it is.",
        "",
    ],
)
def test_statements_are_not_questions(text: str) -> None:
    assert not is_question(text)


def test_intent_is_shown_for_support_text_questions_and_complaints_only() -> None:
    statement = "Changed the delivery address on order 4417 to 12 Elm Street."
    assert not shows_intent(statement, support=False, sentiment="neutral")
    assert not shows_intent(statement, support=False, sentiment="positive")
    assert shows_intent(statement, support=True, sentiment="neutral")  # a support transcript
    assert shows_intent(statement, support=False, sentiment="negative")  # a complaint
    assert shows_intent("Can I change the address on my order", support=False, sentiment="neutral")
