"""Real model versions derived from the shipped default, for tests of what is served.

A variant is a copy of ``models/default`` with its manifest rewritten through the real artefact
code (so its checksums hold and ``load_model`` reads it like any other version).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from models.artifacts import HEADS_FILE, MANIFEST, write_manifest
from models.settings import DEFAULT_MODEL_DIR


def variant_version(directory: Path, *, serving: Any = None, intent_temperature: float | None = None) -> Path:
    """Copy the shipped default into ``directory``; ``serving`` replaces its manifest's serving block
    (None leaves it as shipped), ``intent_temperature`` multiplies the intent head's temperature
    (a large factor makes the head unsure of everything: its probabilities go flat)."""
    shutil.copytree(DEFAULT_MODEL_DIR, directory)
    if intent_temperature is not None:
        heads = load_file(str(directory / HEADS_FILE))
        heads["temperature_intent"] = heads["temperature_intent"] * intent_temperature
        save_file(heads, str(directory / HEADS_FILE))
    manifest = json.loads((directory / MANIFEST).read_text())
    if serving is not None:
        manifest["serving"] = serving
    manifest["version"] = f"{manifest['version']}-{directory.name}"
    write_manifest(directory, manifest)
    return directory
