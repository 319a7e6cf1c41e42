"""The demo's own past agent replies and voice for Northwind Outdoor: what the reply suggestions of
``make run`` retrieve and imitate. Written for the demo (no outside data), like the rest of its corpus."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

HELP_URL = "https://help.northwind.example/repairs"

GUIDELINES = {
    "text": "Warm, brief and practical; first name only; own the problem. We may promise a free repair "
    "or a replacement for manufacturing faults, a prepaid return label, and a reply within a day. "
    "Refunds go through the returns form only.",
    "sign_off": "- Northwind Care",
    # What the text does not allow: money back outside the returns form, discounts, guarantees.
    "refusals": ["full refund", "compensation", "guarantee it will never", "% off", "discount", "reimburs"],
}

# (customer, agent): resolved exchanges of the help desk, the zipper first (the demo's burst).
PAST_EXCHANGES = [
    (
        "The zipper on my StormShell jacket broke after two weeks. Not impressed.",
        "So sorry about the zipper! That's a manufacturing fault, so we'll repair it for free: book a "
        f"prepaid pickup at {HELP_URL} and it's back within 10 days. - Northwind Care",
    ),
    (
        "StormShell zip is stuck halfway and the pull came off. Is this normal??",
        "It isn't, and I'm sorry! We've seen a batch of faulty zip pulls. Send it in for a free repair "
        f"({HELP_URL}) or tell me your size and I'll ship a replacement. - Northwind Care",
    ),
    (
        "Second StormShell with a broken zipper this year. Thinking of switching brands.",
        "I completely understand, and I'm sorry we let you down twice. I've flagged this to our quality "
        "team and can send a replacement jacket today: just reply with your order number. - Northwind Care",
    ),
    (
        "My Ridge 45 pack arrived with a torn strap.",
        "Sorry it arrived like that! I've arranged a replacement pack, it ships tomorrow, and a prepaid "
        "label for the torn one is on its way to your inbox. - Northwind Care",
    ),
    (
        "Where is my Northwind order? It's been a week and no tracking update.",
        "Thanks for your patience! I've checked with the courier: your parcel is at the local depot and "
        "out for delivery tomorrow. - Northwind Care",
    ),
    (
        "Ember Down jacket lost loft after one wash, feathers everywhere.",
        "Sorry to hear that! Down can clump if washed warm, but feathers escaping is a fault: we'll repair "
        f"or replace it, start here: {HELP_URL} - Northwind Care",
    ),
    (
        "I was charged twice for my Canopy 2 tent.",
        "Apologies for the double charge! I can see it and have reversed the duplicate; it takes 3-5 "
        "working days to show. - Northwind Care",
    ),
    (
        "Trailhead boots are leaking at the seam after a month.",
        "That shouldn't happen in a month, sorry! Send us a photo of the seam and we'll replace them "
        "under warranty. - Northwind Care",
    ),
]


def past_exchanges(now: datetime) -> Iterator[dict[str, Any]]:
    """The exchanges as help-desk transcripts (push format), a few weeks old, ids stable."""
    for index, (customer, agent) in enumerate(PAST_EXCHANGES):
        at = now - timedelta(days=30 - index, hours=3)
        yield {
            "external_id": f"past-{index:02d}",
            "text": customer,
            "published_at": at.isoformat(),
            "author": {"id": f"past-customer-{index}", "handle": "", "name": ""},
            "extra": {
                "ticket_id": 90000 + index,
                "subject": customer[:60],
                "status": "solved",
                "turns": [
                    {"role": "customer", "text": customer, "at": at.isoformat()},
                    {"role": "agent", "text": agent, "at": (at + timedelta(hours=2)).isoformat()},
                ],
            },
            "language": "en",
        }
