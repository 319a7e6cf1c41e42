"""Custom classifiers: an organization's own labels, their examples, analysts' tags and the labels
each mention was given.

A classifier's trained versions are ordinary registry rows (``learning.ModelVersion`` with
``classifier`` set): promotion, rollback, manifest and checksums are the registry's own.
"""

from __future__ import annotations

from django.db import models

from listening.brands.models import Brand
from listening.mentions.models import SourceKind
from listening.tenancy.models import Organization

# Bounds of a definition (the API refuses more with a 400 that says which).
MIN_LABELS = 2
MAX_LABELS = 100
MAX_NAME_CHARS = 80
MAX_DESCRIPTION_CHARS = 500
MAX_EXAMPLE_CHARS = 2000
MAX_EXAMPLES_PER_LABEL = 64
MAX_EXAMPLES = 1000


class Classifier(models.Model):
    class Scope(models.TextChoices):
        ALL = "all", "All mentions"
        BRAND = "brand", "One brand's mentions"
        SOURCE_KIND = "source_kind", "One source kind"
        NEGATIVE = "negative", "Negative mentions only"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="classifiers")
    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.ALL)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices, blank=True, default="")
    multi_label = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_classifier_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ClassifierLabel(models.Model):
    classifier = models.ForeignKey(Classifier, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=MAX_NAME_CHARS)
    description = models.CharField(max_length=MAX_DESCRIPTION_CHARS, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)
    # Example texts given with the definition: a JSON list of strings (bounded by the API).
    examples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["classifier", "name"], name="uniq_classifier_label")]

    def __str__(self) -> str:
        return self.name


class ClassifierTag(models.Model):
    """An analyst's labels for one mention under one classifier: feedback with an audit trail (who,
    with which key, when, what the classifier said, what the analyst said, which version used it)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    classifier = models.ForeignKey(Classifier, on_delete=models.CASCADE, related_name="tags")
    mention = models.ForeignKey("mentions.Mention", on_delete=models.CASCADE, related_name="+")
    labels = models.JSONField(default=list)  # label names; empty: "none of these"
    previous_labels = models.JSONField(default=list, blank=True)
    text = models.TextField()  # the model input at the time of the tag
    author = models.ForeignKey("tenancy.Membership", null=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150)
    api_key = models.ForeignKey("tenancy.ApiKey", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    used_in = models.ForeignKey(
        "learning.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disposition = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["classifier", "id"], name="tag_classifier_idx")]

    def __str__(self) -> str:
        return f"tag {self.pk} by {self.author_name}"


class ClassifierReading(models.Model):
    """What a classifier version said about one mention: the current one per (classifier, mention)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    classifier = models.ForeignKey(Classifier, on_delete=models.CASCADE, related_name="readings")
    mention = models.ForeignKey(
        "mentions.Mention", on_delete=models.CASCADE, related_name="classifier_readings"
    )
    model_version = models.ForeignKey("learning.ModelVersion", on_delete=models.CASCADE, related_name="+")
    labels = models.JSONField(default=list)  # served labels; empty: "none of these"
    scores = models.JSONField(default=dict)  # label -> probability
    uncertainty = models.FloatField(default=0.0)  # models.classifiers.uncertainty: 1 = least sure
    published_at = models.DateTimeField()  # the mention's, for time windows without a join

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["classifier", "mention"], name="uniq_classifier_reading"),
        ]
        indexes = [
            models.Index(fields=["classifier", "-uncertainty"], name="reading_uncertain_idx"),
            models.Index(fields=["classifier", "published_at"], name="reading_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.classifier_id}/{self.mention_id}: {self.labels}"


class MentionLabel(models.Model):
    """One served label of one mention (a row per label; none for "none of these"): what the mention
    list filters on and label shares count."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    classifier = models.ForeignKey(Classifier, on_delete=models.CASCADE, related_name="+")
    mention = models.ForeignKey("mentions.Mention", on_delete=models.CASCADE, related_name="custom_labels")
    label = models.CharField(max_length=MAX_NAME_CHARS)
    published_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["classifier", "mention", "label"], name="uniq_mention_label"),
        ]
        indexes = [models.Index(fields=["classifier", "label", "published_at"], name="mention_label_idx")]

    def __str__(self) -> str:
        return f"{self.mention_id}: {self.label}"


class ClassifierBackfill(models.Model):
    """The progress of labelling the stored history with one active classifier version.

    Created when the version becomes active (``listening.classifiers.backfill``); every batch moves
    ``cursor`` (the next batch starts below this mention id) and ``updated_at``, and a pass that has
    not moved for ``backfill.STALE_AFTER`` is sent again by beat from its cursor (a lost message, a
    killed worker). The version's retirement ends it as superseded.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SUPERSEDED = "superseded", "Superseded"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    version = models.OneToOneField(
        "learning.ModelVersion", on_delete=models.CASCADE, related_name="classifier_backfill"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    cursor = models.BigIntegerField(null=True, blank=True)
    read = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "updated_at"], name="cls_backfill_stale_idx")]

    def __str__(self) -> str:
        return f"backfill of version {self.version_id}: {self.status}"
