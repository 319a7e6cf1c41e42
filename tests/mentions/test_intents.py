"""Intent is stored and shown only where it means something, with the real packaged model.

A support intent is kept for support transcripts, questions and complaints, and is null elsewhere
and wherever the version's head abstains or is unsure; the irony flag is stored beside irony_prob.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from api.serializers import READING_FIELDS
from ingestion.services import ingest_items
from listening.demo.corpus import SUPPORT_OPENERS, generate
from listening.demo.services import do_seed_demo
from listening.jobs import Queue
from listening.learning.models import ModelStatus, ModelVersion
from listening.mentions.enrichment import PROB_DIGITS, do_enrich_pending
from listening.mentions.models import Enrichment, Mention, Source, SourceKind
from models.inference import ListeningModel, load_model
from models.labels import SUPPORT_INTENTS
from tests.conftest import Tenant
from tests.models.variants import variant_version
from workers import app

# A neutral statement that is neither a question nor a complaint, on which the head is sure of
# a support intent: shown in a support transcript, not in a social post.
STATEMENT = "Tracking number for my order NW-123456"
QUESTION = "Tracking number for my order NW-123456?"
# v3 is unsure of an intent for "My order NW-123456 still has not arrived and nobody answers." (no
# intent; v2 said cancel_order, 0.87): the complaint here names its intent.
COMPLAINT = "Nobody answers the phone about order NW-123456. I want to file a complaint, terrible service."
ORDINARY = "thanks for the great service today!"


@pytest.fixture(scope="module")
def shipped() -> ListeningModel:
    return load_model(device="cpu")


def _add(tenant: Tenant, rows: Sequence[tuple[str, str]]) -> list[int]:
    """Mentions of (kind, text), each from a source of its kind."""
    sources = {
        kind: Source.objects.get_or_create(organization=tenant.org, name=f"{kind} in", kind=kind)[0]
        for kind, _ in rows
    }
    now = timezone.now()
    mentions = Mention.objects.bulk_create(
        Mention(
            organization=tenant.org,
            source=sources[kind],
            external_id=f"intent-{i}",
            kind=kind,
            text=text,
            clean_text=text,
            model_text=text,
            published_at=now - timedelta(minutes=i),
        )
        for i, (kind, text) in enumerate(rows)
    )
    return [m.pk for m in mentions]


def _readings(ids: list[int]) -> list[Enrichment]:
    by_mention = {e.mention_id: e for e in Enrichment.objects.filter(mention_id__in=ids)}
    return [by_mention[i] for i in ids]


def test_intent_is_stored_for_support_text_questions_and_complaints_only(
    alice: Tenant, shipped: ListeningModel
) -> None:
    rows = [
        (SourceKind.SOCIAL, STATEMENT),
        (SourceKind.SUPPORT, STATEMENT),
        (SourceKind.REVIEW, STATEMENT),
        (SourceKind.SOCIAL, QUESTION),
        (SourceKind.SOCIAL, COMPLAINT),
        (SourceKind.SOCIAL, ORDINARY),
    ]
    texts = [text for _, text in rows]
    head = shipped.predict(texts)
    # The premises: the head is sure of an intent for each, the complaint reads negative, and the
    # ordinary post and the statement read as neither complaints nor questions.
    assert all(intent in SUPPORT_INTENTS for intent in head.intent[:5]), list(head.intent)
    assert head.sentiment[4] == "negative" and head.sentiment[0] != "negative"

    ids = _add(alice, rows)
    do_enrich_pending(organization_id=alice.org.pk)
    social, support, review, question, complaint, ordinary = _readings(ids)

    assert social.intent is None and social.intent_prob is None  # the head was sure: not shown
    assert review.intent is None
    assert support.intent == head.intent[1]
    # Another batch shape: bf16 kernels may round a little differently.
    assert support.intent_prob == pytest.approx(float(head.intent_prob[1]), abs=3e-2)
    assert support.intent_prob is not None and round(support.intent_prob, PROB_DIGITS) == support.intent_prob
    assert question.intent == head.intent[3]
    assert complaint.intent == head.intent[4]
    assert ordinary.intent is None
    # Null in the database, not "": "no intent" never groups as a label.
    assert set(
        Enrichment.objects.filter(mention_id__in=ids, intent__isnull=True).values_list("id", flat=True)
    ) == {
        social.pk,
        review.pk,
        ordinary.pk,
    }
    threshold = shipped.serving.irony_threshold
    for reading in (social, support, review, question, complaint, ordinary):
        assert reading.irony_prob is not None and reading.irony is (reading.irony_prob >= threshold)


def test_an_unsure_head_stores_no_intent_and_the_api_shows_null(alice: Tenant, tmp_path: Path) -> None:
    unsure = variant_version(tmp_path / "unsure", intent_temperature=1000.0)
    version = ModelVersion.objects.create(
        organization=alice.org,
        name="alice-unsure",
        backbone="all-MiniLM-L6-v2",
        status=ModelStatus.ACTIVE,
        artefact_path=str(unsure),
    )
    (mention_id,) = _add(
        alice, [(SourceKind.SUPPORT, "Where is my order? Tracking hasn't updated in 6 days.")]
    )
    do_enrich_pending(organization_id=alice.org.pk)
    reading = Enrichment.objects.get(mention_id=mention_id)
    assert reading.model_version == version
    assert reading.intent is None and reading.intent_prob is None

    body = alice.client("viewer").get(f"/api/v1/mentions/{mention_id}/").json()
    enrichment = body["enrichment"]
    assert enrichment["intent"] is None and enrichment["intent_prob"] is None
    assert isinstance(enrichment["irony"], bool) and isinstance(enrichment["irony_prob"], float)
    assert set(READING_FIELDS) <= set(enrichment)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_analyze_shows_intent_for_questions_and_complaints_or_any_support_text(alice: Tenant) -> None:
    client = alice.client("viewer")
    texts = [ORDINARY, STATEMENT, QUESTION, COMPLAINT]
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.ANALYZE.value]):
        plain = client.post("/api/v1/analyze", {"texts": texts}, format="json")
        support = client.post("/api/v1/analyze", {"texts": texts, "kind": "support"}, format="json")
    assert plain.status_code == support.status_code == 200, (plain.content, support.content)
    as_posts = plain.json()["results"]
    as_tickets = support.json()["results"]
    assert all(set(result) == set(READING_FIELDS) for result in as_posts + as_tickets)
    assert [r["intent"] is None for r in as_posts] == [True, True, False, False]
    assert as_posts[1]["intent_prob"] is None
    assert as_tickets[1]["intent"] in SUPPORT_INTENTS  # the same statement, from a help desk
    assert as_tickets[0]["intent"] is None  # the head itself abstains on the ordinary post
    assert all(isinstance(r["irony"], bool) for r in as_posts)


def test_analyze_refuses_an_unknown_kind(alice: Tenant) -> None:
    client: Any = alice.client("viewer")
    response = client.post("/api/v1/analyze", {"texts": ["hi"], "kind": "fax"}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()


# What a help-desk agent would file each demo ticket under (listening.demo.corpus.SUPPORT_OPENERS,
# in order), decided from the ticket's words, not from what the model says. None: no intent.
# "complaint" fits every unhappy ticket (some end "Still not sorted, this is really frustrating").
SENSIBLE: list[set[str | None]] = [
    {"complaint", "change_order", "get_refund", "check_refund_policy"},  # broken zip: a replacement?
    {"get_refund", "check_refund_policy", "change_order", "complaint"},  # a return: too small
    {"track_order", "delivery_period", "complaint"},  # where is my order?
    {None, "review", "complaint"},  # thanks for the repair
    {"payment_issue", "get_refund", "track_refund", "check_invoice", "complaint"},  # charged twice
]
REQUESTS = [0, 1, 2, 4]
# One fixed draw of the demo corpus (deterministic for a given end time): its texts and turns
# depend on where its days fall, and on today's draw of 20 days "where is my order" was named on
# 4 tickets of 6, so a clock-dependent draw made the 80 % rate below pass or fail by the day.
DEMO_NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the openers that ask for something


@pytest.fixture
def demo_tickets(db: None) -> dict[int, list[str | None]]:
    """The demo's support tickets through the real pipeline and enrichment: intents per opener."""
    setup = do_seed_demo()
    help_desk = next(source for source in setup.sources if source.kind == SourceKind.SUPPORT)
    tickets = [
        {k: v for k, v in item.items() if k != "channel"}
        for item in generate(DEMO_NOW, days=45)
        if item["channel"] == "support"
    ]
    ingest_items(help_desk, tickets, channel="import")
    do_enrich_pending(organization_id=setup.organization.pk)
    subjects = [opener.split(".")[0][:60] for opener, _ in SUPPORT_OPENERS]
    by_opener: dict[int, list[str | None]] = defaultdict(list)
    for subject, intent in Enrichment.objects.filter(mention__source=help_desk).values_list(
        "mention__extra__subject", "intent"
    ):
        by_opener[subjects.index(subject)].append(intent)
    assert sum(map(len, by_opener.values())) == len(tickets) and set(by_opener) == set(range(len(subjects)))
    return by_opener


@pytest.mark.slow
def test_demo_support_tickets_never_get_a_wrong_intent(demo_tickets: dict[int, list[str | None]]) -> None:
    for opener, intents in demo_tickets.items():
        wrong = Counter(intent for intent in intents if intent is not None and intent not in SENSIBLE[opener])
        assert not wrong, (SUPPORT_OPENERS[opener][0], wrong)
    # "Where is my order?" is unmistakable; a few multi-turn tickets read mostly as the later turns
    # and get no intent (never a wrong one): default v1 named at least 8 of the 9, v2 names 7.
    tracked = demo_tickets[2]
    assert sum(intent is not None for intent in tracked) >= 0.75 * len(tracked), Counter(tracked)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="the fine-tuned default names 'where is my order' and double charges but abstains on "
    "returns and broken zips (Bitext has no return or replacement intent); when it names them, "
    "this marker goes",
)
def test_demo_support_requests_get_an_intent(demo_tickets: dict[int, list[str | None]]) -> None:
    for opener in REQUESTS:
        intents = demo_tickets[opener]
        named = sum(intent in SENSIBLE[opener] for intent in intents if intent is not None)
        assert named >= 0.8 * len(intents), (SUPPORT_OPENERS[opener][0], Counter(intents))
