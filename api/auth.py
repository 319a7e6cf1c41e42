"""``Authorization: Api-Key <key>`` authentication."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from listening.tenancy.models import ApiKey
from listening.tenancy.services import authenticate_key

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, plaintext = header.partition(" ")
        if keyword != KEYWORD:
            return None
        plaintext = plaintext.strip()
        if not plaintext or len(plaintext) > 200:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        key = authenticate_key(plaintext)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return key.membership.user, key

    def authenticate_header(self, request: Request) -> str:
        # A value here makes DRF answer 401 (not 403) when credentials are missing.
        return KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Api-Key <key>"}
