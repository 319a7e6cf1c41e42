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

Modules: ``parser`` (``parse``, ``QuerySyntaxError``, the limits), ``tree`` (the nodes), ``text``
(``TextIndex``), ``compiler`` (``compile_query``, ``validate``) and ``index`` (``QueryIndex``,
``trigger_keys``); this package exports what callers use.
"""

from __future__ import annotations

from ingestion.query.compiler import Matcher, compile_query, validate
from ingestion.query.index import QueryIndex, trigger_keys
from ingestion.query.parser import MAX_DEPTH, MAX_NEAR, MAX_QUERY_CHARS, QuerySyntaxError, parse
from ingestion.query.text import TextIndex
from ingestion.query.tree import And, Near, Node, Not, Or, Phrase, Term

__all__ = [
    "MAX_DEPTH",
    "MAX_NEAR",
    "MAX_QUERY_CHARS",
    "And",
    "Matcher",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QueryIndex",
    "QuerySyntaxError",
    "Term",
    "TextIndex",
    "compile_query",
    "parse",
    "trigger_keys",
    "validate",
]
