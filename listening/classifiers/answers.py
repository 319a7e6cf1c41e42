"""The shape of a label mix (``listening.classifiers.aggregation.label_mix``), as typed dictionaries:
``GET /api/v1/classifiers/{id}/mix/`` answers one, and campaign metrics and comparisons carry one
under ``labels`` when asked with ``classifier=ID``. Shares are floats rounded to 4 places, ``None``
where a brand has no labelled mentions."""

# No ``from __future__ import annotations``: TypedDict reads evaluated annotations (as in
# listening.analytics.answers), and the schema is built from them.
from typing import TypedDict

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
