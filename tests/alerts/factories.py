"""Alerting objects for a tenant, made directly through the domain (get-or-create per tenant)."""

from __future__ import annotations

from django.utils import timezone

from listening.alerts.models import Alert, AlertRule, WebhookEndpoint
from listening.alerts.secret_store import encrypt_secret
from listening.alerts.signing import generate_secret
from tests.conftest import Tenant


def rule_of(t: Tenant) -> AlertRule:
    rule = AlertRule.objects.filter(organization=t.org, brand=t.brand).first()
    return rule or AlertRule.objects.create(organization=t.org, brand=t.brand, name=f"{t.org.name} spikes")


def alert_of(t: Tenant) -> Alert:
    rule = rule_of(t)
    alert = Alert.objects.filter(rule=rule).first()
    now = timezone.now()
    return alert or Alert.objects.create(
        organization=t.org,
        rule=rule,
        brand=t.brand,
        metric=rule.metric,
        fired_at=now,
        updated_at=now,
        window_start=now,
        window_end=now,
        status="resolved",
        resolved_at=now,
    )


def webhook_of(t: Tenant, url: str = "https://hooks.example.com/listening") -> WebhookEndpoint:
    """An endpoint stored without the URL check (creation through the API vets it)."""
    endpoint = WebhookEndpoint.objects.filter(organization=t.org).first()
    secret = generate_secret()
    return endpoint or WebhookEndpoint.objects.create(
        organization=t.org, url=url, secret_encrypted=encrypt_secret(secret), secret_prefix=secret[:12]
    )
