"""listening.jobs: the domain's one way to ask for background work, by name, through the project's app."""

from __future__ import annotations

import subprocess
import sys

import celery
import pytest
from celery.contrib.testing.worker import start_worker
from kombu.exceptions import OperationalError

from listening import jobs
from listening.jobs import Queue, TaskName
from workers import app


def test_the_current_app_is_the_projects_in_every_django_process() -> None:
    # A fresh process that starts Django and imports nothing of workers/ itself (as the web process
    # and manage.py do): the workers Django app loads the Celery app, or current_app would be
    # Celery's default one, sending to a broker nobody configured.
    probe = "import celery, django; django.setup(); print(celery.current_app.main)"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.split()[-1] == app.main == "listening"


def test_every_task_name_is_a_registered_task() -> None:
    app.loader.import_default_modules()
    registered = {name for name in app.tasks if not name.startswith("celery.")}
    assert {name.value for name in TaskName} <= registered
    assert all(type(app.tasks[name.value].name) is str for name in TaskName)  # messages carry plain str


def test_a_broker_outage_defers_to_the_rescan_instead_of_failing() -> None:
    outage = celery.Celery("outage", broker="redis://127.0.0.1:1/0", set_as_current=True)
    outage.conf.task_publish_retry = False
    try:
        assert celery.current_app.main == "outage"  # what jobs sends through
        assert not jobs.send_or_defer(TaskName.PING, [], queue=Queue.MAINTENANCE, reason="test")
        with pytest.raises(OperationalError):  # an operator's explicit send fails loudly
            jobs.send(TaskName.PING, queue=Queue.MAINTENANCE.value)
    finally:
        app.set_current()
        outage.close()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_task_sent_by_name_runs_on_a_real_worker() -> None:
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.MAINTENANCE.value]):
        task_id = jobs.send(TaskName.PING, queue=Queue.MAINTENANCE.value)
        answer = app.AsyncResult(task_id).get(timeout=30)
    assert answer["worker"] and answer["database_time"]
