"""Customer → agent pairs from a JSONL file, for scoring a reply model on anyone's transcripts. Pure.

One JSON object per line: ``customer`` and ``agent`` (non-empty strings), optional ``context`` (the
turns before the customer's message, oldest first: ``[{"role": "customer"|"agent", "text": ...}]``),
optional ``brand`` (a name), and any other field (ignored). Blank lines are skipped. Every bad line
is reported with its number and what is wrong, all at once, so a file is fixed in one pass.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from models.generation.prompt import Turn

ROLES = ("customer", "agent")
# Twitter-style corpora open every message with the handles it answers ("@AmazonHelp @115712 ..."):
# removed from the start of a text, so a model is neither credited nor blamed for copying them.
_LEADING_HANDLES = re.compile(r"^(?:\s*@\w{1,50})+\s*")


class PairsFileError(ValueError):
    """The file cannot be read as pairs; the message lists every bad line."""


@dataclass(frozen=True)
class FilePair:
    customer: str
    agent: str
    context: tuple[Turn, ...] = ()
    brand: str = ""
    line: int = 0
    extra: dict[str, object] = field(default_factory=dict, compare=False)


def strip_handles(text: str) -> str:
    return _LEADING_HANDLES.sub("", text).strip()


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name!r} must be a non-empty string")
    return value.strip()


def parse_pair(raw: str, line: int = 0, *, handles: bool = True) -> FilePair:
    """One line as a pair; raises ValueError saying what is wrong. ``handles=False`` strips the
    leading @handles of every text."""
    try:
        row = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    clean = (lambda text: text) if handles else strip_handles
    customer = clean(_text(row.get("customer"), "customer"))
    agent = clean(_text(row.get("agent"), "agent"))
    if not customer or not agent:
        raise ValueError("'customer' and 'agent' hold nothing but @handles")
    context_raw = row.get("context", [])
    if context_raw is None:
        context_raw = []
    if not isinstance(context_raw, list):
        raise ValueError("'context' must be a list of {role, text} turns")
    context: list[Turn] = []
    for i, turn in enumerate(context_raw):
        if not isinstance(turn, dict) or turn.get("role") not in ROLES:
            raise ValueError(f"context turn {i} must be an object with role 'customer' or 'agent'")
        context.append(Turn(str(turn["role"]), clean(_text(turn.get("text"), f"context[{i}].text"))))
    brand = row.get("brand", "")
    if brand is None:
        brand = ""
    if not isinstance(brand, str):
        raise ValueError("'brand' must be a string")
    known = {"customer", "agent", "context", "brand"}
    return FilePair(
        customer, agent, tuple(context), brand.strip(), line, {k: v for k, v in row.items() if k not in known}
    )


def scan_pairs(path: Path, *, handles: bool = True) -> tuple[list[FilePair], list[str]]:
    """(the good pairs, a message per bad line); raises PairsFileError if the file cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise PairsFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise PairsFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    pairs: list[FilePair] = []
    errors: list[str] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            pairs.append(parse_pair(raw, number, handles=handles))
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    return pairs, errors


def read_pairs(path: Path, *, handles: bool = True, limit: int | None = None) -> list[FilePair]:
    """Every pair of the file (the first ``limit``); raises PairsFileError listing the bad lines."""
    pairs, errors = scan_pairs(path, handles=handles)
    if errors:
        shown = errors[:20] + ([f"... and {len(errors) - 20} more"] if len(errors) > 20 else [])
        raise PairsFileError(f"{path}: {len(errors)} bad line(s)\n" + "\n".join(shown))
    if not pairs:
        raise PairsFileError(f"{path}: no pairs (one JSON object per line with customer and agent)")
    return pairs[:limit] if limit is not None else pairs
