"""Reply suggestions: the customer → brand-agent pairs they learn from, each brand's voice, and the
suggestions drafted for a mention."""

from __future__ import annotations

from django.db import models

from listening.brands.models import Brand
from listening.mentions.models import Mention, Source
from listening.tenancy.models import Organization


class PairOrigin(models.TextChoices):
    THREAD = "thread", "A reply mention answering a customer mention (in_reply_to)"
    TRANSCRIPT = "transcript", "An agent turn of a support transcript (Zendesk comments, pushed turns)"


class ReplyPair(models.Model):
    """A customer's message and the brand agent's real answer: the supervision of the reply model.

    Both texts are the redacted ones (``Mention.clean_text``, redacted transcript turns): nothing a
    model learns from or retrieves holds the PII that ingestion removed. ``context`` holds the turns
    before the customer's message (``[{"role", "text"}]``, oldest first), also redacted. ``key`` makes
    building idempotent: ``m:<agent mention id>`` for threads, ``t:<mention id>:<turn index>`` for
    transcripts.
    """

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=300)
    origin = models.CharField(max_length=16, choices=PairOrigin.choices)
    # The customer's message as a mention (thread: the parent; transcript: the ticket itself).
    customer_mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="+")
    agent_mention = models.ForeignKey(
        Mention, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    conversation_id = models.CharField(max_length=255, blank=True, default="")
    context = models.JSONField(default=list, blank=True)
    customer_text = models.TextField()
    agent_text = models.TextField()
    replied_at = models.DateTimeField()  # when the agent answered: the time order of splits
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="uniq_reply_pair_key")]
        indexes = [models.Index(fields=["organization", "-replied_at"], name="replypair_org_time")]

    def __str__(self) -> str:
        return f"pair {self.key}"


class ReplyGuidelines(models.Model):
    """A brand's voice for drafted replies: free text (tone, what may be promised), a sign-off, and
    phrases a suggestion must never contain (a suggestion holding one is dropped)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="reply_guidelines")
    text = models.TextField(blank=True, default="", max_length=4000)
    sign_off = models.CharField(max_length=200, blank=True, default="")
    refusals = models.JSONField(default=list, blank=True)  # ["full refund", "compensation", ...]
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"guidelines of brand {self.brand_id}"


class SuggestionOrigin(models.TextChoices):
    DRAFT = "draft", "Drafted by the reply model"
    PAST_REPLY = "past_reply", "The brand's own past reply to the nearest exchange"


class ReplySuggestion(models.Model):
    """One suggested reply to a mention, as served. Rank 1 is the brand's own past reply to a
    near-identical message when there is one (``origin`` past_reply, ``past_pair``), else the draft
    the model scored best; the drafts follow by score."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="reply_suggestions")
    request_id = models.CharField(max_length=64)  # the suggestions drafted together share it
    rank = models.PositiveSmallIntegerField()
    text = models.TextField()
    score = models.FloatField()  # mean log-likelihood per token under the model that drafted it
    model_version = models.CharField(max_length=200)  # the decoder (backbone, adapter) that drafted it
    # The registry row of that reply model (null: drafted before the registry knew reply models).
    reply_model = models.ForeignKey(
        "learning.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retrieved_pairs = models.JSONField(default=list, blank=True)  # ids of the pairs in the prompt
    origin = models.CharField(max_length=16, choices=SuggestionOrigin.choices, default=SuggestionOrigin.DRAFT)
    # The exchange a past_reply suggestion comes from (its agent's text, through the guard rails).
    past_pair = models.ForeignKey(
        "ReplyPair", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dropped = models.JSONField(default=list, blank=True)  # what the guard rails removed, and why
    # What the prompt was built from besides the retrieved pairs, so preference tuning rebuilds the
    # prompt the model saw: {"thread": [{"role", "text"}], "guidelines": {"brand", "text", ...}}.
    prompt_inputs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["mention", "request_id", "rank"], name="replysuggestion_request")]

    def __str__(self) -> str:
        return f"suggestion {self.rank} for mention {self.mention_id}"


class FeedbackAction(models.TextChoices):
    RANK = "rank", "Ordered some suggestions of one request, best first"
    PICK = "pick", "Picked one suggestion as the best"
    SEND = "send", "Sent a suggestion, edited or not: the text sent counts as the best"


class ReplyFeedback(models.Model):
    """An analyst's judgement of the suggestions drafted together (one ``request_id``): the human
    feedback the reply model's preference tuning learns from. Audit trail: who (the membership, its
    name, the key used), when, what (the action, the ranking, the text sent), and what a cycle did
    with it (``disposition``: "" until a cycle looks, then "trained" or why it was left out)."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="+")
    suggestion = models.ForeignKey(ReplySuggestion, on_delete=models.CASCADE, related_name="feedback")
    request_id = models.CharField(max_length=64)
    action = models.CharField(max_length=8, choices=FeedbackAction.choices)
    ranking = models.JSONField(default=list, blank=True)  # suggestion ids, best first (rank)
    text = models.TextField(blank=True, default="")  # the text sent (send), redacted as any text kept
    author = models.ForeignKey("tenancy.Membership", null=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150)  # kept when the membership is deleted
    api_key = models.ForeignKey("tenancy.ApiKey", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    disposition = models.CharField(max_length=200, blank=True, default="")
    used_in = models.CharField(max_length=200, blank=True, default="")  # the reply model trained on it

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "disposition", "id"], name="replyfeedback_org_disp"),
            models.Index(fields=["author", "created_at"], name="replyfeedback_author_day"),
        ]

    def __str__(self) -> str:
        return f"reply feedback {self.pk} ({self.action}) by {self.author_name}"
