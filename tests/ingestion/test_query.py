"""The boolean query language: parsing, matching, errors, and the bank of many queries."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from ingestion.query import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    And,
    Near,
    Not,
    Or,
    Phrase,
    QueryIndex,
    QuerySyntaxError,
    Term,
    TextIndex,
    compile_query,
    parse,
    trigger_keys,
    validate,
)


def matches(query: str, text: str) -> bool:
    return compile_query(query)(TextIndex(text))


def test_precedence_and_implicit_and():
    assert parse("nike adidas OR puma") == Or((And((Term("nike"), Term("adidas"))), Term("puma")))
    assert parse("NOT a b") == And((Not(Term("a")), Term("b")))
    assert parse('"just do it" #nike @Nike run*') == And(
        (Phrase(("just", "do", "it")), Term("nike", "#"), Term("nike", "@"), Term("run", prefix=True))
    )
    assert parse("a NEAR/3 (b OR c)") == Near((Term("a"),), (Term("b"), Term("c")), 3)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("apple", "I ate a pineapple", False),
        ("apple", "Apple's new phone", True),
        ("apple", "APPLE event today", True),
        ("nike", "love my #Nike shoes", True),  # a plain word finds the hashtag
        ("#nike", "nike shoes", False),  # a hashtag only the hashtag
        ("@nike", "thanks @Nike!", True),
        ('"just do it"', "Just do it, they said", True),
        ('"just do it"', "just do not do it", False),
        ("run*", "running late", True),
        ("run*", "rerun", False),
        ("nike NOT adidas", "nike and adidas", False),
        ("nike AND NOT (adidas OR puma)", "nike only", True),
        ("NOT (nike AND NOT (adidas OR NOT puma))", "nike puma", False),  # nested NOT
        ("NOT (nike AND NOT (adidas OR NOT puma))", "puma", True),
        ("NOT (nike AND NOT (adidas OR NOT puma))", "nike adidas", True),
        ("cola", "Coca-Cola is back", True),
        ("coca-cola", "COCA-COLA zero", True),
        ('"apple store"', "at the Apple's store", True),
        ("NOT NOT nike", "nike", True),
        ("(nike OR adidas) (shoes OR boots)", "adidas boots", True),
        ("(nike OR adidas) (shoes OR boots)", "adidas socks", False),
        ("delivery NEAR/2 late", "delivery was late", True),
        ("delivery NEAR/2 late", "late again the delivery", False),
        ("delivery NEAR/3 late", "late again the delivery", True),
        ("late NEAR/1 delivery", "delivery late", True),  # either order
        ('"customer service" NEAR/2 slow', "the customer service is slow", True),
        ('"customer service" NEAR/2 slow', "slow reply from customer service", False),
        ("(refund OR return) NEAR/2 (slow OR late)", "my return was slow", True),
        ("don't", "I don\u2019t like it", True),
        ("café", "Café au lait", True),
    ],
)
def test_matching(query, text, expected):
    assert matches(query, text) is expected


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty", 0),
        ("   ", "empty", 0),
        ("nike AND", "ends where a word was expected", 8),
        ("(nike OR adidas", "Missing closing parenthesis", 0),
        ("nike)", "Unmatched closing parenthesis", 4),
        ('"just do it', "Unclosed quotation mark", 0),
        ('""', "Empty phrase", 0),
        ("nike NEAR adidas", "NEAR needs a distance", 5),
        ("nike NEAR/0 adidas", "between 1 and", 5),
        ("nike NEAR/999 adidas", "between 1 and", 5),
        ("(a AND b) NEAR/3 c", "NEAR joins words, phrases or OR-groups", 10),
        ("ni*ke", "is not a word", 0),
        ("ru*", "at least 3 letters", 0),
        ("OR nike", "Unexpected 'OR'", 0),
    ],
)
def test_errors_have_message_and_position(query, message, position):
    with pytest.raises(QuerySyntaxError) as caught:
        validate(query)
    assert message in caught.value.message
    assert caught.value.position == position
    assert f"at character {position + 1}" in str(caught.value)


def test_limits():
    with pytest.raises(QuerySyntaxError, match="longer than"):
        parse("a " * (MAX_QUERY_CHARS // 2 + 1))
    with pytest.raises(QuerySyntaxError, match="nest deeper"):
        parse("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(QuerySyntaxError, match="nest deeper"):
        parse("NOT " * 990 + "a")
    with pytest.raises(QuerySyntaxError, match="nest deeper"):
        parse("(NOT " * 600 + "a" + ")" * 600)
    assert parse("NOT " * MAX_DEPTH + "a") is not None
    with pytest.raises(QuerySyntaxError, match="must be text"):
        parse(None)


def test_hostile_text_is_fine():
    matcher = compile_query('nike OR "a b"')
    assert matcher(TextIndex("x\x00nike\u200b " + "a " * 100_000)) is True


def test_trigger_keys():
    assert trigger_keys(parse("nike")) == {"nike", "#nike", "@nike"}
    assert trigger_keys(parse("#nike shoes")) == {"#nike"}
    assert trigger_keys(parse("a OR #b")) == {"a", "#a", "@a", "#b"}
    assert trigger_keys(parse("NOT a")) is None
    assert trigger_keys(parse("run* OR a")) is None


def test_bank_matches_like_each_query_alone():
    queries = {
        "nike": 'nike OR "just do it"',
        "not": "NOT adidas",
        "wild": "adid*",
        "near": "(refund OR return) NEAR/2 slow",
    }
    bank = QueryIndex(queries)
    texts = ["Just do it", "adidas shoes", "my refund was slow", "", "nothing here"]
    for text in texts:
        alone = [key for key, query in queries.items() if matches(query, text)]
        assert bank.match(text) == alone
    assert bank.match_many(texts) == [bank.match(t) for t in texts]


def test_bank_names_the_bad_query():
    with pytest.raises(QuerySyntaxError) as caught:
        QueryIndex({1: "ok", 2: "(broken"})
    assert caught.value.key == 2


def _data_dir() -> Path:
    return Path(os.environ.get("LISTENING_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))


def test_bank_equals_naive_evaluation_on_real_brand_tweets():
    path = _data_dir() / "brands" / "brand_topic_tweets.tsv"
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set LISTENING_DATA_DIR)")
    with path.open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)][:1500]
    queries = dict(
        enumerate(
            [
                "apple OR #apple",
                "amazon NOT prime",
                "netflix",
                "uber NEAR/5 (lyft OR taxi)",
                "xbox*",
                "NOT the",
            ]
        )
    )
    bank = QueryIndex(queries)
    compiled = {key: compile_query(query) for key, query in queries.items()}
    for text in texts:
        index = TextIndex(text)
        assert bank.match(index) == [key for key, matcher in compiled.items() if matcher(index)]


def test_random_token_soup_parses_or_fails_cleanly():
    import random

    pieces = [
        "(",
        ")",
        '"',
        "a",
        "b",
        "#c",
        "@d",
        "e*",
        "AND",
        "OR",
        "NOT",
        "NEAR/2",
        "NEAR",
        "NEAR/0",
        "*",
        "\u200b",
    ]
    rng = random.Random(1)
    for _ in range(5000):
        query = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        try:
            matcher = compile_query(query)
        except QuerySyntaxError as error:
            assert 0 <= error.position <= len(query)
        else:
            assert matcher(TextIndex("a b #c @d eee")) in (True, False)
