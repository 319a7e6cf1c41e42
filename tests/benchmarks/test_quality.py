"""The quality benchmark's core on tiny inputs: real VADER, a real TF-IDF + LR fit and the real
shipped model, so the script cannot rot between the integrator's full runs. Figures are the
benchmark's to print; these tests check that what it prints is what was measured."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from benchmarks import quality
from benchmarks.common import fit_tfidf_lr
from benchmarks.quality import Baseline, Suite, Version
from models.datasets import LabelledTexts
from models.evaluation import classification_metrics
from models.inference import load_model
from models.labels import NO_INTENT, SENTIMENT
from models.lexicon import vader_labels
from models.settings import DEFAULT_MODEL_DIR

TWEETS = LabelledTexts(
    [
        "I love this phone, the camera is great",
        "great service today, thank you so much",
        "best coffee in town, love it",
        "the store opens at nine tomorrow",
        "new update is out for the app",
        "they moved the meeting to friday",
        "worst delivery ever, the box was broken",
        "I hate waiting on hold for an hour",
        "the zipper broke after two days, awful",
    ],
    ["positive"] * 3 + ["neutral"] * 3 + ["negative"] * 3,
    "sentiment/val",
)
BRANDS = LabelledTexts(
    ["love my new nike shoes", "xbox live is down again, terrible", "apple event on tuesday"],
    ["positive", "negative", "neutral"],
    "brands/unseen",
)
IRONY = LabelledTexts(
    ["oh great, another monday", "the train is on time", "wow I just love being ignored", "lunch was fine"],
    ["irony", "not_irony", "irony", "not_irony"],
    "irony/val",
)
INTENTS = LabelledTexts(
    ["where is my order", "I want my money back", "how do I reset my password"],
    ["track_order", "get_refund", "recover_password"],
    "intent/bitext/held-out",
)


def test_subset_spans_the_file_and_keeps_the_name() -> None:
    data = LabelledTexts([str(i) for i in range(10)], ["a"] * 5 + ["b"] * 5, "sorted")
    picked = quality.subset(data, 3)
    assert picked.texts == ["0", "4", "9"]
    assert set(picked.labels) == {"a", "b"} and picked.name == "sorted"
    assert quality.subset(data, None) is data and quality.subset(data, 50) is data


def test_no_intent_follows_the_serving_rule_in_both_conventions() -> None:
    # Today predict returns the argmax label; soon None where it abstains: both are a null intent.
    intent = np.array(["track_order", NO_INTENT, None, "get_refund"], dtype=object)
    prob = np.array([0.9, 0.95, 0.2, 0.3], dtype=np.float32)
    assert quality.intent_nulls(intent, prob, 0.0).tolist() == [False, True, True, False]
    assert quality.intent_nulls(intent, prob, 0.5).tolist() == [False, True, True, True]


def test_intent_scores_count_a_null_intent_as_wrong() -> None:
    truth = ["track_order", "get_refund", "get_refund", "complaint"]
    intent = np.array(["track_order", "get_refund", "track_order", "complaint"], dtype=object)
    prob = np.array([0.9, 0.8, 0.9, 0.1])
    scores = quality.intent_scores(truth, intent, prob, 0.5)
    assert scores.no_intent == pytest.approx(25.0)  # "complaint" at 0.1 abstains
    assert scores.accuracy == pytest.approx(50.0)  # 2 of 4 right, the abstention counts as wrong
    assert scores.accuracy_answered == pytest.approx(200 / 3)
    served = ["track_order", "get_refund", "track_order", NO_INTENT]
    expected = classification_metrics(truth, served, sorted(set(truth))).macro_f1
    assert scores.macro_f1 == pytest.approx(expected)
    none_answered = quality.intent_scores(truth, intent, prob, 1.0)
    assert none_answered.accuracy_answered is None and none_answered.no_intent == 100.0


def test_verdicts_name_every_domain_below_the_reference() -> None:
    truth = ["negative", "neutral", "positive"]
    perfect = classification_metrics(truth, truth, SENTIMENT)
    one_right = classification_metrics(truth, ["negative", "negative", "negative"], SENTIMENT)
    results = {
        "sentiment/val": {"TF-IDF+LR": one_right, "good": perfect, "bad": perfect},
        "reviews": {
            "TF-IDF+LR": one_right,
            "good": perfect,
            "bad": classification_metrics(truth, ["positive", "negative", "neutral"], SENTIMENT),
        },
    }
    lines = quality.verdict_lines(results, "TF-IDF+LR", ["good", "bad"])
    text = "\n".join(lines)
    reviews = next(row for row in lines if row.startswith("reviews"))
    assert re.search(r"100\.0 \+66\.7 ok\s+0\.0 -33\.3 BELOW$", reviews)
    assert re.search(r"no domain below TF-IDF\+LR\s+-\s+yes\s+no: 1 of 2$", text, re.M)
    assert re.search(r"sentiment/val >= 74\s+-\s+100\.0 yes\s+100\.0 yes$", text, re.M)
    assert "bad below TF-IDF+LR on: reviews" in text and "good below" not in text


def test_predictions_in_chunks_equal_one_call() -> None:
    model = load_model(DEFAULT_MODEL_DIR, device="cpu")
    whole = model.predict(TWEETS.texts)
    parts = quality.concat_predictions([model.predict(TWEETS.texts[:4]), model.predict(TWEETS.texts[4:])])
    assert np.array_equal(whole.sentiment, parts.sentiment)
    np.testing.assert_allclose(whole.sentiment_probs, parts.sentiment_probs, atol=1e-2)
    assert len(parts) == len(TWEETS)


def test_report_prints_what_each_system_measured() -> None:
    model = load_model(DEFAULT_MODEL_DIR, device="cpu")
    tfidf = fit_tfidf_lr(LabelledTexts(TWEETS.texts * 2, TWEETS.labels * 2, "train"), TWEETS, grid=(1.0,))
    systems = [
        Baseline("VADER", "lexicon", scorer=lambda texts: (vader_labels(texts), None)),
        Baseline("TF-IDF+LR", "reference", scorer=tfidf.score),
        Version("default", "shipped", model=model, progress=False, dtype="float32"),
    ]
    suite = Suite([TWEETS, BRANDS], IRONY, INTENTS)
    lines = list(quality.report(suite, systems, "TF-IDF+LR"))
    text = "\n".join(lines)

    for data in (TWEETS, BRANDS):
        assert f"== sentiment: {data.name}, {len(data)} texts ==" in text
    vader = classification_metrics(TWEETS.labels, vader_labels(TWEETS.texts), SENTIMENT)
    table = lines[lines.index(f"\n== sentiment: {TWEETS.name}, {len(TWEETS)} texts ==") + 1].splitlines()
    recall_row = next(row for row in table if row.startswith("macro recall")).split()
    assert recall_row[2] == f"{vader.macro_recall:.1f}"  # the VADER column, first
    ece_row = next(row for row in table if row.startswith("ECE")).split()
    assert ece_row[1] == "-" and ece_row[2] != "-" and ece_row[3] != "-"  # VADER has no probabilities

    verdict = lines[lines.index("\n== verdict: each version against TF-IDF+LR ==") + 1 :]
    assert any(row.startswith("sentiment/val") and ("ok" in row or "BELOW" in row) for row in verdict)
    irony_row = next(row for row in lines if row.startswith("default") and "%" in row and "0.50" in row)
    assert len(re.findall(r"\d+\.\d %", irony_row)) == 2  # sentiment/val and brands
    assert "support intents: 3 held-back Bitext rows" in text

    timing = lines[lines.index("\n== wall time per system ==") + 1 :]
    assert timing[0].startswith("cpu: ") and "threads" in timing[0]
    rows = {row.split()[0]: row.split() for row in timing[2:]}
    assert rows["VADER"][4] == str(len(TWEETS) + len(BRANDS))
    # The version predicted each dataset once: the domains, irony/val, the intents if its head has them.
    assert int(rows["default"][4]) in {len(TWEETS) + len(BRANDS) + len(IRONY) + n for n in (0, len(INTENTS))}


def test_cold_start_builder_accepts_the_benchmarks_arguments(tmp_path: Path) -> None:
    builder, name = quality.cold_start_builder()
    assert name.startswith("models.build_default.")
    inspect.signature(builder).bind(tmp_path / "cold-start", **quality.cold_start_arguments())


def test_skips_with_a_message_without_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LISTENING_DATA_DIR", str(tmp_path))
    assert quality.main(["--quick", "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith(f"skipped: {tmp_path}")
