"""Terms of a mention, and the one filter every term-based answer shares.

Pure functions (no Django). A *term* is a lowercased word, a ``#hashtag`` or a two-word phrase
("customer service"): words shorter than 3 letters, numbers, English stop words, conversational
filler ("really", "honestly", "today"), URL fragments and @handles are dropped; a hashtag keeps its
``#`` so "#nike" and "nike" are told apart. A phrase is two kept words that stand next to each other
in the text (a stop word between them breaks it), so "waiting for my refund" gives no phrase.

:class:`TermFilter` is what top terms, themes, leads and lags, alert explanations and topic labels
apply at read time: on top of the stop words it drops the brand's own query terms and names
(:meth:`TermFilter.for_queries`), which every mention of the brand contains and so explain nothing.
Read time, because a brand's query changes without its stored term rollups being rebuilt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from ingestion.query import Near, Node, Not, Phrase, QuerySyntaxError, Term, parse
from ingestion.query.tree import And, Or

MAX_TERM_LENGTH = 64
# A mention contributes at most this many distinct terms, so one giant text cannot flood a day.
MAX_TERMS_PER_MENTION = 96

_URL = re.compile(r"https?://\S+|www\.\S+|\S+\.(?:com|net|org|ly|co|io)/\S*", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_TOKEN = re.compile(r"#\w+|[^\W\d_][\w'\u2019-]*[^\W_]|[^\W\d_]|\S", re.UNICODE)
_WORD = re.compile(r"#?[^\W\d_][\w'\u2019-]*", re.UNICODE)
# Words that carry no subject in social text: chat filler, time words, politeness, web artefacts.
FILLER = frozenset(
    """
    amp rt via just like dont don't it's i'm im get got really honestly actually literally
    basically totally pretty gonna wanna gotta lol lmao omg yeah yes yep nope okay ok hey hi
    hello guys thanks thank thx pls please day days today tonight yesterday tomorrow week weeks
    want wants wanted came come comes coming ask asks asked asking know knew think thought going
    goes went make makes made thing things way say says said tell told let lets let's use used
    using need needs try tried trying look looks looking maybe probably sure stuff lot lots bit
    still ever even much many one ones two first else can't won't didn't doesn't isn't i've i'll
    you're that's there's what's u ur gets getting soon now back right time times year years yet
    ago far thoughts shoutout anyone cheers
    """.split()
)
URL_FRAGMENTS = frozenset(
    {"http", "https", "www", "com", "net", "org", "html", "htm", "php", "pic", "utm", "href", "url"}
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | FILLER | URL_FRAGMENTS


def _normalise(raw: str) -> str | None:
    """The term a raw token stands for, or None when it is dropped."""
    token = raw.replace("\u2019", "'").strip("'-")
    if token.endswith("'s"):  # "else's", "northwind's": the word, not its possessive
        token = token[:-2]
    if token.startswith("#"):
        return token[:MAX_TERM_LENGTH] if len(token) >= 3 else None
    if len(token) < 3 or token in STOP_WORDS or not _WORD.fullmatch(token) or "http" in token:
        return None
    return token[:MAX_TERM_LENGTH]


def _words(text: str) -> list[str | None]:
    """Each token of ``text`` in order: its term, or None where a dropped word (or punctuation)
    stands, so that phrases never bridge one."""
    text = _HANDLE.sub(" . ", _URL.sub(" . ", text or ""))
    return [_normalise(raw) for raw in _TOKEN.findall(text.lower())]


def tokens(text: str) -> list[str]:
    """Every single-word term occurrence of ``text``, repeats included (for term frequencies)."""
    return [word for word in _words(text) if word is not None]


def phrases(text: str) -> list[str]:
    """Every term occurrence of ``text``, words and two-word phrases, repeats included."""
    words = _words(text)
    out = [word for word in words if word is not None]
    for left, right in pairwise(words):
        if left and right and not left.startswith("#") and not right.startswith("#") and left != right:
            out.append(f"{left} {right}")
    return out


def extract_terms(text: str) -> list[str]:
    """Distinct terms (words, then phrases) of one mention in order of first appearance (for
    document frequencies), at most ``MAX_TERMS_PER_MENTION``."""
    return list(dict.fromkeys(phrases(text)))[:MAX_TERMS_PER_MENTION]


def hashtags(terms: Iterable[str]) -> list[str]:
    return [term for term in terms if term.startswith("#")]


@dataclass(frozen=True)
class TermFilter:
    """Which terms an answer may show: no stop words (today's list, so term rows stored before a
    word became one are filtered too) and none of ``excluded`` words, phrases and prefixes (a
    brand's own query terms and name). A phrase is dropped when either of its words is."""

    excluded: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def for_queries(cls, queries: Iterable[str], names: Iterable[str] = ()) -> TermFilter:
        """The filter for subjects with these boolean queries and names. What a query names as
        the subject is excluded: its words, hashtags and handles (as words too), its phrases and
        each phrase's first word ("trailhead boots" drops "trailhead" and the phrase, keeps
        "boots"), its prefixes (``run*``). What it excludes with NOT is not the subject: kept.
        A malformed query contributes nothing (it was refused when saved)."""
        excluded: set[str] = set()
        prefixes: list[str] = []
        for query in queries:
            try:
                node = parse(query)
            except QuerySyntaxError:
                continue
            _collect(node, excluded, prefixes)
        for name in names:
            excluded.update(tokens(name))
        return cls(frozenset(excluded), tuple(sorted(set(prefixes))))

    def allows(self, term: str) -> bool:
        if term in self.excluded:
            return False
        for word in term.split(" "):
            bare = word.lstrip("#@")
            if word in STOP_WORDS or bare in self.excluded or word in self.excluded:
                return False
            if self.prefixes and bare.startswith(self.prefixes):
                return False
        return True

    def keep(self, counts: Mapping[str, int]) -> dict[str, int]:
        """The allowed entries of a term -> count mapping."""
        return {term: n for term, n in counts.items() if self.allows(term)}

    def terms(self, text: str) -> list[str]:
        """The allowed distinct terms of ``text`` (``extract_terms`` filtered)."""
        return [term for term in extract_terms(text) if self.allows(term)]


def _collect(node: Node, excluded: set[str], prefixes: list[str]) -> None:
    if isinstance(node, Term):
        word = node.word.lower()
        if not word:  # "*": everything, which names nothing
            return
        if node.prefix:
            prefixes.append(word)
        else:
            excluded.update((word, f"#{word}", f"@{word}"))
    elif isinstance(node, Phrase):
        words = [word.lower() for word in node.words]
        excluded.add(words[0])
        excluded.update(f"{a} {b}" for a, b in pairwise(words))
        if len(words) == 1:
            excluded.add(f"#{words[0]}")
    elif isinstance(node, Near):
        for side in (*node.left, *node.right):
            _collect(side, excluded, prefixes)
    elif isinstance(node, And | Or):
        for operand in node.operands:
            _collect(operand, excluded, prefixes)
    elif isinstance(node, Not):
        return  # what the query leaves out is not the subject


NO_FILTER = TermFilter()


# A word folds into a phrase holding it when the phrase accounts for this share of the word's count
# (or weight): "sleeping" and "bag" beside "sleeping bag" at the same count tell a reader nothing more.
PHRASE_COVERS = 0.8


def folded_words(scored: Iterable[tuple[str, float]]) -> set[str]:
    """The words of ``scored`` (term, count or weight) that a phrase of ``scored`` stands for."""
    items = list(scored)
    score = dict(items)
    return {
        word
        for term, value in items
        if " " in term
        for word in term.split(" ")
        if word in score and value >= PHRASE_COVERS * score[word]
    }
