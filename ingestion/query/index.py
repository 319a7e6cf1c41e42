"""Many queries against many texts: only the queries whose required tokens occur are evaluated."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from ingestion.query.compiler import Matcher, compile_node
from ingestion.query.parser import QuerySyntaxError, parse
from ingestion.query.text import TextIndex
from ingestion.query.tree import And, Near, Node, Not, Or, Phrase, Term


def trigger_keys(node: Node) -> frozenset[str] | None:
    """Index tokens of which at least one must occur in a text for ``node`` to match, or None when
    no such set exists (a top-level NOT, a wildcard). Used to skip queries that cannot match."""
    if isinstance(node, Term):
        if node.prefix:
            return None
        if node.kind == "word":
            return frozenset((node.word, f"#{node.word}", f"@{node.word}"))
        return frozenset((f"{node.kind}{node.word}",))
    if isinstance(node, Phrase):
        return trigger_keys(Term(node.words[0]))
    if isinstance(node, Near):
        return trigger_keys(Or(node.left) if len(node.left) > 1 else node.left[0])
    if isinstance(node, Not):
        return None
    if isinstance(node, And):
        # Every operand must match: the rarest-looking (smallest) requirement is enough.
        known = [tokens for tokens in map(trigger_keys, node.operands) if tokens is not None]
        return min(known, key=len) if known else None
    union: set[str] = set()
    for operand in node.operands:
        tokens = trigger_keys(operand)
        if tokens is None:
            return None
        union |= tokens
    return frozenset(union)


K = TypeVar("K", bound=Hashable)


class QueryIndex(Generic[K]):
    """Many compiled queries (e.g. every brand's, competitor's and campaign's of an organization),
    matched together: each text is tokenised once, and only the queries whose required tokens occur
    in it are evaluated.

    ``QueryIndex({brand_id: query, ...})`` raises QuerySyntaxError for the first malformed query
    (its ``key`` attribute says which)."""

    def __init__(self, queries: Mapping[K, str]) -> None:
        self.matchers: dict[K, Matcher] = {}
        self._by_token: dict[str, list[K]] = {}
        self._always: list[K] = []
        for key, query in queries.items():
            try:
                node = parse(query)
            except QuerySyntaxError as error:
                error.key = key  # type: ignore[attr-defined]
                raise
            self.matchers[key] = compile_node(node)
            tokens = trigger_keys(node)
            if tokens is None:
                self._always.append(key)
            else:
                for token in tokens:
                    self._by_token.setdefault(token, []).append(key)
        self._order = {key: position for position, key in enumerate(self.matchers)}
        self._triggers = frozenset(self._by_token)

    def __len__(self) -> int:
        return len(self.matchers)

    def match(self, text: TextIndex | str) -> list[K]:
        """Keys of the queries that match a text (tokenise it once with ``TextIndex`` to share it
        with other indexes), in the order the queries were given."""
        if not self.matchers:
            return []
        if isinstance(text, str):
            text = TextIndex(text)
        # A set intersection at C speed walks the smaller side: the text's few dozen tokens.
        hits = text.keys & self._triggers
        if not hits and not self._always:
            return []
        candidates: set[K] = set(self._always)
        for token in hits:
            candidates.update(self._by_token[token])
        matched = [key for key in candidates if self.matchers[key](text)]
        matched.sort(key=self._order.__getitem__)
        return matched

    def match_many(self, texts: Sequence[str]) -> list[list[K]]:
        return [self.match(TextIndex(text)) for text in texts]
