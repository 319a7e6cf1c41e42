"""The detection → delivery path run by a real Celery worker over Redis, as beat would drive it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from listening.alerts.models import Alert, AlertRule, DeliveryStatus, WebhookDelivery
from listening.alerts.services import do_create_endpoint
from tests.alerts.factories import negative_burst, quiet_history
from tests.alerts.receiver import Behaviour, Receiver
from tests.conftest import make_tenant
from workers import app
from workers.queues import Queue
from workers.tasks.alerts import check_rules, deliver_due


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
