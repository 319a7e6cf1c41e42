from __future__ import annotations

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "listening.tenancy"
    label = "tenancy"
    verbose_name = "Organizations, members and API keys"
