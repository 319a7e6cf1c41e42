"""Writes for alerting: spike checks that open, update and close alerts, and the false-positive
marking that adapts a rule. Each alert event goes out through the webhooks capability
(:func:`listening.webhooks.services.do_enqueue_event`).

Concurrency: a rule's episode is stepped under ``select_for_update`` on the rule row (two beat
processes checking the same rule serialise there), and a unique partial index allows one open alert
per rule.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from listening.alerts.detection import (
    Action,
    Episode,
    MultiScale,
    adapt_sensitivity,
    evaluate_scales,
    step_episode,
)
from listening.alerts.models import Alert, AlertRule, AlertStatus
from listening.alerts.queries import (
    counts_of,
    labelled_mentions,
    negative_mentions,
    negative_source_counts,
    rule_history,
    rule_scales,
)
from listening.analytics.terms import NO_FILTER, TermFilter
from listening.analytics.themes import filter_for
from listening.webhooks import payloads
from listening.webhooks.models import WebhookDelivery
from listening.webhooks.services import do_enqueue_event

BASELINE_TEXT_DAYS = 7


# --- detection ----------------------------------------------------------------------------------


def top_terms(
    window: list[str],
    baseline: list[str],
    *,
    term_filter: TermFilter = NO_FILTER,
    window_ids: Sequence[int] = (),
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Terms (words and phrases that ``term_filter`` allows) over-represented in ``window``
    against ``baseline``, best first, each with ``examples``: the ids (``window_ids``, aligned with
    ``window``) of up to three window mentions containing it.

    Each term's share of mentions is compared as a log-odds ratio with a Jeffreys prior, divided by
    its standard error (Monroe, Colaresi & Quinn 2008, "Fightin' Words"): a term in every burst
    mention outranks one seen twice that happens to be absent from the baseline. Terms must be in
    at least two window mentions (one, for a window of under five).
    """
    window_terms = [term_filter.terms(text) for text in window]
    win: Counter[str] = Counter(term for terms in window_terms for term in terms)
    base: Counter[str] = Counter(term for text in baseline for term in term_filter.terms(text))
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
    ids = list(window_ids)
    return [
        {
            "term": t,
            "count": c,
            "baseline_count": base.get(t, 0),
            "examples": [mid for mid, terms in zip(ids, window_terms, strict=False) if t in terms][:3],
        }
        for _, c, t in scored[:limit]
    ]


def _term_filter(rule: AlertRule) -> TermFilter:
    """The rule's subject's own terms explain nothing: every one of its mentions has them."""
    if rule.campaign is not None:
        return filter_for(campaigns=[rule.campaign])
    return filter_for(brands=[rule.brand] if rule.brand is not None else [])


def _explanation(rule: AlertRule, start: datetime, end: datetime) -> dict[str, Any]:
    subject = rule.subject
    watched = negative_mentions
    if rule.classifier_id is not None:  # the mentions with the watched label
        watched = functools.partial(labelled_mentions, rule.classifier_id, rule.label)
    window = list(watched(*subject, start=start, end=end, limit=500))
    since = start - timedelta(days=BASELINE_TEXT_DAYS)
    baseline = watched(*subject, start=since, end=start, limit=2000)
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
            [m.clean_text or m.text for m in window],
            [m.clean_text or m.text for m in baseline],
            term_filter=_term_filter(rule),
            window_ids=[m.pk for m in window],
        ),
        "sources": negative_source_counts(*subject, start=start, end=end),
        "sample_mentions": samples,
    }


def evaluate_rule(rule: AlertRule, now: datetime) -> MultiScale:
    """Judge the windows ``[now - length, now)`` of every length of ``rule_scales`` together, each
    against the history (``ALERT_HISTORY_DAYS``) before it."""
    scales = rule_scales(rule)
    bucket = rule.bucket_seconds
    epoch = int((now - timedelta(seconds=min(scales))).timestamp())
    aligned_end = datetime.fromtimestamp(epoch - epoch % bucket, tz=UTC)
    history_start = aligned_end - timedelta(days=settings.ALERT_HISTORY_DAYS, seconds=max(scales))
    history = rule_history(rule, history_start, aligned_end)
    counts, windows = counts_of(rule), {}
    for length in scales:
        current = counts(*rule.subject, start=now - timedelta(seconds=length), end=now, bucket_seconds=length)
        windows[length] = (sum(current.negative), sum(current.total))
    return evaluate_scales(history, now, windows, rule.params())


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The alert as :mod:`listening.webhooks.payloads` expects it."""
    return {
        "id": alert.pk,
        "brand": {"id": alert.brand_id, "name": alert.brand.name},
        "campaign": {"id": alert.campaign_id, "name": alert.campaign.name} if alert.campaign else None,
        "metric": alert.metric,
        "label": {"classifier": alert.rule.classifier_id, "name": alert.rule.label}
        if alert.rule.classifier_id is not None
        else None,
        "status": alert.status,
        "started_at": alert.fired_at,
        "updated_at": alert.updated_at,
        "resolved_at": alert.resolved_at,
        "numbers": alert.numbers,
        "explanation": alert.explanation,
    }


def _send_alert_event(alert: Alert, event_type: str, occurred_at: datetime) -> list[WebhookDelivery]:
    return do_enqueue_event(
        alert.organization_id, event_type, alert_dict(alert), occurred_at=occurred_at, alert_id=alert.pk
    )


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
    verdict = evaluate_rule(rule, now)
    evaluation = verdict.best
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
        locked.last_check = {"checked_at": now.isoformat(), **verdict.status()}
        locked.save(update_fields=["episode", "last_checked_at", "last_score", "last_check", "updated_at"])
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
