"""Webhook secrets at rest: encrypted, recoverable under SECRET_KEY and its fallbacks, nothing else."""

from __future__ import annotations

import pytest
from django.test import override_settings

from listening.webhooks.secret_store import SecretDecryptionError, decrypt_secret, encrypt_secret
from listening.webhooks.signing import generate_secret


def test_round_trip_and_no_plaintext_at_rest() -> None:
    secret = generate_secret()
    token = encrypt_secret(secret)
    assert secret not in token and secret[6:] not in token
    assert decrypt_secret(token) == secret
    assert encrypt_secret(secret) != token  # a fresh IV each time


def test_rotated_secret_key_still_decrypts_via_fallbacks_and_a_foreign_key_does_not() -> None:
    secret = generate_secret()
    with override_settings(SECRET_KEY="old-key-" + "x" * 50):
        token = encrypt_secret(secret)
    with override_settings(SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 50]):
        assert decrypt_secret(token) == secret
    with (
        override_settings(SECRET_KEY="other-" + "z" * 50, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(SecretDecryptionError),
    ):
        decrypt_secret(token)
    with pytest.raises(SecretDecryptionError):
        decrypt_secret("not a token")
