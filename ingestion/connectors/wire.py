"""Validation shared by every source: pydantic base models for wire objects and for settings,
timestamp and base-URL types, and the translation of validation failures into our errors.

Wire models are strict: a wrong type is a rejection, never a coercion ("5" is not 5 stars).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from ingestion.connectors.errors import ConnectorConfigError, MalformedPageError
from ingestion.connectors.http import JsonResponse


class WireModel(BaseModel):
    """Base of the wire models: strict types, unknown keys ignored (APIs add fields all the time)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SettingsModel(BaseModel):
    """Base of config/credentials/cursor models: strict types, and an unknown key is an error
    (a typo in a config key must not be silently ignored)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def _timestamp(value: Any, *, naive_is_utc: bool) -> Any:
    if not isinstance(value, str):
        return value  # strict validation then rejects anything but a datetime
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 timestamp: {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"timestamp has no UTC offset: {value[:40]!r}")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# An ISO 8601 string with an offset ("...Z" or "+02:00"); a naive one is rejected.
AwareDatetime = Annotated[datetime, BeforeValidator(partial(_timestamp, naive_is_utc=False))]
# An ISO 8601 string; one without offset is read as UTC (for APIs that document UTC throughout).
UtcDatetime = Annotated[datetime, BeforeValidator(partial(_timestamp, naive_is_utc=True))]


def iso_utc(value: datetime | None) -> str | None:
    """A moment as ISO 8601 in UTC with "Z" (for cursors), or None."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    # Credentials travel in headers: plain HTTP only to a local test or proxy server.
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ValueError("must use https (plain http is accepted for 127.0.0.1/localhost only)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("must not carry a query, fragment or user info")
    return value.rstrip("/")


# An API's base URL, without trailing slash: https, or http to a loopback address only.
BaseUrl = Annotated[str, AfterValidator(_check_base_url)]


# A secret sent in a header: printable ASCII without spaces, so it can never break a header line.
Token = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096, pattern=r"^[\x21-\x7e]+$")
]


def describe_validation_error(exc: ValidationError, *, limit: int = 5) -> str:
    """'stars: Input should be a valid integer; consumer.displayName: Field required' (no values:
    they may be secrets, or huge)."""
    parts = []
    for error in exc.errors(include_input=False)[:limit]:
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


M = TypeVar("M", bound=BaseModel)


def parse_settings(model: type[M], data: Any, *, what: str) -> M:
    """Validate ``data`` (config, credentials or a stored cursor) into ``model``, or raise
    ``ConnectorConfigError("invalid <what>: ...")``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConnectorConfigError(f"invalid {what}: {describe_validation_error(exc)}") from exc


def malformed_page(message: str, response: JsonResponse) -> MalformedPageError:
    """A ``MalformedPageError`` carrying the decoded document, re-encoded for quarantine."""
    return MalformedPageError(
        message,
        body=json.dumps(response.data)[: MalformedPageError.MAX_QUARANTINED_BODY],
        url=response.url,
    )


def parse_envelope(model: type[M], response: JsonResponse, *, api: str) -> M:
    """Validate a page's envelope (its items stay raw, each validated on its own), or raise
    ``MalformedPageError``: the page is quarantined and the cursor stays where it was."""
    try:
        return model.model_validate(response.data)
    except ValidationError as exc:
        raise malformed_page(
            f"{api} answered an unexpected document: {describe_validation_error(exc)}", response
        ) from exc
