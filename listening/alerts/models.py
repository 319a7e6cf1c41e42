"""Alert rules and the alerts they raise.

The webhook tables (endpoints, deliveries, attempts) belong to this app's migrations since its
first one, but their models live with the webhooks capability (:mod:`listening.webhooks.models`);
they are imported at the end of this module, which is what registers them with the app.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from listening.alerts.detection import DetectionParams
from listening.analytics.vocabulary import BRAND_SCOPE, CAMPAIGN_SCOPE, Scope
from listening.brands.models import Brand, Campaign
from listening.tenancy.models import Organization


class Metric(models.TextChoices):
    NEGATIVE_VOLUME = "negative_volume", "Negative volume"
    NEGATIVE_SHARE = "negative_share", "Negative share"
    # A custom classifier's label (``classifier`` and ``label`` set): its volume, or its share of
    # the classifier's labelled mentions (listening.alerts.queries.counts_of).
    LABEL_VOLUME = "label_volume", "One label's volume"
    LABEL_SHARE = "label_share", "One label's share"


# The detector's statistic for each metric: a label's count plays the negative count's part.
DETECTOR_METRIC = {
    Metric.NEGATIVE_VOLUME: "negative_volume",
    Metric.NEGATIVE_SHARE: "negative_share",
    Metric.LABEL_VOLUME: "negative_volume",
    Metric.LABEL_SHARE: "negative_share",
}


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
    classifier = models.ForeignKey(
        "classifiers.Classifier", null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    label = models.CharField(max_length=80, blank=True, default="")
    # In [0, 1]: threshold = 2 + 6 (1 - sensitivity) in -log10 p (detection.threshold_for).
    sensitivity = models.FloatField(default=0.5)
    min_volume = models.PositiveIntegerField(default=20)  # mentions of any sentiment in the window
    min_negative = models.PositiveIntegerField(default=5)  # label rules: mentions with the label
    cooldown_minutes = models.PositiveIntegerField(default=120)
    # The judged window and the history's bucket; must divide a day.
    window_minutes = models.PositiveIntegerField(default=60)
    is_active = models.BooleanField(default=True)
    # detection.Episode.to_dict(): the state machine between checks. Written under a row lock.
    episode = models.JSONField(default=dict, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_score = models.FloatField(null=True, blank=True)
    # detection.MultiScale.status() of the last check: its verdict, why it is quiet, every window's
    # numbers; with "checked_at". Empty before the first check.
    last_check = models.JSONField(default=dict, blank=True)
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

    @property
    def subject(self) -> tuple[Scope, int]:
        """What the rule watches, as the analytics app names it: (scope, brand or campaign id)."""
        if self.brand_id is not None:
            return BRAND_SCOPE, self.brand_id
        assert self.campaign_id is not None  # the check constraint: exactly one of the two
        return CAMPAIGN_SCOPE, self.campaign_id

    @property
    def bucket_seconds(self) -> int:
        """The history's bucket: the rule's window, or an hour for longer windows, so the baseline
        keeps its hour-of-day shape and three days of history are 72 buckets, not 3."""
        return min(self.window_minutes * 60, 3600)

    def params(self) -> DetectionParams:
        window = self.bucket_seconds
        return DetectionParams(
            metric=DETECTOR_METRIC[Metric(self.metric)],  # type: ignore[arg-type]
            sensitivity=self.sensitivity,
            min_volume=self.min_volume,
            min_negative=self.min_negative,
            cooldown=timedelta(minutes=self.cooldown_minutes),
            # Three days of buckets before any verdict, whatever the window.
            min_history_buckets=max(1, 3 * 86400 // window),
            # An hour's worth of windows: keeps the EWMA's memory a week long in time.
            share_halflife_buckets=7 * 86400 / window,
            window_seconds=self.window_minutes * 60,  # what min_volume and min_negative are for
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


# Registers the webhook models with this app (their app_label): see the module docstring.
import listening.webhooks.models  # noqa: E402, F401
