"""The demo's custom classifier: why Northwind's and its competitors' customers complain."""

from __future__ import annotations

from listening.classifiers.models import Classifier
from listening.classifiers.services import LabelSpec, do_save_classifier
from listening.tenancy.models import Organization

COMPLAINT_REASON = "complaint reason"

COMPLAINT_LABELS = [
    LabelSpec(
        "zipper/defect",
        "a broken zipper, torn seam, leak or other defect in the product itself",
        (
            "the zipper broke after two hikes",
            "seam ripped on the first day, terrible quality",
            "my tent leaks at every seam in light rain",
        ),
    ),
    LabelSpec(
        "sizing",
        "the product is the wrong size, too small, too large or fits badly",
        (
            "the jacket runs a full size small",
            "ordered my usual size and the boots are way too tight",
            "sleeves are far too long, the size chart is wrong",
        ),
    ),
    LabelSpec(
        "delivery",
        "late, lost or damaged shipping and parcels",
        (
            "my order is two weeks late and tracking has not moved",
            "the parcel arrived crushed and soaked",
            "still waiting for delivery, the courier lost it",
        ),
    ),
    LabelSpec(
        "price",
        "too expensive, overpriced, price increases, not worth the money",
        (
            "way overpriced for what you get",
            "they raised the price again, not worth it",
            "half the price elsewhere for the same jacket",
        ),
    ),
    LabelSpec(
        "customer service",
        "support that is slow, rude, unhelpful or never answers",
        (
            "support never answered my three emails",
            "the agent was rude and hung up on me",
            "waited an hour on the phone and got no help",
        ),
    ),
]


def do_seed_complaint_classifier(organization: Organization) -> Classifier:
    """Define the demo's "complaint reason" classifier over negative mentions (once; its training is
    queued after the commit, and its first version labels the history when promoted)."""
    existing = Classifier.objects.filter(organization=organization, name=COMPLAINT_REASON).first()
    if existing is not None:
        return existing
    classifier = Classifier(organization=organization, name=COMPLAINT_REASON, scope=Classifier.Scope.NEGATIVE)
    return do_save_classifier(classifier, COMPLAINT_LABELS)
