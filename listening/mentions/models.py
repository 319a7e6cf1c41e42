"""What people wrote (mentions), where it came from (sources) and what the model read in it."""

from __future__ import annotations

from django.db import models

from listening.brands.models import Brand, Campaign
from listening.learning.models import ModelVersion
from listening.tenancy.models import Organization


class SourceKind(models.TextChoices):
    SOCIAL = "social", "Social post"
    REVIEW = "review", "Product review"
    SUPPORT = "support", "Support transcript"
    NEWS = "news", "News or blog article"


class AuthorRole(models.TextChoices):
    """Who wrote a message in a conversation: the brand's customer or the brand's own agent."""

    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Brand agent"


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"
    POSITIVE = "positive", "Positive"


class Source(models.Model):
    """A place mentions come from: a pull connector (with its cursor) or a push/import channel."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    # Connector name from ingestion.connectors ("push" for API pushes and file imports).
    connector = models.CharField(max_length=40, default="push")
    config = models.JSONField(default=dict, blank=True)
    # Secrets for the outside API (bearer tokens...). Write-only through the API, never rendered.
    credentials = models.JSONField(default=dict, blank=True)
    # Where the next pull starts; advanced only after the page it follows is stored.
    cursor = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    pull_interval_seconds = models.PositiveIntegerField(default=300)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_source_name")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Mention(models.Model):
    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="mentions")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="mentions")
    external_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    text = models.TextField()  # as received (after Unicode repair only): shown to analysts
    clean_text = models.TextField(default="")  # markup stripped, PII redacted: training-visible
    model_text = models.TextField(default="")  # clean_text with URLs/handles normalised: model input
    language = models.CharField(max_length=8, default="und", db_index=False)
    language_confidence = models.FloatField(null=True, blank=True)
    author_id = models.CharField(max_length=255, blank=True, default="")
    author_handle = models.CharField(max_length=255, blank=True, default="")
    author_name = models.CharField(max_length=255, blank=True, default="")
    published_at = models.DateTimeField()
    url = models.URLField(max_length=2000, blank=True, default="")
    engagement = models.JSONField(default=dict, blank=True)  # likes, reposts, replies, quotes, views
    engagement_total = models.PositiveBigIntegerField(default=0)
    rating = models.SmallIntegerField(null=True, blank=True)  # reviews: 1..5
    extra = models.JSONField(default=dict, blank=True)  # e.g. support conversation turns
    # Where inside the source it was said: a subreddit, a news site, an app and territory, a
    # channel name. A filter and group-by facet ("share of voice by channel"); "" when the source has one.
    channel = models.CharField(max_length=120, blank=True, default="")
    # Conversations: which thread a message belongs to (X conversation_id, a ticket id, a Reddit
    # post), which message of the same source it answers (its external id), and who wrote it. A
    # customer's message followed by the brand agent's answer is a reply-training pair. "" = unknown.
    conversation_id = models.CharField(max_length=255, blank=True, default="")
    in_reply_to = models.CharField(max_length=255, blank=True, default="")
    author_role = models.CharField(max_length=16, choices=AuthorRole.choices, blank=True, default="")
    bot_score = models.FloatField(default=0.0)
    content_hash = models.CharField(max_length=64, blank=True, default="")
    # Near-duplicates (retweets, copy-paste campaigns) point at one canonical mention that counts them.
    canonical = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    duplicate_count = models.PositiveIntegerField(default=1)
    # Denormalised from the active model's enrichment, so list filters need no join.
    # "" until enriched.
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True, default="")
    enriched_at = models.DateTimeField(null=True, blank=True)
    # When an enrich worker claimed this unread mention (a lease, committed before inference): others
    # skip it until ENRICH_LEASE_SECONDS pass, and the reading is written only while the stamp is still its
    # claimer's (compare-and-set). Cleared when the reading is stored.
    enrich_claimed_at = models.DateTimeField(null=True, blank=True)
    # The version whose enrichment ``sentiment`` (and every other stored reading) comes from: what
    # the history re-read compares with the active version, and what analytics count per version.
    # No constraint: a copy of the newest Enrichment's version (whose key is enforced), added to a
    # large table without the scan and lock of validating a foreign key; no index (nothing looks
    # mentions up by version).
    model_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    brands = models.ManyToManyField(Brand, through="BrandMention", related_name="mentions")
    campaigns = models.ManyToManyField(Campaign, through="CampaignMention", related_name="mentions")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"], name="uniq_mention_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-published_at", "-id"], name="mention_org_time"),
            models.Index(fields=["organization", "content_hash"], name="mention_org_hash"),
            models.Index(fields=["organization", "enriched_at"], name="mention_org_enriched"),
            # A thread's messages, and the replies to one message; most mentions are in no thread.
            models.Index(
                fields=["organization", "source", "conversation_id"],
                name="mention_conversation",
                condition=~models.Q(conversation_id=""),
            ),
            models.Index(
                fields=["organization", "source", "in_reply_to"],
                name="mention_in_reply_to",
                condition=~models.Q(in_reply_to=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id}"


class BrandMention(models.Model):
    """A mention matched a brand's query. ``published_at`` and ``sentiment`` are copied from the
    mention so a brand's mention list (optionally of one sentiment), newest first, is an index-only
    scan of this table that yields the page's mention ids without touching the mentions table.

    ``sentiment`` is written together with ``Mention.sentiment`` (``mentions.services``), never alone.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="brand_mentions")
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="brand_mentions")
    published_at = models.DateTimeField()
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "mention"], name="uniq_brand_mention")]
        # Both end in mention_id: the page's ids come from the index, in (published_at, id) order.
        indexes = [
            models.Index(fields=["brand", "published_at", "mention"], name="brandmention_time_id"),
            models.Index(
                fields=["brand", "sentiment", "published_at", "mention"], name="brandmention_sentiment_time"
            ),
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} ← mention {self.mention_id}"


class CampaignMention(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="campaign_mentions")
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="campaign_mentions")
    published_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "mention"], name="uniq_campaign_mention")]
        # Ends in mention_id: a campaign's mention list pages through this index alone.
        indexes = [
            models.Index(fields=["campaign", "published_at", "mention"], name="campaignmention_time_id")
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} ← mention {self.mention_id}"


class Enrichment(models.Model):
    """One model version's reading of one mention. Idempotent per (mention, model version)."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="enrichments")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="enrichments")
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices)
    sentiment_probs = models.JSONField(default=dict)  # {"negative": p, "neutral": p, "positive": p}
    emotion = models.CharField(max_length=32, blank=True, default="")
    emotion_probs = models.JSONField(default=dict, blank=True)
    irony_prob = models.FloatField(null=True, blank=True, help_text="Probability that the text is ironic.")
    irony = models.BooleanField(
        null=True,
        blank=True,
        help_text="irony_prob at or above the model version's irony threshold; "
        "null on readings from before versions had one.",
    )
    # Null, not "": "no intent" must never be counted as a label.
    intent = models.CharField(  # noqa: DJ001
        max_length=64,
        null=True,
        blank=True,
        help_text="The support intent, or null for no intent: the model abstained or was below its "
        "confidence threshold, or the text is neither a support transcript, a question nor a complaint.",
    )
    intent_prob = models.FloatField(null=True, blank=True, help_text="Probability of intent; null with it.")
    embedding = models.BinaryField(null=True, blank=True)  # float32 little-endian, L2-normalised
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mention", "model_version"], name="uniq_enrichment_version")
        ]

    def __str__(self) -> str:
        return f"mention {self.mention_id} by {self.model_version_id}: {self.sentiment}"


class QuarantinedItem(models.Model):
    """An item that could not be stored, kept with its reason and raw payload so nothing is lost."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="quarantine")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=32)  # push, import, pull
    reason = models.TextField()
    payload = models.TextField()  # raw item (truncated to a documented size)
    batch_ref = models.CharField(max_length=120, blank=True, default="")
    item_index = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="quarantine_org_time")]

    def __str__(self) -> str:
        return f"quarantined ({self.channel}): {self.reason[:60]}"
