"""The listening query language: what a brand's, competitor's or campaign's mentions look like.

Grammar (case-insensitive; adjacent terms mean AND; NOT binds tightest, then NEAR, AND, OR)::

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*
    unary    := "NOT" unary | near
    near     := primary ("NEAR/" n primary)?     (primary: a word, a phrase or an OR-group of them)
    primary  := "(" or ")" | "\"phrase words\"" | #hashtag | @handle | word | word* | -primary

Matching is on whole words, so ``apple`` does not match ``pineapple``; ``run*`` matches ``running``.
A plain word also matches the hashtag and the handle of the same name (``nike`` finds ``#nike``),
while ``#nike`` matches only the hashtag. ``a NEAR/3 b`` matches when the two terms or phrases
occur within 3 words of each other, in either order; either side may be an OR-group of words and
phrases. Operators (AND, OR, NOT, NEAR/n) are written in capitals; terms match in any case.

A query is parsed once (``parse``), errors carry the position and a message for the person who
wrote it, and ``compile_query`` turns the tree into a closure evaluated against ``TextIndex``
objects, built once per text and shared by all queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_QUERY_CHARS = 4000
MAX_DEPTH = 32
MAX_NEAR = 50

# Words keep inner hyphens, apostrophes and dots ("pop-up", "don't", "node.js"); "&" is a word so
# that "summit & co" can be a phrase.
_JOINER = re.compile(r"(?<=\w)[-'.](?=\w)")
_TEXT_TOKEN = re.compile(r"[#@]?\w+(?:[-'\u2019.]\w+)*|&")


class QuerySyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


# --- the text side ------------------------------------------------------------------------------
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
        self.tokens: list[str] = _TEXT_TOKEN.findall(lowered)
        self.keys: set[str] = set(self.tokens)
        self._positions: dict[str, list[int]] | None = None
        # A token holds "-", "'" or "." only between word characters (see _TEXT_TOKEN): those are
        # exactly the joined ones.
        joined = [token for token in self.keys if "'" in token or "-" in token or "." in token]
        self._joined = bool(joined)
        for token in joined:
            self.keys.update(part for part in _JOINER.split(token) if part)

    @property
    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            for index, token in enumerate(self.tokens):
                positions.setdefault(token, []).append(index)
            if self._joined:
                for index, token in enumerate(self.tokens):
                    if ("'" in token or "-" in token or "." in token) and _JOINER.search(token):
                        for part in _JOINER.split(token):
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


# --- the tree -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    word: str
    kind: str = "word"  # "word", "#", "@"
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Near:
    """Any of ``left`` within ``distance`` words of any of ``right`` (alternatives from an OR group)."""

    left: tuple[Term | Phrase, ...]
    right: tuple[Term | Phrase, ...]
    distance: int


Node = Term | Phrase | Not | And | Or | Near


# --- the parser ---------------------------------------------------------------------------------
_QUERY_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) |
        "(?P<phrase>[^"]*)(?P<closed>")? |
        (?P<near>NEAR/(?P<n>\d+)\b) |
        (?P<word>[#@]?[^\s()"]+)
    )""",
    re.X,
)
_OPERATORS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # lparen rparen phrase near word op end
    value: str
    position: int


def _lex(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    index = 0
    while index < len(query):
        if query[index:].strip() == "":
            break
        match = _QUERY_TOKEN.match(query, index)
        if match is None or match.end() == index:
            raise QuerySyntaxError(f"Unexpected character {query[index]!r}", index)
        start = match.start(match.lastgroup or 0)
        if match.group("lparen"):
            tokens.append(_Tok("lparen", "(", start))
        elif match.group("rparen"):
            tokens.append(_Tok("rparen", ")", start))
        elif match.group("phrase") is not None:
            if match.group("closed") is None:
                raise QuerySyntaxError("Unclosed quotation mark", match.start("phrase") - 1)
            tokens.append(_Tok("phrase", match.group("phrase"), match.start("phrase") - 1))
        elif match.group("near"):
            tokens.append(_Tok("near", match.group("n"), match.start("near")))
        else:
            word = match.group("word")
            kind = "op" if word in _OPERATORS else "word"
            if word.upper().startswith("NEAR/") or word.upper() == "NEAR":
                raise QuerySyntaxError("NEAR needs a distance, like NEAR/3", match.start("word"))
            tokens.append(_Tok(kind, word, match.start("word")))
        index = match.end()
    tokens.append(_Tok("end", "", len(query)))
    return tokens


def _words(text: str) -> list[str]:
    return [token.lower() for token in _TEXT_TOKEN.findall(text)]


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _lex(query)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.tokens[self.index]

    def take(self) -> _Tok:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise QuerySyntaxError("The query is empty", 0)
        node = self.or_()
        token = self.peek()
        if token.kind == "rparen":
            raise QuerySyntaxError("Unmatched closing parenthesis", token.position)
        if token.kind != "end":
            raise QuerySyntaxError(f"Unexpected {token.value!r}", token.position)
        return node

    def or_(self) -> Node:
        operands = [self.and_()]
        while self.peek().kind == "op" and self.peek().value == "OR":
            self.take()
            operands.append(self.and_())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_(self) -> Node:
        operands = [self.unary()]
        while True:
            token = self.peek()
            if token.kind == "op" and token.value == "AND":
                self.take()
                operands.append(self.unary())
            elif token.kind in ("word", "phrase", "lparen") or (token.kind == "op" and token.value == "NOT"):
                operands.append(self.unary())  # implicit AND
            else:
                break
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value == "NOT":
            self.take()
            # NOT chains nest like parentheses: bounded by the same limit, never by Python's stack.
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(f"Operators nest deeper than {MAX_DEPTH}", token.position)
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.near()

    def near(self) -> Node:
        left = self.primary()
        token = self.peek()
        if token.kind != "near":
            return left
        self.take()
        distance = int(token.value)
        if not 1 <= distance <= MAX_NEAR:
            raise QuerySyntaxError(f"NEAR distance must be between 1 and {MAX_NEAR}", token.position)
        right = self.primary()
        return Near(_alternatives(left, token), _alternatives(right, token), distance)

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "lparen":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(f"Parentheses nest deeper than {MAX_DEPTH}", token.position)
            node = self.or_()
            closing = self.take()
            if closing.kind != "rparen":
                raise QuerySyntaxError("Missing closing parenthesis", token.position)
            self.depth -= 1
            return node
        if token.kind == "phrase":
            words = _words(token.value)
            if not words:
                raise QuerySyntaxError("Empty phrase", token.position)
            return Phrase(tuple(words)) if len(words) > 1 else Term(words[0])
        if token.kind == "word":
            if token.value.startswith("-") and len(token.value) > 1:  # "-word": X-style NOT
                return Not(self.term(_Tok("word", token.value[1:], token.position + 1)))
            return self.term(token)
        if token.kind == "end":
            raise QuerySyntaxError("The query ends where a word was expected", token.position)
        raise QuerySyntaxError(f"Unexpected {token.value!r}", token.position)

    def term(self, token: _Tok) -> Term:
        raw = token.value
        kind = raw[0] if raw[0] in "#@" else "word"
        body = raw[1:] if kind != "word" else raw
        prefix = body.endswith("*")
        body = body.rstrip("*").lower()
        words = _words(body)
        if len(words) != 1 or words[0] != body:
            raise QuerySyntaxError(f'{raw!r} is not a word; quote phrases with "..."', token.position)
        if prefix and len(body) < 3:
            raise QuerySyntaxError("A wildcard needs at least 3 letters before *", token.position)
        return Term(body, kind, prefix)


def _alternatives(node: Node, near: _Tok) -> tuple[Term | Phrase, ...]:
    if isinstance(node, Term | Phrase):
        return (node,)
    if isinstance(node, Or) and all(isinstance(operand, Term | Phrase) for operand in node.operands):
        return tuple(operand for operand in node.operands if isinstance(operand, Term | Phrase))
    raise QuerySyntaxError(
        'NEAR joins words, phrases or OR-groups of them, like (a OR "b c") NEAR/3 d', near.position
    )


def parse(query: str) -> Node:
    """Parse a query; raises QuerySyntaxError with the position and what is wrong."""
    if not isinstance(query, str):
        raise QuerySyntaxError("The query must be text", 0)
    if len(query) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"The query is longer than {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS)
    return _Parser(query).parse()


# --- compilation --------------------------------------------------------------------------------
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
    return bare == word or (word in bare and word in _JOINER.split(bare))


def _span(node: Term | Phrase) -> int:
    return 1 if isinstance(node, Term) else len(node.words)


def _occurrences(alternatives: tuple[Term | Phrase, ...], text: TextIndex) -> list[tuple[int, int]]:
    """(start, length in words) of every occurrence of any alternative."""
    return [(start, _span(node)) for node in alternatives for start in _positions(node, text)]


def _compile(node: Node) -> Matcher:
    if isinstance(node, Term):
        # Presence only: no position lists needed.
        keys = _term_keys(node)
        if node.prefix:
            return lambda text: any(token.startswith(keys) for token in text.keys)
        return lambda text: any(key in text.keys for key in keys)
    if isinstance(node, Phrase):
        return lambda text: bool(_positions(node, text))
    if isinstance(node, Not):
        inner = _compile(node.operand)
        return lambda text: not inner(text)
    if isinstance(node, And):
        parts = [_compile(operand) for operand in node.operands]
        return lambda text: all(part(text) for part in parts)
    if isinstance(node, Or):
        parts = [_compile(operand) for operand in node.operands]
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
    return _compile(parse(query))


def validate(query: str) -> None:
    """Raise QuerySyntaxError if the query is malformed (for save-time validation)."""
    parse(query)


# --- many queries against many texts ------------------------------------------------------------
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
            self.matchers[key] = _compile(node)
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
