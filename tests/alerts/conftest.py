from __future__ import annotations

from tests.webhooks.fixtures import loopback_allowed

__all__ = ["loopback_allowed"]
