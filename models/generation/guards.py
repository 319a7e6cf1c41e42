"""Guard rails applied to every drafted reply before anyone sees it. Pure.

- at most one URL, and only URLs the brand's own agents have used (others are removed);
- no customer data from other threads: @handles that are not in this thread are removed, and a
  reply holding a redaction placeholder ([EMAIL], [PHONE], ...) copied from an example is dropped;
- length: at most ``max_chars``, cut at a sentence end where there is one;
- the guidelines' refusal list: a reply containing a refused phrase is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
HANDLE = re.compile(r"(?<![\w@])@\w{1,50}")
PLACEHOLDER = re.compile(r"\[(?:EMAIL|PHONE|CARD|IBAN|NAME|ADDRESS|URL)\]")
_TRAILING = ".,;:!?"

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


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    return head[: end + 1] if end >= max_chars // 3 else head.rsplit(" ", 1)[0].rstrip(_TRAILING) + "…"


def check_reply(
    text: str,
    *,
    allowed_urls: set[str],
    thread_handles: set[str],
    refusals: Iterable[str],
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Checked:
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
    text = re.sub(r"[ \t]{2,}", " ", re.sub(r"\s+([.,!?])", r"\1", text)).strip()
    if len(text) > max_chars:
        notes.append(f"cut to {max_chars} characters")
        text = _cut(text, max_chars)
    if len(text) < MIN_CHARS:
        return Checked(None, (*notes, "empty after the guard rails"))
    return Checked(text, tuple(notes))
