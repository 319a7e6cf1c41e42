"""Typed readers for settings that come from environment variables.

Every reader fails loudly with ``ImproperlyConfigured`` on a malformed value instead of silently
falling back to a default, and every string reader also accepts a ``<NAME>_FILE`` variant (a path to
a file holding the value), so secrets can come from Docker/Kubernetes secret mounts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Missing()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """The variable's value, or the stripped contents of the file named by ``<name>_FILE``."""
    value = os.environ.get(name)
    file_path = os.environ.get(f"{name}_FILE")
    if value is not None and file_path is not None:
        raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
    if file_path is not None:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return value


def _read(name: str, default: T | _Missing, parse: Callable[[str], T]) -> T:
    raw = _raw(name)
    if raw is None or raw == "":
        if isinstance(default, _Missing):
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default
    try:
        return parse(raw)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is malformed: {exc}") from exc


def env_str(name: str, default: str | _Missing = REQUIRED) -> str:
    return _read(name, default, str)


def env_bool(name: str, default: bool | _Missing = REQUIRED) -> bool:
    def parse(raw: str) -> bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}")

    return _read(name, default, parse)


def env_int(
    name: str, default: int | _Missing = REQUIRED, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if minimum is not None and value < minimum:
            raise ValueError(f"must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be <= {maximum}")
        return value

    return _read(name, default, parse)


def env_float(name: str, default: float | _Missing = REQUIRED, *, minimum: float | None = None) -> float:
    def parse(raw: str) -> float:
        value = float(raw.strip())
        if minimum is not None and value < minimum:
            raise ValueError(f"must be >= {minimum}")
        return value

    return _read(name, default, parse)


def env_list(name: str, default: list[str] | _Missing = REQUIRED) -> list[str]:
    """A comma-separated list; blanks are dropped."""
    return _read(name, default, lambda raw: [item.strip() for item in raw.split(",") if item.strip()])


def env_choice(name: str, choices: Iterable[str], default: str | _Missing = REQUIRED) -> str:
    allowed = sorted(choices)

    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"expected one of {allowed}")
        return value

    return _read(name, default, parse)
