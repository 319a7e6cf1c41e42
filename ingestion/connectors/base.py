"""The shape every pull connector has, and what it hands back.

A connector is built from a Source's ``config`` and ``credentials`` and asked for one page at a
time from a stored cursor::

    with get_connector(source.connector)(source.config, source.credentials) as connector:
        connector.validate_config()        # at save time too: a clear ConnectorConfigError
        page = connector.fetch_page(source.cursor or None)
        store(page.items); quarantine(page.skipped)
        source.cursor = page.next_cursor   # only once the page is stored (same transaction)
        # page.exhausted false: fetch again now (respecting page.rate_limit.resume_at)

``fetch_page`` never writes anywhere and never moves a cursor: it returns the cursor that follows
the page. Errors are sorted in ``ingestion.connectors.errors``.

Each source lives in ``ingestion/connectors/<source>/`` with the same three files:
``client.py`` (the HTTP calls and the page envelope), ``parse.py`` (the wire models of one item and
their translation into ``RawItem``) and ``connector.py`` (config, credentials and cursor models,
paging). A connector declares ``config_model`` and ``credentials_model`` (``wire.SettingsModel``
subclasses); the base validates them.

What every connector does alike lives here rather than in each: ``load_cursor`` (the stored cursor
into its model), ``get_json`` and ``worded_auth_errors`` (a refusal worded for the Source),
``access_token`` (an OAuth 2 token once a pull: Reddit's client credentials, a Google service
account's JWT), ``convert_items`` (wire objects into items, the bad ones skipped with a reason) and
``sweep_cursor`` (the cursor of a listing read page by page down to the last sweep's mark: App
Store, Reddit, Google Play).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import ValidationError

from ingestion.connectors.errors import ConnectorAuthError, ConnectorPermanentError
from ingestion.connectors.http import HttpClient, JsonResponse, RateLimitInfo
from ingestion.connectors.wire import (
    SettingsModel,
    WireModel,
    describe_validation_error,
    parse_envelope,
    parse_settings,
)

__all__ = [
    "Author",
    "Connector",
    "GetJson",
    "ItemKind",
    "ItemRejected",
    "Page",
    "RateLimitInfo",
    "RawItem",
    "SkippedItem",
    "convert_items",
    "iter_pages",
    "sweep_cursor",
]


class ItemKind(StrEnum):
    """Matches ``listening.mentions.models.SourceKind`` values."""

    SOCIAL = "social"
    REVIEW = "review"
    SUPPORT = "support"
    NEWS = "news"


# Matches ``listening.mentions.models.AuthorRole`` values, plus "" for "the source does not say".
AUTHOR_ROLES = frozenset({"", "customer", "agent"})


@dataclass(frozen=True)
class Author:
    id: str = ""
    handle: str = ""  # e.g. the X username, without "@"
    name: str = ""  # display name


@dataclass
class RawItem:
    """One post, review or ticket as the source gave it, before cleaning.

    ``engagement`` holds non-negative counts under the keys likes, reposts, replies, quotes, views
    (those the source has). ``language`` is the source's own hint (ISO 639-1), or ``None``.
    ``extra`` holds what is specific to the kind: ``rating`` (1..5) and ``title`` for reviews,
    ``ticket_id`` and ``turns`` for support transcripts; it is JSON-serialisable. ``raw`` is the
    original JSON (for a ticket: ``{"ticket": ..., "comments": [...]}``), kept for quarantine and
    re-parsing.

    ``channel`` is where inside the source it was said (a subreddit, a site, an app and territory).
    ``conversation_id`` names the thread, ``in_reply_to`` the external id (same source) of the
    message this one answers, and ``author_role`` is ``"customer"`` or ``"agent"`` (the brand's own
    account) where the source tells them; ``""`` where it does not.
    """

    external_id: str
    kind: ItemKind
    text: str
    author: Author
    published_at: datetime
    url: str = ""
    engagement: dict[str, int] = field(default_factory=dict)
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    channel: str = ""
    conversation_id: str = ""
    in_reply_to: str = ""
    author_role: str = ""
    raw: Any = None

    def __post_init__(self) -> None:
        if not self.external_id:
            raise ValueError("external_id must not be empty")
        if self.published_at.tzinfo is None:
            raise ValueError("published_at must be timezone-aware")
        if self.author_role not in AUTHOR_ROLES:
            raise ValueError(f"author_role must be one of {sorted(AUTHOR_ROLES)}, got {self.author_role!r}")


@dataclass(frozen=True)
class SkippedItem:
    """An item of a page that could not be turned into a ``RawItem``: quarantine it with ``reason``.

    ``index`` is its position in the page as received; ``external_id`` is "" when even that was
    unreadable.
    """

    index: int
    external_id: str
    reason: str
    raw: Any


@dataclass
class Page:
    """One page of a pull.

    ``next_cursor`` is JSON-serialisable and is where the next ``fetch_page`` starts: store it only
    after ``items`` are stored. ``exhausted`` is true when the source has nothing more right now
    (the next pull, one interval later, starts from ``next_cursor``); false means fetch again now.
    """

    items: list[RawItem]
    next_cursor: dict[str, Any]
    exhausted: bool
    rate_limit: RateLimitInfo | None = None
    skipped: list[SkippedItem] = field(default_factory=list)


class ItemRejected(Exception):
    """Raised by a parser for one item that cannot be used; the rest of the page goes on."""


ConfigT = TypeVar("ConfigT", bound=SettingsModel)
CredentialsT = TypeVar("CredentialsT", bound=SettingsModel)
CursorT = TypeVar("CursorT", bound=SettingsModel)


class TokenAnswer(WireModel):
    """An OAuth 2 token endpoint's answer (RFC 6749 sections 5.1 and 5.2)."""

    access_token: str | None = None
    token_type: str = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int | None = None
    error: str | None = None
    error_description: str | None = None


# RFC 6749 section 5.2 codes that mean "these credentials are no good", answered with HTTP 400;
# the other codes (invalid_request, unsupported_grant_type) are the connector's own bug.
_REFUSED_GRANTS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client", "invalid_scope"})


class Connector(ABC, Generic[ConfigT, CredentialsT]):
    """Base of every pull connector. Subclasses set the class variables and ``fetch_page``.

    ``config`` is the Source's non-secret settings, ``credentials`` its secrets (never logged, never
    put in an error message). ``http`` is shared by tests (an ``HttpClient`` with a fake clock) and
    by callers that pull several pages in one go.
    """

    kind: ClassVar[ItemKind]
    name: ClassVar[str]  # the registry key, stored in Source.connector
    title: ClassVar[str]  # for messages: "X recent search"
    credentials_help: ClassVar[str]  # what to fix when the API refuses the credentials
    config_model: type[ConfigT]
    credentials_model: type[CredentialsT]

    def __init__(
        self,
        config: Mapping[str, Any],
        credentials: Mapping[str, str],
        *,
        http: HttpClient | None = None,
    ) -> None:
        self.config = dict(config)
        self.credentials = dict(credentials)
        self._owns_http = http is None
        self.http = http or HttpClient()
        self._access_token: str | None = None

    def close(self) -> None:
        """Close the HTTP session if this connector opened it (a passed-in client is the caller's)."""
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Connector[ConfigT, CredentialsT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def validate_config(self) -> None:
        """Raise ``ConnectorConfigError`` with a message an analyst can act on; no network."""
        self.settings()

    def settings(self) -> tuple[ConfigT, CredentialsT]:
        """The validated config and credentials (``ConnectorConfigError`` if they are not)."""
        return (
            parse_settings(self.config_model, self.config, what=f"{self.title} config"),
            parse_settings(self.credentials_model, self.credentials, what=f"{self.title} credentials"),
        )

    def load_cursor(self, model: type[CursorT], cursor: Mapping[str, Any] | None) -> CursorT:
        """The stored cursor validated into ``model`` (``None`` or ``{}``: the model's defaults), or
        ``ConnectorConfigError`` naming this connector's cursor."""
        return parse_settings(model, dict(cursor or {}), what=f"stored {self.title} cursor")

    @abstractmethod
    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        """Fetch the page that starts at ``cursor`` (``None``: the first pull of this source)."""

    def auth_error(self, status: int, detail: str) -> ConnectorAuthError:
        """The refusal worded for the Source's ``last_error``: what to fix, and the API's words."""
        said = f" The API said: {detail}" if detail else ""
        return ConnectorAuthError(
            f"{self.title} refused the credentials (HTTP {status}). {self.credentials_help}{said}",
            status=status,
            detail=detail,
        )

    @contextmanager
    def worded_auth_errors(self) -> Iterator[None]:
        """Re-raise the HTTP client's bare ``ConnectorAuthError`` as ``auth_error`` words it."""
        try:
            yield
        except ConnectorAuthError as exc:
            raise self.auth_error(exc.status, exc.detail) from exc

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> JsonResponse:
        """``http.get_json`` with an auth error worded for the Source's ``last_error``."""
        with self.worded_auth_errors():
            return self.http.get_json(url, params=params, headers=headers, auth=auth)

    def access_token(
        self,
        url: str,
        *,
        data: Mapping[str, str] | Callable[[], Mapping[str, str]],
        auth: tuple[str, str] | None = None,
        api: str,
    ) -> str:
        """An OAuth 2 access token from the token endpoint ``url``, asked for once per connector,
        i.e. once per pull: tokens outlive a pull (an hour or more). ``data`` is the grant's form,
        or a function that makes it (a signed JWT assertion), called only when a token is asked for.

        A refusal is a ``ConnectorAuthError`` worded for the Source: HTTP 401/403, a 400 whose
        ``error`` says the client or grant is bad, or a 200 that carries an ``error`` (Reddit)."""
        if self._access_token is None:
            try:
                with self.worded_auth_errors():
                    form = data() if callable(data) else data
                    response = self.http.post_form_json(url, data=form, auth=auth)
            except ConnectorPermanentError as exc:
                code = exc.detail.split(":", 1)[0].strip()  # http's detail: "invalid_grant: why"
                if exc.status == 400 and code in _REFUSED_GRANTS:
                    raise self.auth_error(400, exc.detail) from exc
                raise
            answer = parse_envelope(TokenAnswer, response, api=api)
            if answer.error or not answer.access_token:
                said = ": ".join(part for part in (answer.error, answer.error_description) if part)
                raise self.auth_error(response.status, said or "no access_token")
            self._access_token = answer.access_token
        return self._access_token


GetJson = Callable[..., JsonResponse]  # Connector.get_json, handed to each source's client


def iter_pages(
    connector: Connector[Any, Any], cursor: Mapping[str, Any] | None, *, max_pages: int
) -> Iterator[Page]:
    """Pages from ``cursor`` on, for one pull: stops after an exhausted page, after ``max_pages``,
    or when the API's rate-limit window is used up (``page.rate_limit.resume_at`` says until when).

    The request for a page goes out only when the caller asks for it, that is after it has stored
    the page before (and its ``next_cursor``); a caller that stops early loses nothing.
    """
    current = dict(cursor) if cursor else None
    for _ in range(max_pages):
        page = connector.fetch_page(current)
        yield page
        if page.exhausted or (page.rate_limit is not None and page.rate_limit.resume_at is not None):
            return
        current = page.next_cursor


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...


Stamp = TypeVar("Stamp", bound=_Ordered)  # a datetime, or epoch seconds


def sweep_cursor(
    stamps: Sequence[Stamp],
    *,
    since: Stamp | None,
    sweep_newest: Stamp | None,
    first_page: bool,
    more: Mapping[str, Any] | None,
    encode: Callable[[Stamp | None], Any] | None = None,
    newest_first: bool = True,
) -> tuple[dict[str, Any], bool]:
    """The cursor after one page of a sweep, and whether the sweep is done (``Page.exhausted``).

    A sweep reads a listing page by page down to ``since``, the newest stamp the sweep before met,
    and then stores its own newest stamp as the next ``since``. ``stamps`` are the page's item
    times; ``first_page`` says the page opened the sweep; ``more`` is the position of the next page
    (``{"after": ...}``, ``{"page": 2}``) or ``None`` where there is none (the last page, or an
    empty one). While under way the cursor is ``{"since": S, **more, "sweep_newest": N}``; once
    done, ``{"since": N}``. ``encode`` turns a stamp into its JSON form (``iso_utc`` for datetimes).

    ``newest_first``: the listing is served newest first (App Store, Reddit), so the sweep stops on
    the page that meets an item no newer than ``since``; where the order is not documented
    (Google Play) every page is read, and the caller leaves out what is older than ``since``.
    Items met again at the seam come again and storage, idempotent on the external id, drops them:
    nothing between two sweeps is lost.
    """
    marks = [*stamps, *([sweep_newest] if sweep_newest is not None and not first_page else [])]
    newest = max(marks, default=None)
    met_old = newest_first and since is not None and any(t <= since for t in stamps)
    if more is not None and not met_old:
        under_way = {"since": since, **more, "sweep_newest": newest}
        if encode is not None:
            under_way |= {"since": encode(since), "sweep_newest": encode(newest)}
        return under_way, False
    done = [t for t in (newest, since) if t is not None]
    mark = max(done) if done else None
    return {"since": encode(mark) if encode is not None else mark}, True


def convert_items(
    objects: Sequence[Any], convert: Callable[[Any], RawItem | Sequence[RawItem]], *, id_key: str = "id"
) -> tuple[list[RawItem], list[SkippedItem]]:
    """Convert each wire object; one that fails validation is skipped with its reason.

    ``convert`` may return several items for one object (a review and the developer's reply to
    it), or none (all of it already stored). ``id_key`` names the object's id, for the skipped."""
    items: list[RawItem] = []
    skipped: list[SkippedItem] = []
    for index, obj in enumerate(objects):
        try:
            converted = convert(obj)
            if isinstance(converted, RawItem):
                items.append(converted)
            else:
                items.extend(converted)
        except ValidationError as exc:
            reason = describe_validation_error(exc)
        except (ItemRejected, ValueError) as exc:
            reason = str(exc)
        else:
            continue
        skipped.append(SkippedItem(index=index, external_id=_guess_id(obj, id_key), reason=reason, raw=obj))
    return items, skipped


def _guess_id(obj: Any, key: str) -> str:
    if isinstance(obj, Mapping):
        value = obj.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:255]
    return ""
