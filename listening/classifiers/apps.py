from __future__ import annotations

from django.apps import AppConfig


class ClassifiersConfig(AppConfig):
    name = "listening.classifiers"
    label = "classifiers"
    verbose_name = "Custom classifiers"
