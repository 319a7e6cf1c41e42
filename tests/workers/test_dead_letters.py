"""Dead letters: a task failing for good is recorded; an operator lists it and sends it again.
(A task that kills its worker on every delivery: tests/reliability/test_faults.py.)"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from listening.jobs import Queue
from listening.operations.models import DeadLetter, TaskDelivery
from listening.operations.services import do_count_delivery, do_finish_delivery
from workers.celery_app import listening_task


@listening_task(name="tests.always_fails", queue=Queue.MAINTENANCE, idempotent=False, soft_time_limit=10)
def always_fails(reason: str) -> None:
    raise ValueError(reason)


@pytest.mark.django_db
def test_a_task_failing_for_good_leaves_a_dead_letter() -> None:
    result = always_fails.apply(args=["bad input"], throw=False)
    assert result.failed()
    letter = DeadLetter.objects.get(task_name="tests.always_fails")
    assert letter.kind == DeadLetter.Kind.FAILED and letter.args == ["bad input"]
    assert "ValueError: bad input" in letter.reason


@pytest.mark.django_db
def test_deliveries_are_counted_per_message_and_forgotten_when_settled() -> None:
    assert [do_count_delivery("task-1:0", "x") for _ in range(3)] == [1, 2, 3]
    assert do_count_delivery("task-1:1", "x") == 1  # a retry is a new message
    do_finish_delivery("task-1:0")
    assert list(TaskDelivery.objects.values_list("key", flat=True)) == ["task-1:1"]


@pytest.mark.redis
@pytest.mark.django_db
def test_operators_list_and_resend_dead_letters() -> None:
    letter = DeadLetter.objects.create(
        task_id="abc",
        task_name="maintenance.heartbeat",  # harmless when a later test's worker runs it
        queue="maintenance",
        kind=DeadLetter.Kind.CRASHED,
        reason="its worker died during each of 3 deliveries",
        deliveries=3,
    )
    out = StringIO()
    call_command("deadletters", stdout=out)
    assert "maintenance.heartbeat" in out.getvalue() and "deliveries=3" in out.getvalue()
    call_command("deadletters", "--retry", str(letter.pk), stdout=out)
    letter.refresh_from_db()
    assert letter.retried_at is not None and letter.retried_as
    listed = StringIO()
    call_command("deadletters", stdout=listed)
    assert listed.getvalue().strip() == "no dead letters"  # sent again: off the default list
    with pytest.raises(CommandError, match="no dead letter with id 999999"):
        call_command("deadletters", "--retry", "999999")
