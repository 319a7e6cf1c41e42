"""Webhook endpoints and deliveries end to end on PostgreSQL and a real loopback receiver: retries
with one webhook-id, 410, redirects, slow receivers, SSRF, rotation, the delivery log, tenancy."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from listening.webhooks.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from listening.webhooks.secret_store import decrypt_secret
from listening.webhooks.services import do_attempt_delivery, do_send_test
from tests.conftest import Tenant
from tests.webhooks.factories import webhook_of
from tests.webhooks.receiver import Behaviour, Receiver
from tests.webhooks.reference_verifier import spec_verify

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("loopback_allowed")]


def _create(t: Tenant, url: str, **extra: object) -> tuple[WebhookEndpoint, str]:
    response = t.client().post("/api/v1/webhooks/", {"url": url, **extra}, format="json")
    assert response.status_code == 201, response.content
    return WebhookEndpoint.objects.get(pk=response.json()["id"]), response.json()["secret"]


def _attempt_when_due(delivery: WebhookDelivery) -> str:
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is not None
    return do_attempt_delivery(delivery.pk, now=delivery.next_attempt_at).status


@pytest.fixture
def free_port() -> Iterator[int]:
    """A loopback port nothing listens on (yet): connections to it are refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield port


def test_receiver_down_then_up_gets_it_once_with_the_same_id(alice: Tenant, free_port: int) -> None:
    endpoint, secret = _create(alice, f"http://127.0.0.1:{free_port}/hooks/alerts")
    delivery = do_send_test(endpoint)
    first = do_attempt_delivery(delivery.pk)
    assert first.claimed and first.status == DeliveryStatus.PENDING and first.retry_in is not None
    # not due yet: a duplicate message does nothing
    assert not do_attempt_delivery(delivery.pk).claimed
    with Receiver(
        Behaviour(status=503, headers={"Retry-After": "1"}), Behaviour(), secret=secret, port=free_port
    ) as r:
        assert _attempt_when_due(delivery) == DeliveryStatus.PENDING
        assert _attempt_when_due(delivery) == DeliveryStatus.SUCCEEDED
        assert not do_attempt_delivery(delivery.pk, now=timezone.now() + timedelta(days=9)).claimed
    assert [req.headers["webhook-id"] for req in r.requests] == [delivery.msg_id] * 2
    assert all(req.verified for req in r.requests)
    assert r.processed_ids == [delivery.msg_id]
    log = list(
        DeliveryAttempt.objects.filter(delivery=delivery).values_list("attempt_no", "outcome", "status_code")
    )
    assert log == [(1, "retry", None), (2, "retry", 503), (3, "success", 200)]
    assert DeliveryAttempt.objects.get(delivery=delivery, attempt_no=1).error.startswith("connect_error")


def test_gone_disables_the_endpoint_and_stops_attempts(alice: Tenant) -> None:
    with Receiver(Behaviour(status=410)) as r:
        endpoint, _ = _create(alice, r.url)
        first, second = do_send_test(endpoint), do_send_test(endpoint)
        assert do_attempt_delivery(first.pk).status == DeliveryStatus.FAILED
        endpoint.refresh_from_db()
        assert not endpoint.is_active and "410" in endpoint.disabled_reason
        assert do_attempt_delivery(second.pk).outcome == "endpoint_disabled"
        assert not do_attempt_delivery(first.pk, now=timezone.now() + timedelta(days=9)).claimed
    assert len(r.requests) == 1
    assert alice.client().post(f"/api/v1/webhooks/{endpoint.pk}/test/").status_code == 409
    detail = alice.client().get(f"/api/v1/webhooks/{endpoint.pk}/").json()
    assert detail["is_active"] is False and detail["disabled_reason"]
    # re-enabling by hand clears the reason
    patched = alice.client().patch(f"/api/v1/webhooks/{endpoint.pk}/", {"is_active": True}, format="json")
    assert patched.status_code == 200 and patched.json()["disabled_reason"] == ""


def test_redirect_is_not_followed(alice: Tenant) -> None:
    with Receiver() as target, Receiver(Behaviour(status=302, headers={"Location": "TARGET"})) as r:
        r.script[0].headers["Location"] = target.url
        endpoint, _ = _create(alice, r.url)
        delivery = do_send_test(endpoint)
        report = do_attempt_delivery(delivery.pk)
    assert report.status == DeliveryStatus.PENDING and report.outcome == "retry"
    assert WebhookDelivery.objects.get(pk=delivery.pk).last_error == "redirect_not_followed"
    assert len(r.requests) == 1 and target.requests == []


def test_slow_receiver_is_cut_off(alice: Tenant) -> None:
    with Receiver(Behaviour(mode="slow")) as r:
        endpoint, _ = _create(alice, r.url)
        delivery = do_send_test(endpoint)
        report = do_attempt_delivery(delivery.pk)
        assert r.client_gone.wait(5)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert report.status == DeliveryStatus.PENDING and attempt.error == "timeout"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://127.0.0.2:8080/hook",
        "http://100.64.0.1/hook",
        "http://192.168.1.10/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "http://user:pass@example.com/hook",
        "not a url",
    ],
)
def test_private_or_invalid_urls_are_refused_at_creation(alice: Tenant, url: str) -> None:
    response = alice.client().post("/api/v1/webhooks/", {"url": url}, format="json")
    assert response.status_code == 400 and "url" in response.json(), response.content
    assert not WebhookEndpoint.objects.exists()


def test_loopback_needs_the_allow_list(alice: Tenant, settings: object) -> None:
    settings.WEBHOOK_ALLOW_LIST = []  # type: ignore[attr-defined]
    response = alice.client().post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/x"}, format="json")
    assert response.status_code == 400 and "loopback" in json.dumps(response.json())


def test_private_address_is_refused_at_delivery(alice: Tenant) -> None:
    # Stored before the policy tightened, or a name that resolved elsewhere at creation.
    endpoint = webhook_of(alice, url="http://127.0.0.2:9/hook")
    delivery = do_send_test(endpoint)
    report = do_attempt_delivery(delivery.pk)
    assert report.status == DeliveryStatus.FAILED and report.outcome == "refused"
    assert DeliveryAttempt.objects.get(delivery=delivery).error.startswith("unsafe_destination:loopback")
    assert not do_attempt_delivery(delivery.pk, now=timezone.now() + timedelta(days=9)).claimed


def test_secret_is_shown_once_and_encrypted_at_rest(alice: Tenant) -> None:
    endpoint, secret = _create(alice, "http://127.0.0.1:9/hook", event_types=["alert.fired"])
    assert secret.startswith("whsec_") and secret not in endpoint.secret_encrypted
    assert decrypt_secret(endpoint.secret_encrypted) == secret
    for path in ("/api/v1/webhooks/", f"/api/v1/webhooks/{endpoint.pk}/"):
        body = alice.client().get(path).content.decode()
        assert secret not in body and secret[len("whsec_") :][:20] not in body
        assert endpoint.secret_prefix in body
    moved = alice.client().patch(
        f"/api/v1/webhooks/{endpoint.pk}/", {"url": "http://169.254.169.254/"}, format="json"
    )
    assert moved.status_code == 400 and "url" in moved.json()
    huge = alice.client().post("/api/v1/webhooks/", {"url": "https://a.example/" + "x" * 5000}, format="json")
    assert huge.status_code == 400
    bad = alice.client().post(
        "/api/v1/webhooks/", {"url": "http://127.0.0.1:9/", "event_types": ["nope"]}, format="json"
    )
    assert bad.status_code == 400 and "event_types" in bad.json()


def test_rotation_signs_with_both_secrets_during_the_overlap(alice: Tenant) -> None:
    with Receiver() as r:
        endpoint, old = _create(alice, r.url)
        rotated = alice.client().post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/")
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        assert new != old and rotated.json()["previous_secret_expires_at"]
        do_attempt_delivery(do_send_test(endpoint).pk)
    request = r.requests[0]
    now = int(time.time())
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert spec_verify(request.headers, request.body, new, now) and spec_verify(
        request.headers, request.body, old, now
    )
    endpoint.refresh_from_db()
    # after the overlap only the new secret signs
    assert endpoint.previous_secret_expires_at is not None
    assert endpoint.signing_secrets(endpoint.previous_secret_expires_at + timedelta(seconds=1)) == [new]


def test_delivery_log_redeliver_and_ping_through_the_api(alice: Tenant) -> None:
    with Receiver(Behaviour(status=500, body=b"boom"), Behaviour()) as r:
        endpoint, secret = _create(alice, r.url)
        r.secret = secret
        sent = alice.client().post(f"/api/v1/webhooks/{endpoint.pk}/test/")
        assert sent.status_code == 202 and sent.json()["event_type"] == "webhook.test"
        delivery_id = sent.json()["id"]
        do_attempt_delivery(delivery_id)
        page = alice.client().get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()
        [row] = page["results"]
        assert row["status"] == "pending" and row["attempt_log"][0]["status_code"] == 500
        assert row["attempt_log"][0]["response_excerpt"] == "boom"
        redo = alice.client().post(f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery_id}/redeliver/")
        assert redo.status_code == 202 and redo.json()["status"] == "pending"
        assert do_attempt_delivery(delivery_id).status == DeliveryStatus.SUCCEEDED
    assert {req.headers["webhook-id"] for req in r.requests} == {row["msg_id"]}
    assert json.loads(r.requests[-1].body)["type"] == "webhook.test" and r.requests[-1].verified
    assert (
        len(
            alice.client()
            .get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
            .json()["results"][0]["attempt_log"]
        )
        == 2
    )


def test_slack_format_sends_a_slack_message(alice: Tenant) -> None:
    with Receiver() as r:
        endpoint, _ = _create(alice, r.url, slack_format=True)
        do_attempt_delivery(do_send_test(endpoint).pk)
    assert "text" in json.loads(r.requests[0].body)


def test_webhooks_are_owner_only_and_tenant_scoped(alice: Tenant, bob: Tenant) -> None:
    endpoint, secret = _create(alice, "http://127.0.0.1:9/hook")
    delivery = do_send_test(endpoint)
    assert alice.client("analyst").get("/api/v1/webhooks/").status_code == 403
    assert (
        alice.client("analyst")
        .post("/api/v1/webhooks/", {"url": "http://127.0.0.1:9/"}, format="json")
        .status_code
        == 403
    )
    bob_client = bob.client()
    assert bob_client.get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
    assert bob_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").status_code == 404
    assert bob_client.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret/").status_code == 404
    assert (
        bob_client.post(f"/api/v1/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver/").status_code
        == 404
    )
    # bob's own endpoint cannot reach alice's delivery either
    bob_endpoint, _ = _create(bob, "http://127.0.0.1:9/hook")
    assert (
        bob_client.post(f"/api/v1/webhooks/{bob_endpoint.pk}/deliveries/{delivery.pk}/redeliver/").status_code
        == 404
    )
    listing = bob_client.get("/api/v1/webhooks/").content.decode()
    assert secret not in listing and str(endpoint.secret_prefix) not in listing
    endpoint.refresh_from_db()
    assert decrypt_secret(endpoint.secret_encrypted) == secret
