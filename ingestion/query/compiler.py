"""Trees into matchers: closures evaluated against a ``TextIndex``."""

from __future__ import annotations

from collections.abc import Callable

from ingestion.query.parser import parse
from ingestion.query.text import JOINER, TextIndex
from ingestion.query.tree import And, Node, Not, Or, Phrase, Term

Matcher = Callable[[TextIndex], bool]


def _positions(node: Term | Phrase, text: TextIndex) -> list[int]:
    """Start positions of a term or phrase occurrence, plus (for phrases) its length via offset."""
    if isinstance(node, Term):
        return text.word_positions(node.word, prefix=node.prefix, kind=node.kind)
    first = text.word_positions(node.words[0], prefix=False, kind="word")
    tokens = text.tokens
    length = len(node.words)
    return [
        start
        for start in first
        if start + length <= len(tokens)
        and all(_token_is(tokens[start + i], w) for i, w in enumerate(node.words))
    ]


def _term_keys(term: Term) -> tuple[str, ...]:
    """Index tokens a term matches: a plain word also matches its hashtag and handle."""
    if term.kind == "word":
        return (term.word, f"#{term.word}", f"@{term.word}")
    return (f"{term.kind}{term.word}",)


def _token_is(token: str, word: str) -> bool:
    """Whether a text token is ``word`` (as a hashtag or handle too, or as a part of a joined token)."""
    bare = token.lstrip("#@")
    return bare == word or (word in bare and word in JOINER.split(bare))


def _span(node: Term | Phrase) -> int:
    return 1 if isinstance(node, Term) else len(node.words)


def _occurrences(alternatives: tuple[Term | Phrase, ...], text: TextIndex) -> list[tuple[int, int]]:
    """(start, length in words) of every occurrence of any alternative."""
    return [(start, _span(node)) for node in alternatives for start in _positions(node, text)]


def compile_node(node: Node) -> Matcher:
    """The matcher of a parsed tree (``QueryIndex`` compiles the trees it has parsed itself)."""
    if isinstance(node, Term):
        # Presence only: no position lists needed.
        keys = _term_keys(node)
        if node.prefix:
            return lambda text: any(token.startswith(keys) for token in text.keys)
        return lambda text: any(key in text.keys for key in keys)
    if isinstance(node, Phrase):
        return lambda text: bool(_positions(node, text))
    if isinstance(node, Not):
        inner = compile_node(node.operand)
        return lambda text: not inner(text)
    if isinstance(node, And):
        parts = [compile_node(operand) for operand in node.operands]
        return lambda text: all(part(text) for part in parts)
    if isinstance(node, Or):
        parts = [compile_node(operand) for operand in node.operands]
        return lambda text: any(part(text) for part in parts)
    left, right, distance = node.left, node.right, node.distance

    def near(text: TextIndex) -> bool:
        rights = _occurrences(right, text)
        if not rights:
            return False
        for a, left_span in _occurrences(left, text):
            for b, right_span in rights:
                # Words between the end of one and the start of the other.
                gap = b - (a + left_span) if b >= a else a - (b + right_span)
                if 0 <= gap + 1 <= distance:
                    return True
        return False

    return near


def compile_query(query: str) -> Matcher:
    """Parse and compile; the matcher takes a ``TextIndex``."""
    return compile_node(parse(query))


def validate(query: str) -> None:
    """Raise QuerySyntaxError if the query is malformed (for save-time validation)."""
    parse(query)
