"""The demo team's hand-labelled sample: how the learning loop starts in ``make run``.

A brand that joins brings what its social team already labelled: here, posts of the demo brand's
community from an earlier season, written by the same generator as the corpus but from another seed
(so they are not the stored mentions), each with the sentiment its writer meant. They are imported as
the organization's labelled examples and a learning cycle is queued at once: it fine-tunes the
active model a little, the gate holds the candidate to the organization's held-out slice and the
shipped general check set, and a promotion re-reads the stored history. The idioms of this community
("Chuffed.", "Expected better for the price.", a campaign film that makes one "want to quit my job")
are what the shipped default reads worst on this corpus (docs/learning.md).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from django.db import transaction

from listening.demo import corpus
from listening.jobs import Queue, TaskName, send_or_defer_on_commit
from listening.learning.feedback import do_import_labelled
from listening.learning.models import LabelledExample, TrainingCycle
from listening.learning.services import do_queue_cycle
from listening.tenancy.models import Organization

SEED = 20251101  # another season's posts than the corpus's (corpus.generate uses seed 7)
PER_CLASS = 80
# The campaign's own lines, as the team labelled them.
CAMPAIGN_LABELS = ("positive", "positive", "positive", "negative", "positive")


def labelled_sample(per_class: int = PER_CLASS, seed: int = SEED) -> list[tuple[str, str]]:
    """(text, sentiment) rows: ``per_class`` opinions of each sentiment about the demo's brands (none
    the same text as a corpus post: the corpus's texts do not depend on its clock), and the campaign
    lines."""
    stored = {item["text"] for item in corpus.generate(datetime(2026, 1, 1, tzinfo=UTC))}
    rng = random.Random(seed)
    authors = corpus._authors(rng, 80)
    rows = []
    for sentiment in ("positive", "neutral", "negative"):
        kept = 0
        while kept < per_class:
            author = rng.choice(authors)
            brand = author.loyal_to if rng.random() < 0.75 else rng.choice([corpus.OWN, *corpus.COMPETITORS])
            text = corpus._opinion(rng, author, brand, sentiment)
            if text not in stored:
                rows.append((text, sentiment))
                kept += 1
    for line, sentiment in zip(corpus.CAMPAIGN_LINES, CAMPAIGN_LABELS, strict=True):
        product = rng.choice(corpus.PRODUCTS[corpus.OWN])
        rows.append((line.format(brand=corpus.OWN, product=product), sentiment))
    rng.shuffle(rows)
    return rows


@transaction.atomic
def do_seed_labelled_sample(organization: Organization) -> tuple[int, TrainingCycle | None]:
    """Import the sample once (a second seed adds nothing) and queue a learning cycle on the train
    worker; returns (rows imported, the cycle or None when nothing was imported or one is open)."""
    if LabelledExample.objects.filter(
        organization=organization, origin=LabelledExample.Origin.IMPORT
    ).exists():
        return 0, None
    imported = do_import_labelled(organization, labelled_sample())
    cycle = do_queue_cycle(organization.pk, trigger="demo")
    if cycle is not None:
        send_or_defer_on_commit(
            TaskName.RUN_TRAINING_CYCLE,
            [cycle.pk],
            queue=Queue.TRAIN,
            reason="the demo's first learning cycle",
        )
    return imported, cycle
