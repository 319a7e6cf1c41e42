"""Text repair and normalisation: Unicode, markup, control characters, whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy

# ftfy is linear but not free; past this size the text is rejected upstream anyway.
_FTFY_MAX_CHARS = 100_000

_TAG = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->|<[A-Za-z/!][^<>]{0,500}>", re.S | re.I)
# C0/C1 controls except tab/newline, bidi overrides/isolates (spoofing), BOM, lone surrogates.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# Zero-width space/non-joiner and soft hyphen split words for matching; ZWJ is kept (emoji sequences).
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u00ad\u2060]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def repair_unicode(text: str) -> str:
    """Fix mojibake and HTML entities (``&amp;`` → ``&``) and compose to NFC."""
    if len(text) <= _FTFY_MAX_CHARS:
        text = ftfy.fix_text(text, unescape_html=False, normalization="NFC")
    else:
        text = unicodedata.normalize("NFC", text)
    return html.unescape(text)


def strip_markup(text: str) -> str:
    """Remove HTML tags, scripts, styles and comments; keep their text content."""
    if "<" not in text:
        return text
    return _TAG.sub(" ", text)


def remove_invisible(text: str) -> str:
    """Drop control, bidi-override and zero-width characters (they hide or reorder text)."""
    text = _INVISIBLE.sub("", text)
    return _ZERO_WIDTH.sub("", text)


def normalise_whitespace(text: str) -> str:
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


def clean_display_text(text: str) -> str:
    """The text analysts read (before PII redaction): repaired, de-marked, visible, tidy."""
    return normalise_whitespace(remove_invisible(strip_markup(repair_unicode(text))))
