"""Language detection: lingua on several languages, the English rule, hints, too-short text."""

from __future__ import annotations

import pytest

from ingestion.cleaning import language
from ingestion.cleaning.language import Detection, detect_language, detect_languages, looks_english

SAMPLES = {
    "de": "Ich habe heute keine Zeit, aber morgen gehe ich mit meinen Freunden ins Kino",
    "fr": "Je suis très content de mon nouveau téléphone, il est vraiment super",
    "es": "Me encanta este producto, lo compré ayer y funciona muy bien",
    "nl": "Het is een mooie dag vandaag en ik ga met de fiets naar het strand",
    "it": "Questo è il miglior ristorante della città, lo consiglio a tutti",
    "pt": "Eu adoro esse produto, chegou rápido e funciona muito bem",
    "tr": "Bu ürün çok güzel, herkese tavsiye ederim",
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    language.clear_cache()
    yield
    language.clear_cache()


@pytest.mark.parametrize(("code", "text"), sorted(SAMPLES.items()))
def test_lingua_detects_the_language_with_a_confidence(code, text):
    detection = detect_language(text)
    assert detection.language == code
    assert detection.confidence is not None and 0.5 <= detection.confidence <= 1.0


def test_english_through_lingua_when_the_rule_is_off(monkeypatch):
    monkeypatch.setenv("LISTENING_LANGUAGE_FAST_PATH", "0")
    detection = detect_language("I love the new running shoes, they are really comfortable")
    assert detection.language == "en" and detection.confidence is not None


def test_english_rule_takes_plain_english_and_no_other_language():
    assert looks_english("I love the new running shoes, they are really comfortable")
    assert detect_language("I love the new running shoes and they fit").confidence is None
    for text in SAMPLES.values():
        assert not looks_english(text), text
    assert not looks_english("Ik ben in de winkel, het is to druk")  # shared words only


@pytest.mark.parametrize("text", ["", "ok", "lol 😂😂", "@nike #ad http://t.co/x 12345", "!!!???"])
def test_too_short_is_undetermined(text):
    assert detect_language(text) == Detection("und", None)


def test_a_source_hint_wins():
    assert detect_languages(["Ich habe keine Zeit heute"], ["EN"]) == [Detection("en", None)]
    # a malformed hint is ignored
    assert detect_languages([SAMPLES["fr"]], ["english"])[0].language == "fr"


def test_norwegian_alias_and_bad_settings(monkeypatch):
    monkeypatch.setenv("LISTENING_LANGUAGES", "en,no")
    assert language.language_codes() == ("en", "nb")
    monkeypatch.setenv("LISTENING_LANGUAGES", "en,xx")
    with pytest.raises(ValueError, match="xx"):
        language.detector()
    monkeypatch.setenv("LISTENING_LANGUAGES", "en")
    with pytest.raises(ValueError, match="two"):
        language.language_codes()


def _detect_in_child(queue):
    queue.put(detect_language(SAMPLES["de"]).language)


def test_a_forked_worker_can_detect_after_the_parent_did():
    # Prefork workers (Celery, the ingest benchmark) fork after the parent has used lingua; lingua's
    # model-loading thread pool does not survive fork, so the child must never build a detector.
    import multiprocessing

    language.detector()  # what a parent process typically builds first
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_detect_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung in lingua"
    assert queue.get(timeout=5) == "de"
