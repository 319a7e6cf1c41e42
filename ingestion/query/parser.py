"""Queries as people write them into trees, with errors that say where and what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingestion.query.text import TEXT_TOKEN
from ingestion.query.tree import And, Near, Node, Not, Or, Phrase, Term

MAX_QUERY_CHARS = 4000
MAX_DEPTH = 32
MAX_NEAR = 50


class QuerySyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


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
    return [token.lower() for token in TEXT_TOKEN.findall(text)]


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
