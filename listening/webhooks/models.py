"""Webhook endpoints, the deliveries made to them and every attempt (Standard Webhooks).

Signing secrets must be recoverable to sign, so they cannot be hashed like API keys: they are
encrypted at rest (Fernet, key derived from ``SECRET_KEY``; see :mod:`listening.webhooks.secret_store`)
and the API shows only a prefix after the one response that creates or rotates them.

The tables have been the ``alerts`` app's since its first migration; ``app_label = "alerts"`` keeps
them there (same tables, same migration state) while the code lives with the capability.
``listening.alerts.models`` imports this module, which registers the models when Django loads apps.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from listening.tenancy.models import Organization
from listening.webhooks.secret_store import decrypt_secret


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    name = models.CharField(max_length=120, blank=True, default="")
    url = models.CharField(max_length=2048)
    # Fernet tokens of "whsec_..." strings (listening.webhooks.secret_store); never rendered.
    secret_encrypted = models.TextField()
    secret_prefix = models.CharField(max_length=16)
    previous_secret_encrypted = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Event types this endpoint receives; empty means all of them.
    event_types = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    slack_format = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "alerts"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.url[:60]

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets to sign with at ``now``, newest first: two during a rotation overlap."""
        secrets = [decrypt_secret(self.secret_encrypted)]
        if (
            self.previous_secret_encrypted
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        ):
            secrets.append(decrypt_secret(self.previous_secret_encrypted))
        return secrets

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its next attempt at next_attempt_at
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # permanent: refused destination, 410, endpoint disabled
    DEAD = "dead", "Dead"  # every scheduled attempt failed


class WebhookDelivery(models.Model):
    """One message to one endpoint. Its ``msg_id`` (webhook-id) and body are fixed at creation and
    reused on every attempt, so a receiver deduplicates retries."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The alert an event is about (None for a ping); by name, since alerts import this module.
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    msg_id = models.CharField(max_length=64, unique=True)
    body = models.TextField()  # the exact UTF-8 JSON that is signed and sent
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # ``attempts`` when the retry schedule last restarted (a redelivery by hand).
    schedule_offset = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while an attempt runs, pushed ahead by a lease (the claim).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "alerts"
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due"),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id} → endpoint {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempt_no = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=24)  # transport.Outcome
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")  # first 1 kB, for the log
    remote_ip = models.CharField(max_length=45, blank=True, default="")

    class Meta:
        app_label = "alerts"
        constraints = [
            models.UniqueConstraint(fields=["delivery", "attempt_no"], name="uniq_delivery_attempt_no")
        ]
        ordering = ["attempt_no"]

    def __str__(self) -> str:
        return f"attempt {self.attempt_no} of delivery {self.delivery_id}: {self.outcome}"
