"""Writes of the replies domain: each brand's reply guidelines, and queuing reply-model cycles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from listening.brands.models import Brand
from listening.learning.models import ModelTask, TrainingCycle
from listening.learning.services import do_queue_cycle
from listening.replies.models import ReplyGuidelines


def guidelines_of(brand: Brand, row: ReplyGuidelines | None = None) -> dict[str, Any]:
    """The brand's guidelines as the API shows them (empty ones when it has none)."""
    row = row or ReplyGuidelines.objects.filter(brand=brand).first()
    if row is None:
        return {"text": "", "sign_off": "", "refusals": []}
    return {"text": row.text, "sign_off": row.sign_off, "refusals": list(row.refusals)}


def do_set_guidelines(brand: Brand, *, text: str, sign_off: str, refusals: Sequence[str]) -> ReplyGuidelines:
    cleaned = list(dict.fromkeys(phrase.strip() for phrase in refusals if phrase.strip()))
    row, _ = ReplyGuidelines.objects.update_or_create(
        brand=brand,
        defaults={
            "organization_id": brand.organization_id,
            "text": text.strip(),
            "sign_off": sign_off.strip(),
            "refusals": cleaned,
        },
    )
    return row


def do_queue_reply_cycle(organization_id: int, *, trigger: str = "manual") -> TrainingCycle | None:
    """A queued reply-model cycle (the train queue runs it), or None when one is already open."""
    return do_queue_cycle(organization_id, trigger=trigger, task=ModelTask.REPLIES)


def do_check_reply_triggers() -> list[int]:
    """Beat: queue a reply cycle wherever ``REPLIES_MIN_NEW_PAIRS`` new pairs arrived; the new cycles' ids."""
    from listening.replies.queries import organizations_due_for_reply_training

    cycles = []
    for organization_id in organizations_due_for_reply_training(settings.REPLIES_MIN_NEW_PAIRS):
        cycle = do_queue_reply_cycle(organization_id, trigger="beat")
        if cycle is not None:
            cycles.append(cycle.pk)
    return cycles
