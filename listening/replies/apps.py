from __future__ import annotations

from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "listening.replies"
    label = "replies"
    verbose_name = "Reply suggestions and their training pairs"
