"""Encryption at rest for webhook signing secrets.

They must be recoverable to sign, so they are encrypted (Fernet: AES-128-CBC + HMAC-SHA256), not
hashed. The key is derived with HKDF from ``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still decrypt,
so a rotated Django key does not orphan the endpoints (re-save them to re-encrypt under the new key).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# The key-derivation label: part of every stored token's key, so it keeps the name it was born with.
_INFO = b"listening.alerts.webhook-secret.v1"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted (the SECRET_KEY it was written under is gone)."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keyring() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(k) for k in keys])


def encrypt_secret(secret: str) -> str:
    return _keyring().encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str) -> str:
    try:
        return _keyring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretDecryptionError("webhook secret cannot be decrypted with SECRET_KEY") from exc
