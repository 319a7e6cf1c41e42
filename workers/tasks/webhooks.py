"""Webhook deliveries, on the ``alerts`` queue beside the checks that raise them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from listening.jobs import Queue, TaskName
from listening.webhooks.queries import due_delivery_ids
from listening.webhooks.services import do_attempt_delivery
from workers.celery_app import listening_task

# Retries further out than this are left to the beat re-scan: a Redis ETA message held longer than
# the broker's visibility timeout is redelivered again and again.
MAX_COUNTDOWN = timedelta(minutes=10)


@listening_task(name=TaskName.DELIVER, queue=Queue.ALERTS, idempotent=True, soft_time_limit=60)
def deliver(delivery_id: int) -> str:
    """One attempt; a retry soon enough is scheduled here, every retry also by the re-scan."""
    report = do_attempt_delivery(delivery_id)
    if report.retry_in is not None and report.retry_in <= MAX_COUNTDOWN:
        deliver.apply_async((delivery_id,), countdown=report.retry_in.total_seconds() + 0.5)
    return report.status


@listening_task(name=TaskName.DELIVER_DUE, queue=Queue.ALERTS, idempotent=True, soft_time_limit=60)
def deliver_due() -> int:
    """Beat, every WEBHOOK_RESCAN_SECONDS: re-enqueue due deliveries whose message was lost
    (the claim makes a duplicate message harmless)."""
    ids = due_delivery_ids(timezone.now())
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)
