from __future__ import annotations

from django.apps import AppConfig


class WorkersConfig(AppConfig):
    """Loads the project's Celery app in every Django process (web, ``manage.py``, tests, workers).

    Importing ``workers.celery_app`` makes it ``celery.current_app``, through which
    :mod:`listening.jobs` sends: the domain names tasks without importing this package. This is
    Celery's own advice for Django (import the app when Django starts), kept out of ``listening/``.
    """

    name = "workers"
    label = "workers"
    verbose_name = "Celery workers"

    def ready(self) -> None:
        import workers.celery_app  # noqa: F401
