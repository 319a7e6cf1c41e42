from __future__ import annotations

from django.apps import AppConfig


class BrandsConfig(AppConfig):
    name = "listening.brands"
    label = "brands"
    verbose_name = "Brands, competitors and campaigns"
