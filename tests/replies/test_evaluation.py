"""The reply gate's measurement on the packaged SmolLM2: every metric, on a few real pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from models.generation.decoder import load_decoder
from models.generation.evaluation import HeldOutPair, evaluate
from models.generation.metrics import METRICS
from models.generation.prompt import Guidelines, ReplyRequest, Turn, build_messages
from models.inference import load_model
from models.settings import DEFAULT_MODEL_DIR

GUIDE = Guidelines(brand="Northwind Outdoor", text="Warm and brief.", sign_off="- Northwind Care")
PAIRS = [
    ("My StormShell zipper broke after two weeks.", "So sorry! Send it in and we repair it free."),
    ("Where is my order NW-1042?", "Thanks for waiting! It ships tomorrow."),
]
DISTRACTORS = [
    "Our stores open at nine on weekdays.",
    "Happy hiking, and thanks for the photo!",
    "You can change the size in your account settings.",
    "The winter catalogue is out next week.",
]


def _embed(texts: Sequence[str]) -> np.ndarray:
    return load_model(DEFAULT_MODEL_DIR, device="cpu").predict(list(texts)).embedding


@pytest.mark.slow
def test_evaluate_reports_every_gate_metric_on_the_packaged_decoder() -> None:
    decoder = load_decoder(device="cpu")
    pairs = [
        HeldOutPair(build_messages(ReplyRequest(GUIDE, (Turn("customer", customer),))), agent)
        for customer, agent in PAIRS
    ]
    result = evaluate(
        decoder, pairs, embed=_embed, distractors=DISTRACTORS, candidates=4, max_new_tokens=24, seed=3
    )
    assert set(METRICS) | {"pairs"} == set(result)
    assert result["pairs"] == 2
    assert result["log_likelihood"] < 0
    for name in ("recall_at_1", "recall_at_5", "rouge_l"):
        assert 0.0 <= result[name] <= 1.0
    assert -1.0 <= result["cosine"] <= 1.0
    # Four candidates: the real reply is always in the top five.
    assert result["recall_at_5"] == 1.0
    # Seeded: the same call measures the same numbers (greedy decoding, the same distractors).
    again = evaluate(
        decoder, pairs, embed=_embed, distractors=DISTRACTORS, candidates=4, max_new_tokens=24, seed=3
    )
    assert again == pytest.approx(result)


def test_evaluate_refuses_no_pairs() -> None:
    with pytest.raises(ValueError, match="at least one"):
        evaluate(None, [], embed=_embed, distractors=[])  # type: ignore[arg-type]
