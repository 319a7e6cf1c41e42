"""The listening query language: what a brand's, competitor's or campaign's mentions look like.

Grammar (case-insensitive; adjacent terms mean AND; NOT binds tightest, then NEAR, AND, OR)::

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*
    unary    := "NOT" unary | near
    near     := primary ("NEAR/" n primary)?
    primary  := "(" or ")" | "\"phrase words\"" | #hashtag | @handle | word | word*

Matching is on whole words, so ``apple`` does not match ``pineapple``; ``run*`` matches ``running``.
A plain word also matches the hashtag and the handle of the same name (``nike`` finds ``#nike``),
while ``#nike`` matches only the hashtag. ``a NEAR/3 b`` matches when the two terms or phrases
occur within 3 words of each other, in either order.

A query is parsed once (``parse``), errors carry the position and a message for the person who
wrote it, and ``compile_query`` turns the tree into a closure evaluated against ``TextIndex``
objects, built once per text and shared by all queries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_QUERY_CHARS = 4000
MAX_DEPTH = 32
MAX_NEAR = 50

# Words keep inner hyphens, apostrophes and dots ("pop-up", "don't", "node.js"); "&" is a word so
# that "summit & co" can be a phrase.
_TEXT_TOKEN = re.compile(r"[#@]?\w+(?:[-'\u2019.]\w+)*|&")


class QuerySyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


# --- the text side ------------------------------------------------------------------------------
class TextIndex:
    """Token positions of one text: words, hashtags (``#x``) and handles (``@x``), lower-cased."""

    __slots__ = ("positions", "tokens")

    def __init__(self, text: str) -> None:
        self.tokens = [token.lower().replace("\u2019", "'") for token in _TEXT_TOKEN.findall(text)]
        positions: dict[str, list[int]] = {}
        for index, token in enumerate(self.tokens):
            positions.setdefault(token, []).append(index)
        self.positions = positions

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
                found += self.positions.get(key, [])
            return found
        return [
            pos
            for token, where in self.positions.items()
            for key in keys
            if token.startswith(key)
            for pos in where
        ]


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
    left: Term | Phrase
    right: Term | Phrase
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
            return Not(self.unary())
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
        if not isinstance(left, Term | Phrase) or not isinstance(right, Term | Phrase):
            raise QuerySyntaxError("NEAR joins two words or phrases, not groups", token.position)
        return Near(left, right, distance)

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
        and all(tokens[start + i].lstrip("#@") == w for i, w in enumerate(node.words))
    ]


def _span(node: Term | Phrase) -> int:
    return 1 if isinstance(node, Term) else len(node.words)


def _compile(node: Node) -> Matcher:
    if isinstance(node, Term | Phrase):
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
    left_span, right_span = _span(left), _span(right)

    def near(text: TextIndex) -> bool:
        rights = _positions(right, text)
        if not rights:
            return False
        for a in _positions(left, text):
            for b in rights:
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
