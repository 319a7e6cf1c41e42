"""Alert rules, the alerts they raise, and the webhooks that carry them (Standard Webhooks).

Webhook signing secrets must be recoverable to sign, so they cannot be hashed like API keys: they
are encrypted at rest (Fernet, key derived from ``SECRET_KEY``; see :mod:`listening.alerts.secrets`)
and the API shows only a prefix after the one response that creates or rotates them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from listening.alerts.detection import DetectionParams
from listening.alerts.secret_store import decrypt_secret
from listening.brands.models import Brand, Campaign
from listening.tenancy.models import Organization


class Metric(models.TextChoices):
    NEGATIVE_VOLUME = "negative_volume", "Negative volume"
    NEGATIVE_SHARE = "negative_share", "Negative share"


class AlertRule(models.Model):
    """Watch one brand or one campaign (exactly one of the two) for a negative spike."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_rules")
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    name = models.CharField(max_length=160, blank=True, default="")
    metric = models.CharField(max_length=24, choices=Metric.choices, default=Metric.NEGATIVE_VOLUME)
    # In [0, 1]: threshold = 2 + 6 (1 - sensitivity) in -log10 p (detection.threshold_for).
    sensitivity = models.FloatField(default=0.5)
    min_volume = models.PositiveIntegerField(default=20)  # mentions of any sentiment in the window
    min_negative = models.PositiveIntegerField(default=5)
    cooldown_minutes = models.PositiveIntegerField(default=120)
    # The judged window and the history's bucket; must divide a day.
    window_minutes = models.PositiveIntegerField(default=60)
    is_active = models.BooleanField(default=True)
    # detection.Episode.to_dict(): the state machine between checks. Written under a row lock.
    episode = models.JSONField(default=dict, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(brand__isnull=False) & Q(campaign__isnull=True))
                | (Q(brand__isnull=True) & Q(campaign__isnull=False)),
                name="alertrule_brand_xor_campaign",
            ),
            models.CheckConstraint(
                condition=Q(sensitivity__gte=0.0) & Q(sensitivity__lte=1.0),
                name="alertrule_sensitivity_range",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "id"], name="alertrule_active")]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or f"{self.metric} rule {self.pk}"

    def params(self) -> DetectionParams:
        window = self.window_minutes * 60
        return DetectionParams(
            metric=self.metric,  # type: ignore[arg-type]
            sensitivity=self.sensitivity,
            min_volume=self.min_volume,
            min_negative=self.min_negative,
            cooldown=timedelta(minutes=self.cooldown_minutes),
            # Three days of buckets before any verdict, whatever the window.
            min_history_buckets=max(1, 3 * 86400 // window),
            # An hour's worth of windows: keeps the EWMA's memory a week long in time.
            share_halflife_buckets=7 * 86400 / window,
        )


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """One episode of one rule: fired once, updated while it grows, resolved when it subsides."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="alerts")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    metric = models.CharField(max_length=24, choices=Metric.choices)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    episode = models.JSONField(default=dict)
    fired_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    peak_score = models.FloatField(default=0.0)
    peak_negative = models.PositiveIntegerField(default=0)
    # Evaluation.numbers() of the latest window that fired or updated the alert.
    numbers = models.JSONField(default=dict)
    # {"top_terms": [{term, count, baseline_count}], "sources": [{name, count}],
    #  "sample_mentions": [{id, text, url, source, published_at, sentiment}]}; texts truncated.
    explanation = models.JSONField(default=dict)
    is_false_positive = models.BooleanField(default=False)
    marked_false_positive_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_false_positive_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # The last line of "one alert per episode": at most one open alert per rule.
            models.UniqueConstraint(
                fields=["rule"], condition=Q(status="open"), name="uniq_open_alert_per_rule"
            )
        ]
        indexes = [models.Index(fields=["organization", "-fired_at"], name="alert_org_time")]
        ordering = ["-fired_at", "-id"]

    def __str__(self) -> str:
        return f"alert {self.pk} ({self.status}) on rule {self.rule_id}"


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    name = models.CharField(max_length=120, blank=True, default="")
    url = models.CharField(max_length=2048)
    # Fernet tokens of "whsec_..." strings (listening.alerts.secrets); never rendered.
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
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
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
        constraints = [
            models.UniqueConstraint(fields=["delivery", "attempt_no"], name="uniq_delivery_attempt_no")
        ]
        ordering = ["attempt_no"]

    def __str__(self) -> str:
        return f"attempt {self.attempt_no} of delivery {self.delivery_id}: {self.outcome}"
