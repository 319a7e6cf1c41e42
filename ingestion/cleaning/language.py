"""Language detection with lingua (offline, accurate on short text), built once per process."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

UNDETERMINED = "und"
# The languages brands in our markets write in; a smaller set is faster and more accurate.
DEFAULT_LANGUAGES = "en,es,fr,de,it,pt,nl,sv,da,nb,pl,tr"
_MIN_LETTERS = 8
_NOISE = re.compile(r"(?:https?://\S+|www\.\S+|[@#]\w+|\d+)")


@lru_cache(maxsize=1)
def detector() -> tuple[LanguageDetector, frozenset[str]]:
    codes = [
        c.strip() for c in os.environ.get("LISTENING_LANGUAGES", DEFAULT_LANGUAGES).split(",") if c.strip()
    ]
    languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(code)) for code in codes]
    built = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
    return built, frozenset(codes)


def detect_languages(texts: Sequence[str], hints: Sequence[str | None]) -> list[tuple[str, float | None]]:
    """(ISO 639-1 code or "und", confidence) per text. A source's own valid hint is trusted (the
    source saw more context than we do); too little text is "und"."""
    built, _ = detector()
    results: list[tuple[str, float | None]] = [(UNDETERMINED, None)] * len(texts)
    to_detect: list[int] = []
    stripped: list[str] = []
    for index, (text, hint) in enumerate(zip(texts, hints, strict=True)):
        if hint and len(hint) == 2 and hint.isalpha():
            results[index] = (hint.lower(), None)
            continue
        letters = _NOISE.sub(" ", text)
        if sum(char.isalpha() for char in letters) < _MIN_LETTERS:
            continue
        to_detect.append(index)
        stripped.append(letters)
    if stripped:
        for index, values in zip(
            to_detect, built.compute_language_confidence_values_in_parallel(stripped), strict=True
        ):
            if values and values[0].value >= 0.5:
                code = values[0].language.iso_code_639_1.name.lower()
                results[index] = (code, round(values[0].value, 3))
    return results
