from __future__ import annotations

from django.dispatch import Signal

# Sent inside the registry transaction that may have changed which version enriches an
# organization (a promotion or a rollback), with ``organization_id`` (int, or None: the shared
# version changed) and ``classifier_id`` (None: the language model; else one custom classifier's
# versions). The history re-read (``LearningConfig.ready``) and a classifier's backfill
# (``ClassifiersConfig.ready``) start from it.
active_version_changed = Signal()
