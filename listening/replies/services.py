"""Writes of the replies domain: each brand's reply guidelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from listening.brands.models import Brand
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
