"""The text side of matching: one text's tokens, built once and shared by every query."""

from __future__ import annotations

import re

# Words keep inner hyphens, apostrophes and dots ("pop-up", "don't", "node.js"); "&" is a word so
# that "summit & co" can be a phrase.
JOINER = re.compile(r"(?<=\w)[-'.](?=\w)")
TEXT_TOKEN = re.compile(r"[#@]?\w+(?:[-'\u2019.]\w+)*|&")


class TextIndex:
    """Tokens of one text: words, hashtags (``#x``) and handles (``@x``), lower-cased.

    A joined token ("apple's", "coca-cola", "apple.com") is also indexed by its parts at the same
    position, so ``apple`` finds "Apple's" and ``cola`` finds "Coca-Cola", as a regex word
    boundary would, while ``apple`` still does not find "pineapple".

    ``keys`` (every token and part) is all that most queries need; ``positions`` (key → token
    positions, for phrases and NEAR) is built on first use: most texts match no query that asks."""

    __slots__ = ("_joined", "_positions", "keys", "tokens")

    def __init__(self, text: str) -> None:
        lowered = text.lower().replace("\u2019", "'")
        self.tokens: list[str] = TEXT_TOKEN.findall(lowered)
        self.keys: set[str] = set(self.tokens)
        self._positions: dict[str, list[int]] | None = None
        # A token holds "-", "'" or "." only between word characters (see TEXT_TOKEN): those are
        # exactly the joined ones.
        joined = [token for token in self.keys if "'" in token or "-" in token or "." in token]
        self._joined = bool(joined)
        for token in joined:
            self.keys.update(part for part in JOINER.split(token) if part)

    @property
    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            for index, token in enumerate(self.tokens):
                positions.setdefault(token, []).append(index)
            if self._joined:
                for index, token in enumerate(self.tokens):
                    if ("'" in token or "-" in token or "." in token) and JOINER.search(token):
                        for part in JOINER.split(token):
                            if part and part != token:
                                positions.setdefault(part, []).append(index)
            self._positions = positions
        return self._positions

    def word_positions(self, word: str, *, prefix: bool, kind: str) -> list[int]:
        """Positions of ``word`` as a plain word (kind "word": also as #word and @word), or as a
        hashtag/handle only (kind "#"/"@")."""
        keys = [word] if kind == "word" else []
        if kind in ("word", "#"):
            keys.append(f"#{word}")
        if kind in ("word", "@"):
            keys.append(f"@{word}")
        if not prefix:
            found: list[int] = []
            for key in keys:
                if key in self.keys:
                    found += self.positions[key]
            return found
        prefixes = tuple(keys)
        return [pos for token, where in self.positions.items() if token.startswith(prefixes) for pos in where]
