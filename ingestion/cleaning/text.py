"""Text repair and normalisation: Unicode, markup, control characters, whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy

# ftfy is linear but not free; past this size the text is rejected upstream anyway.
_FTFY_MAX_CHARS = 100_000

# Blocks whose content is not text. They are cut by a linear scan (``_drop_blocks``): a lazy
# ``.*?`` regex would be quadratic on hostile input such as "<script>" repeated without a close.
_BLOCK_OPEN = re.compile(r"<(script|style)\b[^>]*>|<!--", re.I)
_TAG = re.compile(r"<[A-Za-z/!][^<>]{0,500}>")
# C0/C1 controls except tab/newline, bidi overrides/isolates (spoofing), BOM, lone surrogates and
# the replacement character left where a decoder gave up.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffd\ud800-\udfff]")
# Zero-width space/non-joiner and soft hyphen split words for matching; ZWJ is kept (emoji sequences,
# Indic conjuncts) except between two letters of an alphabet that never joins (Latin, Greek,
# Cyrillic), where it only serves to hide a word ("Ac\u200dme") from matching.
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u00ad\u2060]")
_ALPHABET = "A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_ZWJ_IN_WORD = re.compile(f"(?<=[{_ALPHABET}])\u200d+(?=[{_ALPHABET}])")
# "Fancy font" letters of social posts (mathematical bold/italic, circled letters) are styled plain
# letters: fold them (NFKC, on these characters only) so they read, match and deduplicate as words.
_STYLED_LETTERS = re.compile("[\u24b6-\u24e9\U0001d400-\U0001d7ff]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# After _SPACES a run of horizontal space is one " ", so " ?" suffices (and cannot backtrack).
_NEWLINES = re.compile(r" ?\n\s*")
_LINE_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n"})


def repair_unicode(text: str) -> str:
    """Fix mojibake, surrogate pairs and HTML entities (``&amp;`` → ``&``); compose to NFC.

    ASCII text cannot hold mojibake, so it skips ftfy (most tweets: ftfy is the slowest step here)
    and only gets its line breaks and entities fixed. Lone surrogates are left for
    ``remove_invisible``."""
    if text.isascii() and "\x1b" not in text:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
    elif len(text) <= _FTFY_MAX_CHARS:
        text = ftfy.fix_text(text, unescape_html=False, normalization="NFC")
    else:
        text = unicodedata.normalize("NFC", text)
    if not text.isascii() and _STYLED_LETTERS.search(text):
        text = _STYLED_LETTERS.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    return html.unescape(text) if "&" in text else text


def strip_markup(text: str) -> str:
    """Remove HTML tags, scripts, styles and comments; keep their text content."""
    if "<" not in text:
        return text
    return _TAG.sub(" ", _drop_blocks(text))


def _drop_blocks(text: str) -> str:
    """Remove <script>/<style> elements and comments, content included; an unclosed one runs to
    the end of the text. Linear: each character is scanned once."""
    parts: list[str] = []
    position = 0
    lowered = ""
    while True:
        match = _BLOCK_OPEN.search(text, position)
        if match is None:
            parts.append(text[position:])
            return " ".join(parts)
        parts.append(text[position : match.start()])
        if not lowered:
            lowered = text.lower()
        closing = "-->" if match.group(0) == "<!--" else f"</{match.group(1).lower()}"
        end = lowered.find(closing, match.end())
        if end < 0:
            return " ".join(parts)
        close_end = lowered.find(">", end)
        position = len(text) if close_end < 0 else close_end + 1


def remove_invisible(text: str) -> str:
    """Drop control, bidi-override and zero-width characters (they hide or reorder text)."""
    # No Cc/Cf/Cs/Z* but " " (U+FFFD is printable, so asked for apart): nothing to drop, C-speed.
    if text.isprintable() and "\ufffd" not in text:
        return text
    text = _INVISIBLE.sub("", text)
    text = _ZWJ_IN_WORD.sub("", text) if "\u200d" in text else text
    return _ZERO_WIDTH.sub("", text)


def normalise_whitespace(text: str) -> str:
    """Runs of spaces become one space, blank lines one line break; no space at either end."""
    if text.isprintable():  # the only whitespace is " "
        return _SPACES.sub(" ", text).strip() if "  " in text else text.strip()
    text = _SPACES.sub(" ", text.translate(_LINE_SEPARATORS))
    return _NEWLINES.sub("\n", text).strip()


def clean_display_text(text: str) -> str:
    """The text analysts read (before PII redaction): repaired, de-marked, visible, tidy."""
    return normalise_whitespace(remove_invisible(strip_markup(repair_unicode(text))))
