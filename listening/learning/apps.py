from __future__ import annotations

from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "listening.learning"
    label = "learning"
    verbose_name = "Model versions and learning"
