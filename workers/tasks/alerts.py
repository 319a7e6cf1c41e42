"""Spike checks on the ``alerts`` queue."""

from __future__ import annotations

from listening.alerts.queries import active_rule_ids
from listening.alerts.services import do_check_rule
from listening.jobs import Queue, TaskName
from workers.celery_app import listening_task


@listening_task(name=TaskName.CHECK_RULES, queue=Queue.ALERTS, idempotent=True, soft_time_limit=60)
def check_rules() -> int:
    """Beat, every ALERT_CHECK_SECONDS: one check task per active rule."""
    ids = active_rule_ids()
    for rule_id in ids:
        check_rule.delay(rule_id)
    return len(ids)


@listening_task(name=TaskName.CHECK_RULE, queue=Queue.ALERTS, idempotent=True, soft_time_limit=120)
def check_rule(rule_id: int) -> str:
    return do_check_rule(rule_id)
