"""Reply-training pairs from Zendesk tickets, X-style threads, pushes and imports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from ingestion.connectors.base import Author, ItemKind, RawItem
from ingestion.services import do_pull_source, store_raw_items
from listening.mentions.models import Mention, Source, SourceKind
from listening.replies.models import PairOrigin, ReplyPair
from tests.conftest import Tenant
from tests.ingestion.servers.harness import serve
from tests.ingestion.servers.zendesk_api import API_TOKEN, BASE_TS, EMAIL, ZendeskApi

CUSTOMER, AGENT = 501, 900


@pytest.fixture
def desk() -> Iterator[ZendeskApi]:
    with serve(ZendeskApi()) as running:
        running.add_user(CUSTOMER, "Jane Customer", "end-user")
        running.add_user(AGENT, "Alex Agent", "agent")
        running.add_ticket(1, requester_id=CUSTOMER, subject="Zipper broke", at=100, assignee_id=AGENT)
        running.add_comment(1, CUSTOMER, "The alicebrand zipper broke after a week.", at=100)
        running.add_comment(1, AGENT, "internal: batch 7 again", at=105, public=False)
        running.add_comment(
            1, AGENT, "So sorry! Write to returns@alicebrand.example or call +44 7700 900123.", at=110
        )
        running.add_comment(1, CUSTOMER, "Thanks, done.", at=120)
        running.add_comment(1, CUSTOMER, "Any news on the replacement?", at=200)
        running.add_comment(1, AGENT, "It ships tomorrow.", at=210)
        yield running


def test_zendesk_ticket_gives_one_pair_per_public_agent_answer(
    alice: Tenant, desk: ZendeskApi, django_capture_on_commit_callbacks: Any
) -> None:
    source = Source.objects.create(
        organization=alice.org,
        name="Zendesk",
        kind=SourceKind.SUPPORT,
        connector="zendesk_tickets",
        config={"base_url": desk.base_url, "start_time": BASE_TS},
        credentials={"email": EMAIL, "api_token": API_TOKEN},
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert do_pull_source(source.pk).stored == 1
    pairs = list(ReplyPair.objects.filter(organization=alice.org).order_by("replied_at"))
    assert [(p.customer_text, p.origin) for p in pairs] == [
        ("The alicebrand zipper broke after a week.", PairOrigin.TRANSCRIPT),
        ("Thanks, done.\n\nAny news on the replacement?", PairOrigin.TRANSCRIPT),
    ]
    first, second = pairs
    # The internal note is no reply, and the agent's text is redacted like everything else.
    assert "internal" not in first.agent_text and "So sorry!" in first.agent_text
    assert "returns@" not in first.agent_text and "900123" not in first.agent_text
    assert second.agent_text == "It ships tomorrow."
    assert [turn["role"] for turn in second.context] == ["customer", "agent"]
    assert first.brand_id == alice.brand.pk  # the ticket matched alice's brand
    # Stored turns carry redacted "text", never the raw "body".
    turns = Mention.objects.get(source=source).extra["turns"]
    assert all("body" not in turn for turn in turns)
    # Pulling again (the ticket re-exported) adds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        do_pull_source(source.pk)
    assert ReplyPair.objects.filter(organization=alice.org).count() == 2


def _item(external_id: str, text: str, role: str, reply_to: str = "", minutes_ago: int = 10) -> RawItem:
    return RawItem(
        external_id=external_id,
        kind=ItemKind.SOCIAL,
        text=text,
        author=Author(id=role, handle=role),
        published_at=timezone.now() - timedelta(minutes=minutes_ago),
        conversation_id="c1",
        in_reply_to=reply_to,
        author_role=role,
    )


def test_x_style_replies_pair_in_either_arrival_order(
    alice: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    # The agent's answer arrives first (X pages come newest first), its parent later.
    with django_capture_on_commit_callbacks(execute=True):
        store_raw_items(
            alice.source,
            [
                _item(
                    "t2",
                    "Sorry to hear that, DM us your order number. https://help.alicebrand.example",
                    "agent",
                    "t1",
                    5,
                )
            ],
            channel="pull",
        )
    assert not ReplyPair.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        store_raw_items(
            alice.source,
            [
                _item("t0", "has anyone tried alicebrand boots?", "customer", "", 30),
                _item("t1", "@alicebrand my boots leak, mail me at jo@mail.example", "customer", "t0", 20),
                _item("t3", "cool", "customer", "t2", 1),  # a customer answering the agent: no pair
            ],
            channel="pull",
        )
    pair = ReplyPair.objects.get(organization=alice.org)
    assert pair.origin == PairOrigin.THREAD and pair.conversation_id == "c1"
    assert pair.customer_mention.external_id == "t1" and pair.agent_mention is not None
    assert "jo@mail.example" not in pair.customer_text
    assert pair.context == [{"role": "customer", "text": "has anyone tried alicebrand boots?"}]
    # An agent replying to an agent is no pair.
    with django_capture_on_commit_callbacks(execute=True):
        store_raw_items(alice.source, [_item("t4", "Following up!", "agent", "t2", 0)], channel="pull")
    assert ReplyPair.objects.count() == 1


def test_push_carries_conversation_fields(alice: Tenant, django_capture_on_commit_callbacks: Any) -> None:
    items: list[dict[str, Any]] = [
        {
            "external_id": "p1",
            "text": "alicebrand tent arrived torn",
            "conversation_id": "c9",
            "author_role": "customer",
        },
        {
            "external_id": "p2",
            "text": "Sorry! A new one is on its way.",
            "in_reply_to": "p1",
            "author_role": "agent",
        },
        {"external_id": "p3", "text": "x", "author_role": "manager"},
        {"external_id": "p4", "text": "x", "in_reply_to": "p4"},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client().post(
            "/api/v1/ingest", {"source": alice.source.pk, "items": items}, format="json"
        )
    assert response.status_code == 200, response.content
    outcomes = response.json()["items"]
    assert [o["status"] for o in outcomes] == ["stored", "stored", "rejected", "rejected"]
    assert "author_role" in outcomes[2]["reason"] and "in_reply_to" in outcomes[3]["reason"]
    stored = Mention.objects.get(external_id="p2")
    assert (stored.in_reply_to, stored.author_role) == ("p1", "agent")
    assert Mention.objects.get(external_id="p1").conversation_id == "c9"
    pair = ReplyPair.objects.get(organization=alice.org)
    assert (pair.customer_text, pair.agent_text) == (
        "alicebrand tent arrived torn",
        "Sorry! A new one is on its way.",
    )


def test_import_reads_conversation_columns(alice: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "thread.jsonl"
    rows = [
        {"id": "i1", "text": "where is my alicebrand order?", "author_role": "customer"},
        {"id": "i2", "text": "It left our warehouse today.", "in_reply_to": "i1", "author_role": "agent"},
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    out = StringIO()
    # The test's transaction never commits (no pair step ran): the backfill command builds it.
    call_command("import", str(path), "--source", str(alice.source.pk), "--no-progress", stdout=out)
    assert "2 stored" in out.getvalue()
    assert Mention.objects.get(external_id="i2").in_reply_to == "i1"
    out = StringIO()
    call_command("build_reply_pairs", "--org", str(alice.org.pk), stdout=out)
    assert ReplyPair.objects.filter(organization=alice.org).count() == 1
    assert "1 pairs added" in out.getvalue()


def test_pairs_never_cross_tenants(
    alice: Tenant, bob: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        store_raw_items(alice.source, [_item("same", "alicebrand broke", "customer")], channel="pull")
        store_raw_items(bob.source, [_item("r", "Sorry!", "agent", "same")], channel="pull")
    assert not ReplyPair.objects.exists()
