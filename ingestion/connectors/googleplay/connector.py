"""Google Play reviews of one app, with the developer's replies, as a pull connector.

Config: ``package_name`` (``com.example.app``), ``app_name`` (optional, for the channel: "Acme
(Google Play)", and as the name on the developer's replies), ``max_results`` (1..100, default
100), ``translation_language`` (optional: Google translates the reviews into it, e.g. ``en``;
the original stays in ``extra.original_text``), ``base_url`` (default
``https://androidpublisher.googleapis.com``).

Credentials, one of: ``service_account_json``, the JSON key file of a service account that the
Play Console grants "Reply to reviews" (it is traded for an access token at its ``token_uri``,
once a pull), or ``access_token``, an OAuth 2 token with the ``androidpublisher`` scope issued
elsewhere (it expires within the hour: for tests and one-off pulls).

Cursor: ``reviews.list`` lists the reviews created or modified in the last seven days, in an order
Google does not document, so a sweep reads every page through ``nextPageToken`` rather than
stopping at the first review it has seen: ``{"since": S, "token": T, "sweep_newest": N}`` while
under way, ``{"since": N}`` once done (N: the latest ``lastModified`` the sweep met). Texts and
replies older than ``since`` are left out of the page; an edited review or a new reply is newer
and comes again. A source must pull at least weekly, or reviews fall out of the window unread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, StringConstraints, ValidationError, model_validator

from ingestion.connectors.base import Connector, ItemKind, Page, convert_items, sweep_cursor
from ingestion.connectors.googleplay.client import JWT_BEARER_GRANT, GooglePlayClient, signed_assertion
from ingestion.connectors.googleplay.parse import last_modified, review_to_items
from ingestion.connectors.wire import (
    BaseUrl,
    SettingsModel,
    Token,
    UtcDatetime,
    WireModel,
    describe_validation_error,
    iso_utc,
)

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,4})?$")]
PageToken = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=r"^[\x21-\x7e]+$")]


class GooglePlayConfig(SettingsModel):
    package_name: Annotated[
        str, StringConstraints(max_length=255, pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
    ]
    app_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None = (
        None
    )
    max_results: int = Field(default=100, ge=1, le=100)
    translation_language: LanguageCode | None = None
    base_url: BaseUrl = "https://androidpublisher.googleapis.com"


class ServiceAccountKey(WireModel):
    """The fields of a service account's JSON key file that the token grant uses."""

    type: Literal["service_account"]
    client_email: Annotated[str, StringConstraints(max_length=320, pattern=r"^[^\s@]+@[^\s@]+$")]
    private_key: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    private_key_id: str = ""
    token_uri: BaseUrl = GOOGLE_TOKEN_URI


def _read_key_file(text: str) -> tuple[ServiceAccountKey, rsa.RSAPrivateKey]:
    """The key file's fields and its RSA key; a ``ValueError`` that names what is wrong, never
    quoting the file (it is a secret)."""
    try:
        document = json.loads(text)
    except ValueError:
        raise ValueError("service_account_json is not JSON: paste the whole key file") from None
    try:
        key = ServiceAccountKey.model_validate(document)
    except ValidationError as exc:
        raise ValueError(f"service_account_json: {describe_validation_error(exc)}") from None
    try:
        private_key = load_pem_private_key(key.private_key.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("service_account_json: private_key is not an unencrypted PEM key") from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError("service_account_json: private_key is not an RSA key")
    return key, private_key


class GooglePlayCredentials(SettingsModel):
    service_account_json: Annotated[str, StringConstraints(min_length=2, max_length=16384)] | None = None
    access_token: Token | None = None

    @model_validator(mode="after")
    def _one_scheme(self) -> Self:
        if (self.service_account_json is None) == (self.access_token is None):
            raise ValueError("give either service_account_json or access_token")
        if self.service_account_json is not None:
            _read_key_file(self.service_account_json)
        return self

    def service_account(self) -> tuple[ServiceAccountKey, rsa.RSAPrivateKey]:
        assert self.service_account_json is not None  # validated
        return _read_key_file(self.service_account_json)


class GooglePlayCursor(SettingsModel):
    since: UtcDatetime | None = None
    token: PageToken | None = None
    sweep_newest: UtcDatetime | None = None


class GooglePlayReviewsConnector(Connector[GooglePlayConfig, GooglePlayCredentials]):
    kind: ClassVar[ItemKind] = ItemKind.REVIEW
    name: ClassVar[str] = "google_play_reviews"
    title: ClassVar[str] = "Google Play reviews"
    credentials_help: ClassVar[str] = (
        "Check the source's service account key (or access token): the service account must be "
        "invited in the Play Console with the 'Reply to reviews' permission on this app, and the "
        "Google Play Android Developer API enabled in its Google Cloud project."
    )
    config_model = GooglePlayConfig
    credentials_model = GooglePlayCredentials

    def _bearer(self, credentials: GooglePlayCredentials) -> str:
        if credentials.access_token is not None:
            return credentials.access_token
        key, private_key = credentials.service_account()
        return self.access_token(
            key.token_uri,
            data=lambda: {
                "grant_type": JWT_BEARER_GRANT,
                "assertion": signed_assertion(
                    client_email=key.client_email,
                    private_key=private_key,
                    key_id=key.private_key_id,
                    audience=key.token_uri,
                    now=self.http.clock.now(),
                ),
            },
            api="Google's token endpoint",
        )

    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        config, credentials = self.settings()
        state = self.load_cursor(GooglePlayCursor, cursor)
        client = GooglePlayClient(
            self.get_json,
            lambda: self._bearer(credentials),
            base_url=config.base_url,
            package_name=config.package_name,
        )
        result = client.reviews(
            page_token=state.token,
            max_results=config.max_results,
            translation_language=config.translation_language,
        )
        channel = f"{config.app_name or config.package_name} (Google Play)"
        items, skipped = convert_items(
            result.reviews,
            lambda obj: review_to_items(
                obj,
                package_name=config.package_name,
                channel=channel,
                developer_name=config.app_name or config.package_name,
                translation_language=config.translation_language,
                since=state.since,
            ),
            id_key="reviewId",
        )
        next_cursor, exhausted = sweep_cursor(
            [t for t in (last_modified(obj) for obj in result.reviews) if t is not None],
            since=state.since,
            sweep_newest=state.sweep_newest,
            first_page=state.token is None,
            # An empty page ends the sweep even if a next token is (wrongly) there: no endless paging.
            more={"token": result.next_page_token} if result.next_page_token and result.reviews else None,
            encode=iso_utc,
            newest_first=False,  # Google documents no order: read every page of the week
        )
        return Page(
            items=items,
            next_cursor=next_cursor,
            exhausted=exhausted,
            rate_limit=result.rate_limit,
            skipped=skipped,
        )
