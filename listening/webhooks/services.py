"""Writes of the webhooks capability: endpoints and their secrets, events turned into deliveries,
and delivery attempts with every one recorded.

The one way in for the rest of the domain is :func:`do_enqueue_event`: it renders an event once per
format (Standard Webhooks JSON, Slack), creates one delivery per active endpoint that wants it and
sends each to the ``alerts`` queue after commit (as Saleor's webhooks app does for its events).

Concurrency: a delivery attempt is claimed with a compare-and-set on ``(status, next_attempt_at)``,
so duplicate task messages (acks_late redelivery, the beat re-scan) never send one attempt twice.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from listening.jobs import Queue, TaskName, send_or_defer_on_commit
from listening.webhooks import payloads, signing, transport
from listening.webhooks.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from listening.webhooks.secret_store import SecretDecryptionError, encrypt_secret

log = structlog.get_logger(__name__)

PING_EVENT = "webhook.test"
ALL_EVENT_TYPES = (*payloads.EVENT_TYPES, PING_EVENT)
# How long a claimed attempt owns its delivery: the attempt's own deadline plus slack. A worker that
# dies mid-attempt leaves the delivery due again after this, for the re-scan to pick up.
CLAIM_LEASE = timedelta(seconds=60)
EXCERPT_CHARS = 1000


# --- address policy -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _policy(entries: tuple[str, ...], require_https: bool) -> transport.AddressPolicy:
    return transport.AddressPolicy.from_allow_list(entries, require_https=require_https)


def webhook_policy() -> transport.AddressPolicy:
    """The SSRF policy from ``WEBHOOK_ALLOW_LIST`` / ``WEBHOOK_REQUIRE_HTTPS`` (read per call)."""
    return _policy(tuple(settings.WEBHOOK_ALLOW_LIST), bool(settings.WEBHOOK_REQUIRE_HTTPS))


def check_endpoint_url(url: str) -> None:
    """Raise UnsafeDestinationError if ``url`` is malformed or resolves to a refused address now.

    A name that does not resolve at all is let through: it is checked again at every delivery.
    """
    try:
        transport.resolve_destination(url, webhook_policy())
    except OSError:
        return


# --- endpoints and secrets ----------------------------------------------------------------------


def _prefix(secret: str) -> str:
    return secret[: len(signing.SECRET_PREFIX) + 6]


def do_create_endpoint(
    organization_id: int,
    *,
    url: str,
    name: str = "",
    event_types: Iterable[str] = (),
    slack_format: bool = False,
    is_active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint with a fresh secret; returns it with the plaintext secret (shown once)."""
    check_endpoint_url(url)
    secret = signing.generate_secret()
    endpoint = WebhookEndpoint.objects.create(
        organization_id=organization_id,
        url=url,
        name=name,
        event_types=list(event_types),
        slack_format=slack_format,
        is_active=is_active,
        secret_encrypted=encrypt_secret(secret),
        secret_prefix=_prefix(secret),
    )
    return endpoint, secret


def do_rotate_secret(endpoint_id: int, *, now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """Issue a new secret; the current one keeps signing (second signature) for the overlap period."""
    now = now or timezone.now()
    secret = signing.generate_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = now + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
        endpoint.secret_encrypted = encrypt_secret(secret)
        endpoint.secret_prefix = _prefix(secret)
        endpoint.save(
            update_fields=[
                "previous_secret_encrypted",
                "previous_secret_expires_at",
                "secret_encrypted",
                "secret_prefix",
                "updated_at",
            ]
        )
    return endpoint, secret


def do_update_endpoint(endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    """Change an endpoint's settings; a new URL is vetted, re-enabling clears the disable reason."""
    if "url" in fields and fields["url"] != endpoint.url:
        check_endpoint_url(fields["url"])
    for key, value in fields.items():
        setattr(endpoint, key, value)
    if fields.get("is_active"):
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
    endpoint.save()
    return endpoint


# --- deliveries ---------------------------------------------------------------------------------


def _enqueue_on_commit(delivery_ids: list[int]) -> None:
    """Send each delivery to the ``alerts`` queue once the rows are committed."""
    # alerts.deliver_due re-scans due deliveries, so a message lost to a broker outage only waits.
    for delivery_id in delivery_ids:
        send_or_defer_on_commit(TaskName.DELIVER, [delivery_id], queue=Queue.ALERTS, reason="new delivery")


def do_enqueue_event(
    organization_id: int,
    event_type: str,
    data: Mapping[str, Any],
    *,
    occurred_at: datetime,
    alert_id: int | None = None,
) -> list[WebhookDelivery]:
    """Deliver one event (``payloads.EVENT_TYPES``) to every active endpoint of the organization that
    wants it: one delivery each, sent to the ``alerts`` queue once the transaction commits.

    ``data`` is what :mod:`listening.webhooks.payloads` renders (an alert dict); a receiver gets the
    Standard Webhooks envelope, or the Slack message if the endpoint asked for Slack's format.
    """
    bodies = {
        False: payloads.encode(payloads.build_event(event_type, data, occurred_at=occurred_at)),
        True: payloads.encode(payloads.slack_payload(event_type, data)),
    }
    now = timezone.now()
    created = []
    for endpoint in WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True):
        if not endpoint.wants(event_type):
            continue
        created.append(
            WebhookDelivery.objects.create(
                organization_id=organization_id,
                endpoint=endpoint,
                alert_id=alert_id,
                event_type=event_type,
                msg_id=signing.new_message_id(),
                body=bodies[endpoint.slack_format].decode("utf-8"),
                next_attempt_at=now,
            )
        )
    _enqueue_on_commit([d.pk for d in created])
    return created


def do_send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` ping to one endpoint (an inactive endpoint gets nothing: the
    attempt fails as ``endpoint_disabled``; re-enable it first)."""
    now = timezone.now()
    if endpoint.slack_format:
        body = payloads.encode({"text": "Test message from brand listening: this endpoint works."})
    else:
        body = payloads.encode(
            {
                "type": PING_EVENT,
                "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "data": {"endpoint_id": endpoint.pk},
            }
        )
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            organization_id=endpoint.organization_id,
            endpoint=endpoint,
            event_type=PING_EVENT,
            msg_id=signing.new_message_id(),
            body=body.decode("utf-8"),
            next_attempt_at=now,
        )
        _enqueue_on_commit([delivery.pk])
    return delivery


def do_redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again by hand: same webhook-id and body, a fresh retry schedule."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), schedule_offset=F("attempts")
        )
        _enqueue_on_commit([delivery.pk])
    delivery.refresh_from_db()
    return delivery


@dataclass(frozen=True)
class AttemptReport:
    """What :func:`do_attempt_delivery` did. ``retry_in`` is set when another attempt is scheduled."""

    claimed: bool
    status: str = ""
    outcome: str = ""
    retry_in: timedelta | None = None


def do_attempt_delivery(delivery_id: int, *, now: datetime | None = None) -> AttemptReport:
    """Make the next attempt of a delivery if it is due and nobody else holds it.

    A missing, finished or not-yet-due delivery is not claimed (duplicate messages are normal).
    """
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    if claimed != 1:
        return AttemptReport(claimed=False)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    attempt_no = delivery.attempts
    if not endpoint.is_active:
        reason = "endpoint_disabled"
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=reason
        )
        return AttemptReport(claimed=True, status=DeliveryStatus.FAILED, outcome=reason)

    body = delivery.body.encode("utf-8")
    try:
        secrets = endpoint.signing_secrets(now)
    except SecretDecryptionError:
        # SECRET_KEY changed without a fallback: nothing can be signed until the secret is rotated.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="secret_undecryptable"
        )
        return AttemptReport(claimed=True, status=DeliveryStatus.FAILED, outcome="secret_undecryptable")
    headers = signing.build_headers(secrets, delivery.msg_id, body)
    started = timezone.now()
    result = transport.deliver(
        endpoint.url, body, headers, policy=webhook_policy(), timeout=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    DeliveryAttempt.objects.create(
        organization_id=delivery.organization_id,
        delivery=delivery,
        attempt_no=attempt_no,
        started_at=started,
        duration_ms=int(result.duration_s * 1000),
        outcome=result.outcome.value,
        status_code=result.status_code,
        error=result.error[:500],
        response_excerpt=result.response_body[:EXCERPT_CHARS],
        remote_ip=result.remote_ip or "",
    )
    retry_in: timedelta | None = None
    status = DeliveryStatus.FAILED
    if result.outcome is transport.Outcome.SUCCESS:
        status = DeliveryStatus.SUCCEEDED
    elif result.outcome is transport.Outcome.RETRY:
        retry_in = transport.next_attempt_delay(attempt_no - delivery.schedule_offset, result.retry_after)
        status = DeliveryStatus.PENDING if retry_in is not None else DeliveryStatus.DEAD
    elif result.outcome is transport.Outcome.DISABLE_ENDPOINT:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False,
            disabled_at=timezone.now(),
            disabled_reason=f"receiver answered 410 Gone on delivery {delivery.msg_id}",
        )
    WebhookDelivery.objects.filter(pk=delivery.pk, attempts=attempt_no).update(
        status=status,
        next_attempt_at=timezone.now() + retry_in if retry_in is not None else None,
        last_error=result.error[:500],
    )
    log.info(
        "webhook_attempt",
        delivery=delivery.pk,
        attempt=attempt_no,
        outcome=result.outcome.value,
        status_code=result.status_code,
        error=result.error,
    )
    return AttemptReport(claimed=True, status=status, outcome=result.outcome.value, retry_in=retry_in)
