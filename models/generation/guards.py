"""Guard rails applied to every drafted reply before anyone sees it. Pure.

- at most one URL, and only URLs the brand's own agents have used (others are removed);
- no customer data from other threads: @handles that are not in this thread are removed, and a
  reply holding a redaction placeholder ([EMAIL], [PHONE], ...) copied from an example is dropped;
- length: at most ``max_chars``, cut at a sentence end where there is one;
- the guidelines' refusal list: a reply containing a refused phrase is dropped;
- no invented people: a small model greets customers by names it made up ("Hi Emma,", "Thanks for
  reaching out, Emily!") and signs as agents who do not exist ("Best regards, Emily", "[Your Name]");
  a brand's past reply offered again holds the name of the customer it answered. A name in the
  greeting, addressed after a comma, or in the sign-off that appears nowhere in what the reply may
  know (the thread, the customer's name, the brand, its guidelines and sign-off) is removed, and
  so is a sign-off holding a fill-in placeholder; a fill-in placeholder anywhere else ("your [order
  number]", "[Email]", a template variable "[CUSTOMER_ADDRESS]" or "{{Order Number}}") drops the
  reply, because no edit of it reads right;
- no loops: a small model sampling at a low temperature can fall into a loop ("Not what? Not what?
  Not what? ..."), and such a draft ranks first, because each repeat is likely once the loop has
  started. A reply whose word trigrams are more than :data:`MAX_REPEATED_TRIGRAMS` repeats is
  dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
HANDLE = re.compile(r"(?<![\w@])@\w{1,50}")
PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|CARD|IBAN|NAME|ADDRESS|URL)\]")
_TRAILING = ".,;:!?"
# One or two capitalised words: what a made-up first name (and surname) looks like.
_NAME = r"[A-Z][a-z]{1,20}(?:\s+[A-Z][a-z]{1,20})?"
GREETING = re.compile(
    rf"^(?P<greet>Hi|Hello|Hey|Dear|Good (?:morning|afternoon|evening)|Thanks|Thank you)"
    rf"(?P<sep>,?\s+)(?P<name>{_NAME})(?P<end>\s*[,!.:;]|\s+(?=for\b))"
)
# A name addressed after a comma, ending its clause: "Thanks for reaching out, Hannah!" (a small
# model's invention, or, in a brand's past reply offered again, another customer's name).
VOCATIVE = re.compile(rf"(?P<sep>,[^\S\n]+)(?P<name>{_NAME})(?P<end>[^\S\n]*[!.?])")
_CLOSING = (
    r"(?i:Best|Best regards|Kind regards|Warm regards|Warmest regards|Regards|Sincerely|Cheers|"
    r"Thanks|Thank you|Many thanks|Best wishes|All the best|Take care)"
)
_SIGNED = rf"(?P<name>{_NAME}|\[[^\]]{{1,40}}\])"  # a name, or a fill-in like "[Your Name]"
# A sign-off at the very end: "Best regards, Emily" / "Cheers,\nSam" / "- Sam" / "^Sam".
# What may precede a sign-off. A line break takes only the blanks after it up to the next line break
# (``[^\S\n]``): with ``\n\s*`` every newline of a long blank run rescanned the rest of the run,
# quadratic in its length. The match then starts at the run's last newline instead of its first,
# which is the same once the reply is stripped.
_BEFORE_SIGN_OFF = r"(?P<before>^|[.!?]\s+|\n[^\S\n]*)"
SIGN_OFF = re.compile(rf"{_BEFORE_SIGN_OFF}(?P<closing>{_CLOSING}),?\s+{_SIGNED}\s*[.!]?\s*$")
SIGNATURE = re.compile(rf"(?P<before>^|[.!?]\s*|\n[^\S\n]*)(?:[-\u2013\u2014^]\s*){_SIGNED}\s*$")
FILL_IN = re.compile(
    r"\[(?:your|customer|company|agent|order|insert|name|first|contact|"
    # What the model asks the agent to fill in ("reach me at [Email] or [Phone]"; our redaction's
    # own upper-case placeholders are caught first, by PLACEHOLDER).
    r"e-?mail|phone|number|address|link|url|date|time|tracking|account)[^\]]{0,40}\]"
    # A template variable: a bracketed snake_case slot ("[MX_TO_CUSTOMER_ADDRESS]", "[order_id]")
    # or a mustache one ("{{Order Number}}", as in Bitext's responses).
    r"|\[\w{1,40}_\w{1,80}\]|\{\{[^{}\n]{1,60}\}\}"
    # An upper-case slot of the model's own making ("[ADDR]", "[REF]"); the redaction's own
    # placeholders are caught first, by PLACEHOLDER.
    r"|(?-i:\[[A-Z][A-Z0-9]{1,20}\])",
    re.IGNORECASE,
)
WORD = re.compile(r"[A-Za-z]+")
LOOP_WORD = re.compile(r"[a-z0-9']+")
# The share of a reply's word trigrams that repeat an earlier one, above which it is a loop. Of the
# 5,796 real agent replies in the Customer Support on Twitter pairs, 99.9 % score at most 0.11 and
# the highest 0.30 (a line of emoticons); "Not what? Not impressed? ... Not what? Not what?" 0.40.
MAX_REPEATED_TRIGRAMS = 0.35

DEFAULT_MAX_CHARS = 600
MIN_CHARS = 2


@dataclass(frozen=True)
class Checked:
    text: str | None  # None: the reply is dropped
    notes: tuple[str, ...]  # what was removed or why it was dropped


def normalise_url(url: str) -> str:
    return url.rstrip(_TRAILING).rstrip("/").lower()


def urls_in(texts: Iterable[str]) -> set[str]:
    """The URLs in ``texts`` (normalised): the allowed set, built from the brand's past replies."""
    return {normalise_url(match) for text in texts for match in URL.findall(text)}


def known_words(texts: Iterable[str]) -> set[str]:
    """The lower-cased words of ``texts``: the names a reply may use."""
    return {word.lower() for text in texts for word in WORD.findall(text)}


def _known(name: str, known: set[str]) -> bool:
    return not name.startswith("[") and all(word.lower() in known for word in WORD.findall(name))


def _no_invented_names(text: str, known: set[str], notes: list[str]) -> str:
    greeting = GREETING.match(text)
    if greeting and not _known(greeting["name"], known):
        notes.append(f"removed invented name {greeting['name']!r}")
        greet = "Hello" if greeting["greet"] == "Dear" else greeting["greet"]
        text = greet + (greeting["end"].strip() or " ") + text[greeting.end() :]

    def vocative(match: re.Match[str]) -> str:
        if _known(match["name"], known):
            return match.group(0)
        notes.append(f"removed invented name {match['name']!r}")
        return match["end"].strip()

    text = VOCATIVE.sub(vocative, text)
    for pattern in (SIGN_OFF, SIGNATURE):
        closing = pattern.search(text)
        if closing and not _known(closing["name"], known):
            notes.append(f"removed sign-off {closing['name']!r}")
            text = text[: closing.start()] + closing["before"].rstrip()
    return text.strip()


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    return head[: end + 1] if end >= max_chars // 3 else head.rsplit(" ", 1)[0].rstrip(_TRAILING) + "…"


def repeated_trigrams(text: str) -> float:
    """The share of ``text``'s word trigrams that repeat an earlier one (0 for fewer than six)."""
    words = LOOP_WORD.findall(text.lower())
    grams = list(zip(words, words[1:], words[2:], strict=False))
    return 1.0 - len(set(grams)) / len(grams) if len(grams) >= 6 else 0.0


def check_reply(
    text: str,
    *,
    allowed_urls: set[str],
    thread_handles: set[str],
    refusals: Iterable[str],
    known: set[str] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Checked:
    """``known``: the lower-cased words a name may come from (:func:`known_words` of the thread,
    the customer's name, the brand and its guidelines); None skips the name check."""
    notes: list[str] = []
    lowered = text.lower()
    for phrase in refusals:
        if phrase.strip() and phrase.strip().lower() in lowered:
            return Checked(None, (f"refused phrase: {phrase.strip()!r}",))
    if PLACEHOLDER.search(text):
        return Checked(None, ("holds redacted customer data from another conversation",))

    kept_url = False

    def url(match: re.Match[str]) -> str:
        nonlocal kept_url
        raw = match.group(0)
        trailing = raw[len(raw.rstrip(_TRAILING)) :]
        if normalise_url(raw) in allowed_urls and not kept_url:
            kept_url = True
            return raw
        notes.append(f"removed URL {raw.rstrip(_TRAILING)}")
        return trailing

    text = URL.sub(url, text)

    def handle(match: re.Match[str]) -> str:
        if match.group(0).lower() in thread_handles:
            return match.group(0)
        notes.append(f"removed handle {match.group(0)}")
        return ""

    text = HANDLE.sub(handle, text)
    if known is not None:
        text = _no_invented_names(text, known, notes)
    if FILL_IN.search(text):
        return Checked(None, (*notes, "holds a fill-in placeholder"))
    # Blanks before punctuation go; a run is tried once, from its start (an unanchored \s+ retried
    # from every blank of a long run: quadratic).
    text = re.sub(r"[ \t]{2,}", " ", re.sub(r"(?<!\s)\s+([.,!?])", r"\1", text)).strip()
    if len(text) > max_chars:
        notes.append(f"cut to {max_chars} characters")
        text = _cut(text, max_chars)
    if repeated_trigrams(text) > MAX_REPEATED_TRIGRAMS:
        return Checked(None, (*notes, "repeats itself"))
    if len(text) < MIN_CHARS:
        return Checked(None, (*notes, "empty after the guard rails"))
    return Checked(text, tuple(notes))
