"""The parsed query: terms, phrases and the operators over them."""

from __future__ import annotations

from dataclasses import dataclass


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
