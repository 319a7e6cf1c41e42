"""The model registry's rows: each version of the language model that produced enrichments."""

from __future__ import annotations

from django.db import models

from listening.tenancy.models import Organization


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ModelTask(models.TextChoices):
    """What a version does. The registry keeps one active version per (organization, task): the
    language model that enriches mentions (``sentiment``, with its intent head and the custom
    classifiers' versions) and the decoder that drafts reply suggestions (``replies``)."""

    SENTIMENT = "sentiment", "Enrichment (sentiment, intent, custom classifiers)"
    REPLIES = "replies", "Reply suggestions (decoder LLM)"


class ModelVersion(models.Model):
    # Null organization: a shared version (the shipped default); otherwise learnt from that tenant's data.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="model_versions"
    )
    name = models.CharField(max_length=120, unique=True)
    task = models.CharField(max_length=16, choices=ModelTask.choices, default=ModelTask.SENTIMENT)
    # Set on a custom classifier's versions (``listening.classifiers``): the registry keeps one
    # active version per (organization, classifier), apart from the language model's own.
    classifier = models.ForeignKey(
        "classifiers.Classifier", null=True, blank=True, on_delete=models.CASCADE, related_name="versions"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    backbone = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE)
    artefact_path = models.CharField(max_length=500, blank=True, default="")
    checksum = models.CharField(max_length=64, blank=True, default="")
    hyperparameters = models.JSONField(default=dict, blank=True)
    data_snapshot = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    gate_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class LabelledExample(models.Model):
    """A labelled text to learn from: an imported dataset row or a mention tagged in bulk.

    ``used_in`` is the first version trained on it; later cycles only replay it.
    """

    class Origin(models.TextChoices):
        IMPORT = "import", "Imported dataset"
        TAGGED = "tagged", "Tagged mention"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="labelled_examples")
    mention = models.ForeignKey(
        "mentions.Mention", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task = models.CharField(max_length=16, default="sentiment")
    text = models.TextField()
    label = models.CharField(max_length=80)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.IMPORT)
    created_at = models.DateTimeField(auto_now_add=True)
    used_in = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="labelled_examples"
    )

    class Meta:
        indexes = [models.Index(fields=["organization", "used_in", "id"], name="labelled_org_used_idx")]

    def __str__(self) -> str:
        return f"{self.label}: {self.text[:40]}"


class Feedback(models.Model):
    """An analyst's correction of one mention's sentiment and/or intent. Audit trail: who (the
    membership and the key used), when, what the model said, what the analyst said, and which
    version used it (or why it was left out)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="feedback")
    mention = models.ForeignKey("mentions.Mention", on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(
        "tenancy.Membership", null=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    author_name = models.CharField(max_length=150)  # kept when the membership is deleted
    api_key = models.ForeignKey("tenancy.ApiKey", null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()  # the model input at the time of the correction
    sentiment = models.CharField(max_length=16, blank=True, default="")
    intent = models.CharField(max_length=80, blank=True, default="")
    previous_sentiment = models.CharField(max_length=16, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    used_in = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    # "" until a cycle looks at it; then "trained", "held out for the recent slice", or why it was dropped.
    disposition = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "disposition", "id"], name="feedback_org_disp_idx")]

    def __str__(self) -> str:
        return f"feedback {self.pk} by {self.author_name}"


class Preference(models.Model):
    """A pairwise judgement. ``more_negative``: which of two mentions is more negative.
    ``better_label``: which of two sentiment labels fits one mention better."""

    class Kind(models.TextChoices):
        MORE_NEGATIVE = "more_negative", "Which mention is more negative"
        BETTER_LABEL = "better_label", "Which label fits better"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="preferences")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    first = models.ForeignKey("mentions.Mention", on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(
        "mentions.Mention", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    first_label = models.CharField(max_length=16, blank=True, default="")
    second_label = models.CharField(max_length=16, blank=True, default="")
    choice = models.CharField(max_length=8, choices=[("first", "first"), ("second", "second")])
    author = models.ForeignKey(
        "tenancy.Membership", null=True, on_delete=models.SET_NULL, related_name="preferences"
    )
    author_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    used_in = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="preferences"
    )
    disposition = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} by {self.author_name}"


class CycleStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class TrainingCycle(models.Model):
    """One run of the training service. ``inputs`` pins the rows it learns from at its first start,
    so a cycle resumed after a crash sees the same data and continues from its checkpoint."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="training_cycles")
    status = models.CharField(max_length=16, choices=CycleStatus.choices, default=CycleStatus.QUEUED)
    # A reply-model cycle (``listening.replies.cycle``) and an enrichment cycle may run side by side.
    task = models.CharField(max_length=16, choices=ModelTask.choices, default=ModelTask.SENTIMENT)
    trigger = models.CharField(max_length=16, default="manual")  # manual | beat
    parent = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="cycles"
    )
    inputs = models.JSONField(default=dict, blank=True)
    data_snapshot = models.JSONField(default=dict, blank=True)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One cycle at a time per organization and task (the train queue runs one anyway).
            models.UniqueConstraint(
                fields=["organization", "task"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_open_cycle_per_org",
            )
        ]

    def __str__(self) -> str:
        return f"cycle {self.pk} ({self.status})"


class Reread(models.Model):
    """One pass of the active version over an organization's stored mentions, newest first.

    Created in the transaction of the promotion or rollback that made ``version`` the
    organization's active one (``listening.learning.reread``); the next promotion or rollback marks
    it superseded. ``cursor_published_at``/``cursor_id`` is the last mention the pass got to: every
    enriched mention after it, down to ``since``, is labelled by ``version``. ``since`` is a UTC day
    start (``LEARNING_REREAD_DAYS``), or null for all history.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SUPERSEDED = "superseded", "Superseded"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="rereads")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="rereads")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    since = models.DateTimeField(null=True, blank=True)
    cursor_published_at = models.DateTimeField(null=True, blank=True)
    cursor_id = models.BigIntegerField(null=True, blank=True)
    read = models.PositiveIntegerField(default=0)  # mentions re-enriched so far
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A newer promotion supersedes the running pass before it starts its own.
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(status="running"),
                name="one_running_reread_per_org",
            )
        ]
        # The latest pass of an organization (analytics provenance reads its ``since``).
        indexes = [models.Index(fields=["organization", "-id"], name="reread_org_latest")]

    def __str__(self) -> str:
        return f"re-read of org {self.organization_id} by {self.version_id} ({self.status})"
