"""What an organization listens for: its brands, the competitors it compares them with, campaigns."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from listening.tenancy.models import Organization


class Brand(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="brands")
    name = models.CharField(max_length=120)
    # Boolean query in the listening query language (terms, "phrases", #tags, @handles, AND/OR/NOT, NEAR/n).
    query = models.TextField(max_length=4000)
    description = models.TextField(blank=True, default="", max_length=2000)
    # Brands this brand is compared with; both sides belong to the same organization (enforced in services).
    competitors = models.ManyToManyField("self", symmetrical=False, related_name="competitor_of", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_brand_name")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="campaigns")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=160)
    query = models.TextField(max_length=4000)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    # The period the campaign is measured against (lift); by default the same length before it starts.
    baseline_starts_at = models.DateTimeField(null=True, blank=True)
    baseline_ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_campaign_name"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="campaign_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(baseline_starts_at__isnull=True)
                | Q(baseline_ends_at__isnull=True)
                | Q(baseline_ends_at__gt=F("baseline_starts_at")),
                name="campaign_baseline_ordered",
            ),
        ]
        ordering = ["-starts_at", "id"]

    def __str__(self) -> str:
        return self.name
