"""Terms of a mention for top-terms and theme rollups: lowercased words and #hashtags.

Pure functions (no Django). Words shorter than 3 letters, numbers, English stop words, URLs and
@handles are dropped; a hashtag keeps its ``#`` so "#nike" and "nike" are told apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

MAX_TERM_LENGTH = 64
# A mention contributes at most this many distinct terms, so one giant text cannot flood a day.
MAX_TERMS_PER_MENTION = 64

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_TOKEN = re.compile(r"#\w+|[^\W\d_][\w'\u2019-]*[^\W_]|[^\W\d_]", re.UNICODE)
_EXTRA_STOP = frozenset(
    {"amp", "rt", "via", "just", "like", "dont", "don't", "it's", "i'm", "im", "get", "got"}
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | _EXTRA_STOP


def tokens(text: str) -> list[str]:
    """Every term occurrence of ``text``, repeats included (for term frequencies)."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text or ""))
    out = []
    for raw in _TOKEN.findall(text.lower()):
        token = raw.replace("\u2019", "'").strip("'-")
        if token.startswith("#"):
            if len(token) < 3:
                continue
        elif len(token) < 3 or token in STOP_WORDS:
            continue
        out.append(token[:MAX_TERM_LENGTH])
    return out


def extract_terms(text: str) -> list[str]:
    """Distinct terms of one mention in order of first appearance (for document frequencies),
    at most ``MAX_TERMS_PER_MENTION``."""
    return list(dict.fromkeys(tokens(text)))[:MAX_TERMS_PER_MENTION]


def hashtags(terms: Iterable[str]) -> list[str]:
    return [term for term in terms if term.startswith("#")]
