"""The shapes of the dashboard answers, as typed dictionaries.

What ``queries.campaign_metrics``, ``queries.brand_comparison``, ``topic_queries.brand_topics`` and
``affinities.brand_affinities`` return, key by key. The API documents its responses with them
(drf-spectacular reads TypedDicts), so the OpenAPI schema, the code and the tests that check answers
against that schema speak of one shape. Keys that Python cannot spell as names (``from``) use the
functional form. Times are aware datetimes (ISO 8601 in JSON); shares and ratios are floats rounded
to 4 places, ``None`` where the denominator is zero.
"""

# No ``from __future__ import annotations`` here: TypedDict reads ``NotRequired`` from evaluated
# annotations only (on Python 3.11), and the schema's required keys come from it.
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

# --- a custom classifier's label mix (``listening.classifiers.aggregation.label_mix``) ----------
# ``GET /api/v1/classifiers/{id}/mix/`` answers one, and campaign metrics and comparisons carry one
# under ``labels`` when asked with ``classifier=ID``. Shares are ``None`` where a brand has no
# labelled mentions.

LabelMixRange = TypedDict("LabelMixRange", {"interval": str, "from": str, "to": str})


class LabelCount(TypedDict):
    mentions: int
    share: float | None


class LabelPoint(TypedDict):
    bucket: str
    labelled: int  # mentions the classifier read in this bucket
    labels: dict[str, int]  # label -> mentions with it


class BrandLabelMix(TypedDict):
    brand: int
    name: str
    labelled: int
    labels: dict[str, LabelCount]
    series: list[LabelPoint]


class LabelLag(TypedDict):
    brand: int
    behind: float  # the leader's share minus this brand's


class LabelLead(TypedDict):
    label: str
    leader: int  # the brand with the highest share of this label
    share: float
    lags: list[LabelLag]


class LabelMix(TypedDict):
    classifier: int
    name: str
    labels: list[str]
    range: LabelMixRange
    brands: list[BrandLabelMix]
    leads: list[LabelLead]


RangeInfo = TypedDict(
    "RangeInfo",
    {
        "interval": str,  # "hour" or "day"
        "from": datetime,
        "to": datetime,
        "clamped": bool,  # the range was cut to its last ``max_buckets`` buckets
        "requested_from": NotRequired[datetime | None],
        "max_buckets": NotRequired[int],
    },
)


class VersionMentions(TypedDict):
    name: str  # the model version's name (``GET /api/v1/models/``)
    mentions: int  # mentions of the answer whose stored labels this version produced


class RereadProgress(TypedDict):
    """How far the history re-read after the last promotion or rollback has got over the answer."""

    done: int  # mentions inside the re-read window labelled by the active version
    total: int  # enriched mentions inside the re-read window
    complete: bool  # no number inside the window comes from another version
    since: str | None  # ISO 8601 start (a UTC day) of the re-read window; null: all history


class ModelProvenance(TypedDict):
    """Which model versions produced an answer's numbers (``provenance.model_provenance``), over its
    subjects and the UTC days its range touches; mentions not enriched yet are in neither count."""

    versions: list[VersionMentions]  # most mentions first
    active: str | None  # the version enriching the organization's mentions now
    reread: RereadProgress


class SentimentSplit(TypedDict):
    positive: int
    neutral: int
    negative: int
    unscored: int


class Summary(TypedDict):
    """Totals of one brand or campaign over the range (the sums of its series)."""

    volume: int
    engagement: int
    unique_authors: int | None  # known authors; null where no mention's author is known
    sentiment: SentimentSplit
    net_sentiment: float | None  # (positive - negative) / (positive + negative)


class Series(TypedDict):
    """One value per bucket of the answer's ``buckets``, zeros included."""

    volume: list[int]
    positive: list[int]
    neutral: list[int]
    negative: list[int]
    unscored: list[int]
    engagement: list[int]
    unique_authors: list[int | None]
    net_sentiment: list[float | None]


class TermCount(TypedDict):
    term: str
    mentions: int
    examples: list[int]  # ids of up to three of the newest mentions containing the term


class WeightedTerm(TypedDict):
    term: str
    weight: float  # c-TF-IDF


class EmergingTheme(TypedDict):
    term: str
    mentions: int
    examples: list[int]
    share: float
    baseline_share: float
    rise: float


LiftPeriod = TypedDict(
    "LiftPeriod",
    {"from": datetime, "to": datetime, "volume": int, "volume_per_day": float, "net_sentiment": float | None},
)


class Lift(TypedDict):
    window: LiftPeriod
    baseline: LiftPeriod
    volume_lift: float | None  # volume per day, window over baseline
    net_sentiment_change: float | None


class CampaignLift(TypedDict):
    campaign: Lift
    brand: Lift


class CampaignRef(TypedDict):
    id: int
    name: str
    brand: int


class CampaignMetrics(Summary):
    """``GET /campaigns/{id}/metrics/``."""

    campaign: CampaignRef
    range: RangeInfo
    top_terms: list[TermCount]
    top_hashtags: list[TermCount]
    emerging_themes: list[EmergingTheme]
    lift: CampaignLift
    buckets: list[str]
    series: Series
    model: NotRequired[ModelProvenance]
    labels: NotRequired[LabelMix]  # with ``classifier=ID``: that custom classifier's label mix


class ShareOfVoice(TypedDict):
    mentions: float | None
    engagement: float | None


class ThemeDifference(TypedDict):
    term: str
    mentions: int  # the brand's mentions containing the term
    examples: list[int]
    share: float
    others_share: float
    difference: float


class TopicDifference(TypedDict):
    cluster: int
    label: str
    share: float
    others_share: float
    difference: float


class BrandThemes(TypedDict):
    """Where the brand leads or lags the other compared brands (topics only with ``topics=true``)."""

    leads: list[ThemeDifference]
    lags: list[ThemeDifference]
    topic_leads: NotRequired[list[TopicDifference]]
    topic_lags: NotRequired[list[TopicDifference]]


class ComparedBrand(Summary):
    id: int
    name: str
    share_of_voice: ShareOfVoice
    top_terms: list[TermCount]
    themes: BrandThemes
    series: Series


class ComparedTopic(TypedDict):
    cluster: int
    label: str
    terms: list[str]
    size: int
    share_by_brand: dict[str, float | None]  # brand id (as text) → share of its clustered mentions


class ChannelShare(TypedDict):
    """One place: ``mentions`` and ``share`` are keyed by brand id (as text); ``share`` is the
    brand's part of the place's mentions (None when the place has none)."""

    kind: str  # source kind: social, review, support, news
    channel: str  # "" where the source has no finer place; "other" for the long tail
    total: int
    mentions: dict[str, int]
    share: dict[str, float | None]


class Comparison(TypedDict):
    """``GET /comparisons/``."""

    range: RangeInfo
    buckets: list[str]
    brands: list[ComparedBrand]
    topics: NotRequired[list[ComparedTopic]]
    model: NotRequired[ModelProvenance]
    groups: NotRequired[list[ChannelShare]]  # with group_by=channel or source_kind
    labels: NotRequired[LabelMix]  # with ``classifier=ID``: each label's share per brand, leads and lags


class BrandRef(TypedDict):
    id: int
    name: str


class DailyVolume(TypedDict):
    bucket: datetime
    volume: int


class Trend(TypedDict):
    basis: str  # "all_assigned_mentions": every enriched mention of the range, not a sample
    daily: list[DailyVolume]
    change: float | None  # second half of the range over the first, minus one


class Topic(TypedDict):
    cluster: int
    label: str
    terms: list[WeightedTerm]
    size: int
    share: float
    sentiment: SentimentSplit
    net_sentiment: float | None
    trend: Trend
    examples: list[str]  # the fitted sample's mentions nearest the topic's centre
    example_ids: list[int]


class KCandidate(TypedDict):
    k: int
    npmi: float  # mean NPMI coherence of the topics' top terms, in [-1, 1]
    diversity: float  # share of distinct words among the topics' top terms
    score: float  # npmi x diversity


class KSelection(TypedDict):
    method: str  # "npmi_x_diversity", "given" (an explicit k) or "too_few_points"
    bounds: list[int]  # [floor, ceiling] of k for the fitted sample's size
    npmi: float
    diversity: float
    score: float
    candidates: list[KCandidate]


class TopicBasis(TypedDict):
    algorithm: str  # the topic algorithm's version (part of the cache key)
    mentions: int  # the brand's mentions in the range
    assigned: int  # of them, those with a topic (every enriched one)
    unassigned_not_enriched: int
    fit_sample: int  # mentions the topics were fitted on (labels and examples come from them)
    truncated_to_newest: int | None  # set when the range held more mentions than one answer assigns
    sizes_and_trends: str
    labels_and_examples: str


class BrandTopics(TypedDict):
    """``GET /brands/{id}/topics/``."""

    range: RangeInfo
    brand: BrandRef
    seed: int
    clustered_mentions: int  # mentions assigned a topic
    k: int
    k_selection: NotRequired[KSelection]  # absent when nothing was clustered
    basis: NotRequired[TopicBasis]
    topics: list[Topic]
    model: NotRequired[ModelProvenance]


class Interest(TypedDict):
    value: str | int  # a term, a hashtag, or a brand's name (its id if it has none)
    share: float  # of the cluster's authors
    lift: float  # that share over the whole audience's


class Interests(TypedDict):
    hashtags: list[Interest]
    terms: list[Interest]
    brands: list[Interest]


class ClusterSentiment(SentimentSplit):
    net_sentiment: float | None


class Overlap(TypedDict):
    brand: int
    name: str
    share: float  # of the cluster's authors who also wrote about this competitor


class AudienceCluster(TypedDict):
    index: int
    size: int
    share: float | None  # of the run's authors
    label: str
    terms: list[WeightedTerm]
    interests: Interests
    sentiment: ClusterSentiment
    overlap: list[Overlap]


AffinityWindow = TypedDict("AffinityWindow", {"from": datetime, "to": datetime})


class BrandAffinities(TypedDict):
    """``GET /brands/{id}/affinities/``: the latest run, or ``status: "not_built"`` before the first."""

    brand: int
    status: Literal["built", "not_built"]
    detail: str
    clusters: list[AudienceCluster]
    version: NotRequired[int]
    built_at: NotRequired[datetime | None]
    window: NotRequired[AffinityWindow]
    author_count: NotRequired[int]
    params: NotRequired[dict[str, Any]]
    # As the run was built: null before the first run and for runs built before versions were recorded.
    model: NotRequired[ModelProvenance | None]
