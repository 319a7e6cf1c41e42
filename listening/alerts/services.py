"""Writes for alerting: spike checks that open, update and close alerts; webhook endpoints, their
secrets, and deliveries with every attempt recorded.

Concurrency: a rule's episode is stepped under ``select_for_update`` on the rule row (two beat
processes checking the same rule serialise there), and a unique partial index allows one open alert
per rule. A delivery attempt is claimed with a compare-and-set on ``(status, next_attempt_at)``, so
duplicate task messages (acks_late redelivery, the beat re-scan) never send one attempt twice.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from listening.alerts import payloads, signing, transport
from listening.alerts.detection import (
    Action,
    Episode,
    Evaluation,
    History,
    adapt_sensitivity,
    evaluate,
    step_episode,
)
from listening.alerts.models import (
    Alert,
    AlertRule,
    AlertStatus,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from listening.alerts.queries import bucketed_counts, negative_mentions, negative_source_counts
from listening.alerts.secret_store import SecretDecryptionError, encrypt_secret
from listening.jobs import Queue, TaskName, send_or_defer_on_commit

log = structlog.get_logger(__name__)

PING_EVENT = "webhook.test"
ALL_EVENT_TYPES = (*payloads.EVENT_TYPES, PING_EVENT)
# How long a claimed attempt owns its delivery: the attempt's own deadline plus slack. A worker that
# dies mid-attempt leaves the delivery due again after this, for the re-scan to pick up.
CLAIM_LEASE = timedelta(seconds=60)
EXCERPT_CHARS = 1000
BASELINE_TEXT_DAYS = 7


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


def _create_deliveries(
    organization_id: int, event_type: str, bodies: dict[bool, bytes], alert: Alert | None = None
) -> list[WebhookDelivery]:
    """One delivery per active endpoint of the organization that wants ``event_type``; ``bodies``
    maps ``slack_format`` to the bytes to send."""
    now = timezone.now()
    created = []
    for endpoint in WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True):
        if not endpoint.wants(event_type):
            continue
        created.append(
            WebhookDelivery.objects.create(
                organization_id=organization_id,
                endpoint=endpoint,
                alert=alert,
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


# --- detection ----------------------------------------------------------------------------------


_TOKEN = re.compile(r"[#@]?[^\W\d_][\w'\u2019-]{2,}", re.UNICODE)
_STOP = frozenset(ENGLISH_STOP_WORDS) | {"http", "https", "amp", "rt", "just", "like", "im", "dont"}


def _terms(texts: Iterable[str]) -> Counter[str]:
    """Document frequency of lower-cased tokens (a term counts once per mention)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(
            {t for t in (m.lower().strip("'\u2019-") for m in _TOKEN.findall(text)) if t not in _STOP}
        )
    return counts


def top_terms(window: list[str], baseline: list[str], *, limit: int = 10) -> list[dict[str, Any]]:
    """Terms over-represented in ``window`` against ``baseline``, best first.

    Each term's share of mentions is compared as a log-odds ratio with a Jeffreys prior, divided by
    its standard error (Monroe, Colaresi & Quinn 2008, "Fightin' Words"): a term in every burst
    mention outranks one seen twice that happens to be absent from the baseline. Terms must be in
    at least two window mentions (one, for a window of under five).
    """
    win, base = _terms(window), _terms(baseline)
    n_win, n_base = len(window), len(baseline)
    floor = 2 if n_win >= 5 else 1
    scored = []
    for term, count in win.items():
        if count < floor:
            continue
        seen = base.get(term, 0)
        delta = math.log((count + 0.5) / (n_win - count + 0.5)) - math.log(
            (seen + 0.5) / (n_base - seen + 0.5)
        )
        z = delta / math.sqrt(1.0 / (count + 0.5) + 1.0 / (seen + 0.5))
        if z > 0:
            scored.append((z, count, term))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    return [{"term": t, "count": c, "baseline_count": base.get(t, 0)} for _, c, t in scored[:limit]]


def _explanation(rule: AlertRule, start: datetime, end: datetime) -> dict[str, Any]:
    target: dict[str, Any] = {"brand_id": rule.brand_id, "campaign_id": rule.campaign_id}
    window = list(negative_mentions(**target, start=start, end=end, limit=500))
    since = start - timedelta(days=BASELINE_TEXT_DAYS)
    baseline = negative_mentions(**target, start=since, end=start, limit=2000)
    samples = [
        {
            "id": m.pk,
            "text": payloads._truncate(m.text, payloads.MAX_TEXT),
            "url": m.url or None,
            "source": m.source.name,
            "published_at": m.published_at.isoformat(),
            "sentiment": m.sentiment,
        }
        for m in window[: payloads.MAX_SAMPLES]
    ]
    return {
        "top_terms": top_terms(
            [m.clean_text or m.text for m in window], [m.clean_text or m.text for m in baseline]
        ),
        "sources": negative_source_counts(**target, start=start, end=end),
        "sample_mentions": samples,
    }


def evaluate_rule(rule: AlertRule, now: datetime) -> Evaluation:
    """Judge the window ``[now - window, now)`` against the rule's history (``ALERT_HISTORY_DAYS``)."""
    size = rule.window_minutes * 60
    window_start = now - timedelta(seconds=size)
    epoch = int(window_start.timestamp())
    aligned_end = datetime.fromtimestamp(epoch - epoch % size, tz=UTC)
    history_start = aligned_end - timedelta(days=settings.ALERT_HISTORY_DAYS)
    target: dict[str, Any] = {"brand_id": rule.brand_id, "campaign_id": rule.campaign_id}
    past = bucketed_counts(**target, start=history_start, end=aligned_end, bucket_seconds=size)
    current = bucketed_counts(**target, start=window_start, end=now, bucket_seconds=size)
    history = History.build(past.starts, past.negative, past.total, bucket_seconds=size)
    negative = sum(current.negative)
    total = sum(current.total)
    return evaluate(history, window_start, negative, total, rule.params())


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The alert as :mod:`listening.alerts.payloads` expects it."""
    return {
        "id": alert.pk,
        "brand": {"id": alert.brand_id, "name": alert.brand.name},
        "campaign": {"id": alert.campaign_id, "name": alert.campaign.name} if alert.campaign else None,
        "metric": alert.metric,
        "status": alert.status,
        "started_at": alert.fired_at,
        "updated_at": alert.updated_at,
        "resolved_at": alert.resolved_at,
        "numbers": alert.numbers,
        "explanation": alert.explanation,
    }


def _send_alert_event(alert: Alert, event_type: str, occurred_at: datetime) -> list[WebhookDelivery]:
    data = alert_dict(alert)
    bodies = {
        False: payloads.encode(payloads.build_event(event_type, data, occurred_at=occurred_at)),
        True: payloads.encode(payloads.slack_payload(event_type, data)),
    }
    return _create_deliveries(alert.organization_id, event_type, bodies, alert=alert)


def do_check_rule(rule_id: int, *, now: datetime | None = None) -> str:
    """Evaluate one rule's latest window and step its episode; returns the Action taken.

    FIRE creates the alert (and ``alert.fired`` deliveries), UPDATE refreshes the open alert
    (``alert.updated``), RESOLVE closes it (``alert.resolved``). The counts are read before the row
    lock; the episode is read and written under it, so concurrent checks cannot both fire.
    """
    now = now or timezone.now()
    rule = AlertRule.objects.select_related("brand", "campaign").filter(pk=rule_id, is_active=True).first()
    if rule is None:
        return Action.NONE.value
    evaluation = evaluate_rule(rule, now)
    window_start = datetime.fromtimestamp(evaluation.window_start, tz=UTC)
    window_end = datetime.fromtimestamp(evaluation.window_end, tz=UTC)
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
        if locked.last_checked_at is not None and locked.last_checked_at >= now:
            return Action.NONE.value  # a newer check already stepped the episode
        action, episode = step_episode(Episode.from_dict(locked.episode), evaluation, now, rule.params())
        locked.episode = episode.to_dict()
        locked.last_checked_at = now
        locked.last_score = evaluation.score
        locked.save(update_fields=["episode", "last_checked_at", "last_score", "updated_at"])
        if action is Action.FIRE:
            alert = Alert.objects.create(
                organization_id=rule.organization_id,
                rule=rule,
                brand_id=rule.brand_id if rule.brand_id else rule.campaign.brand_id,  # type: ignore[union-attr]
                campaign_id=rule.campaign_id,
                metric=rule.metric,
                episode=episode.to_dict(),
                fired_at=now,
                updated_at=now,
                window_start=window_start,
                window_end=window_end,
                peak_score=evaluation.score,
                peak_negative=evaluation.negative,
                numbers=evaluation.numbers(),
                explanation=_explanation(rule, window_start, window_end),
            )
            _send_alert_event(alert, "alert.fired", now)
        elif action in (Action.UPDATE, Action.RESOLVE):
            alert = Alert.objects.select_related("brand", "campaign").get(rule=rule, status=AlertStatus.OPEN)
            alert.episode = episode.to_dict()
            alert.updated_at = now
            if action is Action.UPDATE:
                alert.window_start, alert.window_end = window_start, window_end
                alert.peak_score = max(alert.peak_score, evaluation.score)
                alert.peak_negative = max(alert.peak_negative, evaluation.negative)
                alert.numbers = evaluation.numbers()
                alert.explanation = _explanation(rule, window_start, window_end)
                event = "alert.updated"
            else:
                alert.status = AlertStatus.RESOLVED
                alert.resolved_at = now
                event = "alert.resolved"
            alert.save()
            _send_alert_event(alert, event, now)
    return action.value


def do_mark_false_positive(alert_id: int, *, user_id: int | None) -> Alert:
    """Mark an alert a false positive and lower its rule's sensitivity so that its peak would not
    have fired (bounded per marking, see detection.adapt_sensitivity). Marking twice changes nothing."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert_id)
        if alert.is_false_positive:
            return alert
        rule = AlertRule.objects.select_for_update().get(pk=alert.rule_id)
        rule.sensitivity = adapt_sensitivity(rule.sensitivity, alert.peak_score)
        rule.save(update_fields=["sensitivity", "updated_at"])
        alert.is_false_positive = True
        alert.marked_false_positive_by_id = user_id
        alert.marked_false_positive_at = timezone.now()
        alert.save(
            update_fields=["is_false_positive", "marked_false_positive_by", "marked_false_positive_at"]
        )
    return alert
