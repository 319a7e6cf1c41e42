"""Webhook objects for a tenant, made directly through the domain (get-or-create per tenant)."""

from __future__ import annotations

from listening.webhooks.models import WebhookEndpoint
from listening.webhooks.secret_store import encrypt_secret
from listening.webhooks.signing import generate_secret
from tests.conftest import Tenant


def webhook_of(t: Tenant, url: str = "https://hooks.example.com/listening") -> WebhookEndpoint:
    """An endpoint stored without the URL check (creation through the API vets it)."""
    endpoint = WebhookEndpoint.objects.filter(organization=t.org).first()
    secret = generate_secret()
    return endpoint or WebhookEndpoint.objects.create(
        organization=t.org, url=url, secret_encrypted=encrypt_secret(secret), secret_prefix=secret[:12]
    )
