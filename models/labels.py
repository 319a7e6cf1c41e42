"""Label sets of the heads. The order is the order of each head's output units.

Saved into every model version's manifest, so a version always carries the label maps it was
trained with; these constants are only the defaults for building new heads.
"""

from __future__ import annotations

SENTIMENT = ("negative", "neutral", "positive")
EMOTION = ("anger", "joy", "optimism", "sadness")
# The emotions that contradict an opinion's sentiment: what a marketer reads as plainly wrong.
CONTRARY_EMOTIONS: dict[str, frozenset[str]] = {
    "negative": frozenset({"joy", "optimism"}),
    "positive": frozenset({"anger", "sadness"}),
}
IRONY = ("not_irony", "irony")
# The intent head's abstention class: ordinary social posts that ask for nothing. Served as null.
NO_INTENT = "none"
SUPPORT_INTENTS = (
    "cancel_order",
    "change_order",
    "change_shipping_address",
    "check_cancellation_fee",
    "check_invoice",
    "check_payment_methods",
    "check_refund_policy",
    "complaint",
    "contact_customer_service",
    "contact_human_agent",
    "create_account",
    "delete_account",
    "delivery_options",
    "delivery_period",
    "edit_account",
    "get_invoice",
    "get_refund",
    "newsletter_subscription",
    "payment_issue",
    "place_order",
    "recover_password",
    "registration_problems",
    "review",
    "set_up_shipping_address",
    "switch_account",
    "track_order",
    "track_refund",
)
INTENT = (NO_INTENT, *SUPPORT_INTENTS)
TASKS = ("sentiment", "emotion", "irony", "intent")


def label2id(labels: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Map each label to its output unit; labels must be unique."""
    mapping = {label: i for i, label in enumerate(labels)}
    if len(mapping) != len(labels):
        raise ValueError(f"duplicate labels in {labels!r}")
    return mapping
