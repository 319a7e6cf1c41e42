"""The detection → delivery path run by a real Celery worker over Redis, as beat would drive it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from listening.alerts.models import Alert, AlertRule
from listening.jobs import Queue
from listening.webhooks.models import DeliveryStatus, WebhookDelivery
from listening.webhooks.services import do_create_endpoint
from tests.alerts.factories import negative_burst, quiet_history
from tests.conftest import make_tenant
from tests.webhooks.receiver import Behaviour, Receiver
from workers import app
from workers.tasks.alerts import check_rules
from workers.tasks.webhooks import deliver_due


def _wait(predicate: object, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_detects_the_burst_and_delivers_a_verified_webhook(loopback_allowed: object) -> None:
    app.control.purge()
    now = timezone.now()
    t = make_tenant("Acme", "alice")
    quiet_history(t, now - timedelta(minutes=1), days=5)
    rule = AlertRule.objects.create(organization=t.org, brand=t.brand)
    # the first answer fails: the retry comes from the worker's own countdown
    with Receiver(Behaviour(status=503), Behaviour()) as receiver:
        endpoint, receiver.secret = do_create_endpoint(t.org.pk, url=receiver.url)
        negative_burst(t, timezone.now(), 60)
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.ALERTS.value]):
            check_rules.delay()
            assert _wait(lambda: receiver.processed_ids, 40), receiver.requests
            check_rules.delay()  # the next beat tick: the episode is open, nothing fires again
            deliver_due.delay()
            time.sleep(2)
    alert = Alert.objects.get(rule=rule)
    delivery = WebhookDelivery.objects.get(alert=alert)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.msg_id] * 2
    assert receiver.processed_ids == [delivery.msg_id] and receiver.requests[-1].verified
    assert endpoint.deliveries.count() == 1


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_rescan_delivers_what_the_broker_lost(loopback_allowed: object) -> None:
    app.control.purge()
    t = make_tenant("Acme", "alice")
    with Receiver() as receiver:
        endpoint, receiver.secret = do_create_endpoint(t.org.pk, url=receiver.url)
        # a due delivery whose message never reached the broker
        lost = WebhookDelivery.objects.create(
            organization=t.org,
            endpoint=endpoint,
            event_type="webhook.test",
            msg_id="msg_lost_in_the_broker",
            body='{"type":"webhook.test"}',
            next_attempt_at=timezone.now(),
        )
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.ALERTS.value]):
            deliver_due.delay()
            deliver_due.delay()  # two beat processes: the claim lets one attempt through
            assert _wait(lambda: receiver.processed_ids, 30)
            time.sleep(1)
    lost.refresh_from_db()
    assert lost.status == DeliveryStatus.SUCCEEDED and lost.attempts == 1
    assert receiver.processed_ids == ["msg_lost_in_the_broker"] and len(receiver.requests) == 1


def test_alert_and_webhook_tasks_are_idempotent_and_on_the_alerts_queue() -> None:
    from workers.tasks import alerts, webhooks

    for task in (alerts.check_rules, alerts.check_rule, webhooks.deliver, webhooks.deliver_due):
        assert task.queue == Queue.ALERTS and task.acks_late and task.reject_on_worker_lost
    assert webhooks.deliver.soft_time_limit > 30  # above the attempt's own 30 s ceiling
