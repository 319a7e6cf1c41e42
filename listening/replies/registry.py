"""The reply-model registry: the learning registry's rows with ``task="replies"``. No torch here.

One active reply model per organization: its own promoted one, else the shipped decoder
(``LISTENING_REPLY_MODEL``, SmolLM2-135M-Instruct from its wheel), registered as
``shipped-replies`` on first use. Promotion and rollback are the learning registry's
(``do_promote``, ``do_rollback(task="replies")``); the generate worker looks the active model up
on every request and loads it once per process (:func:`decoder_for`), so a promotion or a rollback
is served from the next request on, without a restart.

A trained version's directory (under ``MODELS_DIR``) holds a LoRA adapter (peft) over its
``backbone``, or, after a full fine-tune, a whole checkpoint; ``hyperparameters["lora"]`` says which.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from listening.learning.models import ModelTask, ModelVersion
from listening.learning.registry import get_active

if TYPE_CHECKING:
    from models.generation.decoder import Decoder


def active_reply_model(organization_id: int) -> ModelVersion:
    """The reply model that drafts this organization's suggestions."""
    return get_active(organization_id, ModelTask.REPLIES)


def decoder_for(version: ModelVersion, *, device: str | None = None) -> Decoder:
    """The loaded decoder of a reply-model version (cached per process by ``load_decoder``)."""
    from models.generation.decoder import load_decoder  # torch: generate and train workers only

    if not version.artefact_path:  # the shipped decoder, as LISTENING_REPLY_MODEL names it
        return load_decoder(device=device)
    directory = Path(version.artefact_path)
    if version.hyperparameters.get("lora", True):
        return load_decoder(version.backbone, adapter=directory, device=device)
    return load_decoder(str(directory), device=device)
