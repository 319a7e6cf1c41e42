"""Streaming readers for imported files (CSV, TSV, JSONL), in constant memory.

Each record becomes a dict in the push format (see ``ingestion/push.py``) through a column mapping,
or an error string saying what is wrong with that line; nothing is skipped silently. The reader
reports bytes consumed so a progress bar can follow a multi-gigabyte file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

# One field may be large (a support transcript), but not unbounded.
MAX_FIELD_BYTES = 1_000_000
csv.field_size_limit(min(sys.maxsize, MAX_FIELD_BYTES))


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column feeds which push field. ``id`` may be None: the external id is then
    ``<file stem>:<line number>``, so importing the same file twice stores nothing twice."""

    text: str = "text"
    id: str | None = "id"
    published_at: str | None = "published_at"
    author: str | None = "author"
    language: str | None = "language"
    rating: str | None = None
    url: str | None = None
    label: str | None = None  # kept in extra["label"]: a gold label for supervised learning
    # Conversation fields (see ``ingestion/push.py``): read where the file has these columns.
    conversation_id: str | None = "conversation_id"
    in_reply_to: str | None = "in_reply_to"
    author_role: str | None = "author_role"
    extra: tuple[str, ...] = field(default_factory=tuple)  # more columns copied into extra


@dataclass
class Record:
    line: int  # 1-based line (CSV: the record's first line) in the file
    item: dict[str, Any] | None
    error: str | None = None


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    return {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(last, "")


class _CountingReader(io.RawIOBase):
    """Counts the compressed/raw bytes read, for progress on the file as stored."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def _to_item(row: dict[str, Any], mapping: ColumnMapping, fallback_id: str) -> Record:
    def get(column: str | None) -> Any:
        return row.get(column) if column else None

    text = get(mapping.text)
    if text is None:
        return Record(0, None, f"missing text column {mapping.text!r}")
    item: dict[str, Any] = {"text": text, "external_id": str(get(mapping.id) or fallback_id)}
    if (published := get(mapping.published_at)) not in (None, ""):
        item["published_at"] = published
    if (author := get(mapping.author)) not in (None, ""):
        item["author"] = author if isinstance(author, dict) else {"id": str(author), "handle": str(author)}
    if (language := get(mapping.language)) not in (None, ""):
        item["language"] = language
    if (url := get(mapping.url)) not in (None, ""):
        item["url"] = url
    if (rating := get(mapping.rating)) not in (None, ""):
        item["rating"] = rating
    for key, column in (
        ("conversation_id", mapping.conversation_id),
        ("in_reply_to", mapping.in_reply_to),
        ("author_role", mapping.author_role),
    ):
        if (value := get(column)) not in (None, ""):
            item[key] = value
    extra = {column: row[column] for column in mapping.extra if column in row}
    if (label := get(mapping.label)) not in (None, ""):
        extra["label"] = label
    if isinstance(row.get("extra"), dict):
        extra = {**row["extra"], **extra}
    if extra:
        item["extra"] = extra
    for key in ("engagement", "channel"):
        if key in row:
            item[key] = row[key]
    return Record(0, item)


def read_records(
    path: Path, mapping: ColumnMapping, *, fmt: str | None = None
) -> tuple[Iterator[Record], Any]:
    """Open ``path`` (optionally .gz) and return (records, progress) where ``progress()`` gives
    (bytes consumed, total bytes)."""
    fmt = fmt or detect_format(path)
    if fmt not in ("csv", "tsv", "jsonl"):
        raise ValueError(f"Cannot tell the format of {path.name}; pass --format csv|tsv|jsonl.")
    total = path.stat().st_size
    handle = path.open("rb")
    counter = _CountingReader(handle)
    buffered = io.BufferedReader(counter, buffer_size=1 << 20)
    binary: IO[bytes] = (
        gzip.GzipFile(fileobj=buffered) if path.suffix.lower() == ".gz" else buffered  # type: ignore[assignment]
    )
    text = io.TextIOWrapper(binary, encoding="utf-8", errors="replace", newline="")
    stem = path.name.split(".")[0]

    def progress() -> tuple[int, int]:
        return counter.consumed, total

    def records() -> Iterator[Record]:
        try:
            if fmt == "jsonl":
                for number, line in enumerate(text, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except (json.JSONDecodeError, RecursionError) as exc:
                        yield Record(number, None, f"invalid JSON: {exc}")
                        continue
                    if not isinstance(row, dict):
                        yield Record(number, None, "each line must be a JSON object")
                        continue
                    record = _to_item(row, mapping, f"{stem}:{number}")
                    record.line = number
                    yield record
            else:
                # TSV exports (TweetEval, SemEval) use no quoting: a quote is part of the text.
                if fmt == "csv":
                    reader = csv.DictReader(text, delimiter=",")
                else:
                    reader = csv.DictReader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
                if reader.fieldnames is None:  # reads the header line
                    return
                while True:
                    number = reader.line_num + 1
                    try:
                        row = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as exc:
                        yield Record(number, None, f"malformed row: {exc}")
                        continue
                    if None in row:  # more cells than header columns
                        row.pop(None)
                    record = _to_item(row, mapping, f"{stem}:{number}")
                    record.line = number
                    yield record
        finally:
            text.close()

    return records(), progress
