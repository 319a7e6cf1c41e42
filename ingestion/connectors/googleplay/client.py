"""The Google Play Developer API reviews call, its envelope, and the service-account token grant.

Token (a service account, https://developers.google.com/identity/protocols/oauth2/service-account,
"JWT bearer" grant of RFC 7523)::

    POST {token_uri}       grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>
    -> {"access_token": "ya29...", "expires_in": 3599, "token_type": "Bearer"}
    -> 400 {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}

The JWT is RS256-signed with the key file's ``private_key``: header ``{"alg": "RS256", "typ":
"JWT", "kid": private_key_id}``, claims ``iss`` (``client_email``), ``scope``
(``https://www.googleapis.com/auth/androidpublisher``), ``aud`` (``token_uri``), ``iat`` and
``exp`` (an hour later at most).

Reviews, with ``Authorization: Bearer <access token>``::

    GET {base_url}/androidpublisher/v3/applications/{packageName}/reviews
        ?maxResults=100&token=<nextPageToken>&translationLanguage=en
    -> {"reviews": [<review>...],
        "tokenPagination": {"nextPageToken": "...", "previousPageToken": "..."},
        "pageInfo": {"totalResults": 230, "resultPerPage": 100, "startIndex": 0}}

An app without recent reviews answers ``{}``; the last page has no ``nextPageToken``. Only the
reviews created or modified in the last seven days are listed, and only those with text. Errors
come as ``{"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}``; quota
(200 ``reviews.list`` calls an hour by default) as 429. No rate-limit headers are sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import Field

from ingestion.connectors.base import GetJson, RateLimitInfo
from ingestion.connectors.wire import WireModel, parse_envelope

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # seconds: the longest Google accepts


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


def signed_assertion(
    *,
    client_email: str,
    private_key: rsa.RSAPrivateKey,
    key_id: str,
    audience: str,
    now: datetime,
    scope: str = SCOPE,
) -> str:
    """The RS256 JWT a service account trades for an access token (RFC 7523 section 2.1)."""
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if key_id:
        header["kid"] = key_id
    issued = int(now.timestamp())
    claims = {
        "iss": client_email,
        "scope": scope,
        "aud": audience,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
    }
    signing_input = f"{_b64json(header)}.{_b64json(claims)}"
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


class TokenPagination(WireModel):
    next_page_token: str | None = Field(default=None, alias="nextPageToken")


class ReviewsEnvelope(WireModel):
    reviews: list[Any] = []
    token_pagination: TokenPagination | None = Field(default=None, alias="tokenPagination")


@dataclass(frozen=True)
class ReviewsPage:
    reviews: list[Any]
    next_page_token: str | None
    rate_limit: RateLimitInfo | None


class GooglePlayClient:
    """``token`` gives the access token (pre-issued, or ``Connector.access_token``'s, once a pull)."""

    def __init__(
        self, get_json: GetJson, token: Callable[[], str], *, base_url: str, package_name: str
    ) -> None:
        self._get_json = get_json
        self._token = token
        self._url = f"{base_url}/androidpublisher/v3/applications/{quote(package_name, safe='')}/reviews"

    def reviews(
        self, *, page_token: str | None, max_results: int, translation_language: str | None
    ) -> ReviewsPage:
        params: dict[str, str | int] = {"maxResults": max_results}
        if page_token:
            params["token"] = page_token
        if translation_language:
            params["translationLanguage"] = translation_language
        headers = {"Authorization": f"Bearer {self._token()}"}
        response = self._get_json(self._url, params=params, headers=headers)
        envelope = parse_envelope(ReviewsEnvelope, response, api="Google Play reviews.list")
        pagination = envelope.token_pagination
        return ReviewsPage(
            reviews=list(envelope.reviews),
            next_page_token=pagination.next_page_token if pagination is not None else None,
            rate_limit=response.rate_limit,
        )
