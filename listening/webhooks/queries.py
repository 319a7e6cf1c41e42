"""Reads of the webhooks capability."""

from __future__ import annotations

from datetime import datetime

from listening.webhooks.models import DeliveryStatus, WebhookDelivery


def due_delivery_ids(now: datetime, *, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due (their message may have been lost)."""
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
