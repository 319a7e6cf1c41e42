"""The SemEval-2017 brand-topic tweets (``$LISTENING_DATA_DIR/brands/brand_topic_tweets.tsv``) as records.

Pure (no Django): the topic benchmark and the analytics quality tests read the data through here.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# Brands with enough tweets in the file (>= 100 each).
BRANDS = ("apple", "amazon", "netflix", "nike", "xbox", "sony", "dunkin", "gucci")
_SENTIMENT = {"positive": "positive", "negative": "negative", "neutral": "neutral"}


@dataclass(frozen=True)
class Tweet:
    id: str
    brand: str
    published_at: datetime
    sentiment: str  # positive / neutral / negative
    text: str


def data_file() -> Path:
    root = os.environ.get("LISTENING_DATA_DIR") or str(
        Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    return Path(root) / "brands" / "brand_topic_tweets.tsv"


def _sentiment(label: str) -> str:
    if label in _SENTIMENT:
        return _SENTIMENT[label]
    value = int(label)
    return "positive" if value > 0 else "negative" if value < 0 else "neutral"


def read_brand_tweets(brands: tuple[str, ...] = BRANDS, path: Path | None = None) -> list[Tweet]:
    """Tweets of ``brands`` in file order. Raises ``FileNotFoundError`` when the data is absent."""
    with (path or data_file()).open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Tweet(
                row["tweet_id"],
                row["topic"],
                datetime.fromisoformat(row["created_at_from_id"].replace("Z", "+00:00")),
                _sentiment(row["label"]),
                row["text"],
            )
            for row in rows
            if row["topic"] in brands
        ]
