from __future__ import annotations

from django.dispatch import Signal

# Sent inside the registry transaction that may have changed which version enriches an
# organization (a promotion or a rollback), with ``organization_id`` (int, or None: the shared
# version changed). The history re-read starts from it (``LearningConfig.ready``).
active_version_changed = Signal()
