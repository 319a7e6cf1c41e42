"""Delivery accounting for late-acknowledged Celery messages, and the dead letters it produces.

Redis has no delivery counter and no dead-letter queue, so both live here, in the system of record:
a count survives the worker process that died holding the message, and a dead letter is a row an
operator can list, read and send again (``manage.py deadletters``).
"""

from __future__ import annotations

from django.db import models


class TaskDelivery(models.Model):
    """How many times one message (a task id at one retry number) has started running.

    The row is deleted when the task returns or raises; a row that outlives its task belongs to a
    message whose worker died while running it.
    """

    key = models.CharField(max_length=200, primary_key=True)  # "<task id>:<retry number>"
    task_name = models.CharField(max_length=200)
    deliveries = models.PositiveIntegerField(default=0)
    first_delivered_at = models.DateTimeField()
    last_delivered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.task_name} {self.key} x{self.deliveries}"


class DeadLetter(models.Model):
    class Kind(models.TextChoices):
        CRASHED = "crashed", "its worker died every time it ran"
        FAILED = "failed", "it raised after its retries were spent"

    task_id = models.CharField(max_length=64, db_index=True)
    task_name = models.CharField(max_length=200, db_index=True)
    queue = models.CharField(max_length=64, blank=True)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField()
    deliveries = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Sent again by an operator: the new task's id, so the audit trail joins up.
    retried_at = models.DateTimeField(null=True, blank=True)
    retried_as = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_name} {self.task_id} ({self.kind})"
