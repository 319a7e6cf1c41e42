from __future__ import annotations

from django.apps import AppConfig


class MentionsConfig(AppConfig):
    name = "listening.mentions"
    label = "mentions"
    verbose_name = "Sources, mentions and enrichments"
