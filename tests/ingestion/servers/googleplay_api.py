"""A fake Google Play Developer API: Google's OAuth token endpoint for service accounts and
``reviews.list`` of androidpublisher v3, in their wire formats.

``POST /token`` wants ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an RS256 JWT
``assertion`` whose signature verifies against the service account's public key, with ``iss``
the account's email, ``aud`` this endpoint, the androidpublisher ``scope`` and a lifetime of an
hour at most; a refused grant is a 400 ``{"error": "invalid_grant", ...}`` as Google answers.
``GET /androidpublisher/v3/applications/{package}/reviews`` wants ``Authorization: Bearer
<issued token>`` (401 in Google's error layout otherwise), honours ``maxResults`` (1..100) and pages
through an opaque ``token``; an unknown package is a 404. Reviews are served in the order they were
added (Google documents none). ``{}`` when there are none.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.ingestion.servers.harness import FakeApi, Request, Response

PACKAGE = "com.acme.app"
CLIENT_EMAIL = "listening@acme-play.iam.gserviceaccount.com"
KEY_ID = "0123456789abcdef"
ACCESS_TOKEN = "ya29.test-access-token"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
BASE_TIME = 1_795_000_000  # 2026-11-18T...Z
REVIEWS_PATH = f"/androidpublisher/v3/applications/{PACKAGE}/reviews"

# One key for the whole test session: generating an RSA key takes a moment.
PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def key_file(token_uri: str, *, key: rsa.RSAPrivateKey = PRIVATE_KEY, email: str = CLIENT_EMAIL) -> str:
    """A service account key file as the Cloud console downloads it."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-play",
            "private_key_id": KEY_ID,
            "private_key": pem(key),
            "client_email": email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com",
        }
    )


def stamp(seconds: int, nanos: int = 0) -> dict[str, Any]:
    return {"seconds": str(seconds), "nanos": nanos}  # int64 as a string, as Google writes it


def make_review(
    n: int,
    text: str,
    *,
    age: int = 0,
    rating: int = 4,
    reply: str | None = None,
    reply_age: int | None = None,
    language: str = "en",
) -> dict[str, Any]:
    comments: list[dict[str, Any]] = [
        {
            "userComment": {
                "text": text,
                "lastModified": stamp(BASE_TIME - age, 500_000_000),
                "starRating": rating,
                "reviewerLanguage": language,
                "device": "klte",
                "androidOsVersion": 34,
                "appVersionCode": 321,
                "appVersionName": "3.2.1",
                "thumbsUpCount": n % 3,
                "thumbsDownCount": 0,
                "deviceMetadata": {"productName": "klte (Galaxy S5)", "manufacturer": "Samsung"},
            }
        }
    ]
    if reply is not None:
        replied = BASE_TIME - (reply_age if reply_age is not None else age - 60)
        comments.append({"developerComment": {"text": reply, "lastModified": stamp(replied)}})
    return {"reviewId": f"gp:review-{n}", "authorName": f"User {n}", "comments": comments}


def moment(seconds: int, nanos: int = 0) -> datetime:
    return datetime.fromtimestamp(seconds + nanos / 1e9, UTC)


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _google_error(code: int, message: str, status: str) -> Response:
    return Response.json({"error": {"code": code, "message": message, "status": status}}, code)


class GooglePlayApi(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.reviews: list[Any] = []  # any JSON: tests add malformed reviews too
        self.tokens_issued = 0
        self.public_key = PRIVATE_KEY.public_key()
        self.claims: list[dict[str, Any]] = []  # of each accepted assertion

    def handle(self, request: Request) -> Response:
        if request.path == "/token":
            return self._token(request)
        if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            return _google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "UNAUTHENTICATED",
            )
        if request.path != REVIEWS_PATH:
            return _google_error(404, "Package not found.", "NOT_FOUND")
        limit = int(request.query.get("maxResults", "10"))
        if not 1 <= limit <= 100:
            return _google_error(400, "Invalid maxResults.", "INVALID_ARGUMENT")
        start = int(_unb64(request.query["token"]).decode()) if request.query.get("token") else 0
        window = self.reviews[start : start + limit]
        if not window:
            return Response.json({})
        body: dict[str, Any] = {
            "pageInfo": {"totalResults": len(self.reviews), "resultPerPage": limit, "startIndex": start},
            "reviews": window,
        }
        if start + limit < len(self.reviews):
            token = base64.urlsafe_b64encode(str(start + limit).encode()).decode().rstrip("=")
            body["tokenPagination"] = {"nextPageToken": token}
        return Response.json(body)

    def _token(self, request: Request) -> Response:
        def refused(why: str) -> Response:
            return Response.json({"error": "invalid_grant", "error_description": why}, 400)

        if request.form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Response.json(
                {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400
            )
        parts = request.form.get("assertion", "").split(".")
        if len(parts) != 3:
            return refused("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
        header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
        try:
            self.public_key.verify(
                _unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return refused("Invalid JWT Signature.")
        if header != {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}:
            return refused(f"bad header {header}")
        if claims.get("iss") != CLIENT_EMAIL:
            return refused("Invalid grant: account not found")
        if claims.get("aud") != f"{self.base_url}/token" or claims.get("scope") != SCOPE:
            return refused("Invalid JWT: audience or scope")
        if not 0 < claims["exp"] - claims["iat"] <= 3600:
            return refused("Invalid JWT: Token must be a short-lived token (60 minutes)")
        self.claims.append(claims)
        self.tokens_issued += 1
        return Response.json({"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
