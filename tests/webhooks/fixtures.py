"""Fixtures for tests that deliver webhooks (imported by the conftest of each package that does)."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper


@pytest.fixture
def loopback_allowed(settings: SettingsWrapper) -> SettingsWrapper:
    """Let webhooks reach the loopback receiver, and cut slow receivers off quickly."""
    settings.WEBHOOK_ALLOW_LIST = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    return settings
