"""Model input normalisation: URLs and handles replaced by placeholders, as TweetEval does, so
the model reads the words, not the noise. The stored text keeps the originals."""

from __future__ import annotations

import re

URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.I)
HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_REPEAT = re.compile(r"(.)\1{3,}")  # "sooooo" → "sooo": keeps emphasis, bounds the token count


def model_text(clean_text: str) -> str:
    text = URL.sub("http", clean_text) if "http" in clean_text or "www." in clean_text else clean_text
    text = HANDLE.sub("@user", text) if "@" in text else text
    return _REPEAT.sub(r"\1\1\1", text)


def urls(text: str) -> list[str]:
    return URL.findall(text)
