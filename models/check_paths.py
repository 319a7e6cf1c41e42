"""Check a model version's CPU inference paths ahead of time (e.g. right after building it).

    python -m models.check_paths [version dir] [--force]

Runs :func:`models.paths.choose_path` as ``load_model`` would on its first load on this CPU, saves
the record and prints it; ``--force`` measures again although a record exists.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from models import paths
from models.artifacts import read_manifest
from models.inference import ListeningModel, build_path
from models.settings import FULL_CHECK_ROWS, ModelSettings
from models.version import load_model_version


def main(argv: Sequence[str] | None = None) -> int:
    """Check (or re-check with ``--force``) the paths of a version on this CPU and print the record."""
    parser = argparse.ArgumentParser(description="Check a model version's CPU inference paths.")
    parser.add_argument("version_dir", nargs="?", default=None)
    parser.add_argument("--force", action="store_true", help="measure again even if recorded")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    settings = ModelSettings.from_env()
    # Loads only read the record by default; this command is where it is measured.
    settings = dataclasses.replace(settings, check_rows=settings.check_rows or FULL_CHECK_ROWS)
    directory = Path(args.version_dir or settings.model_dir)
    manifest = read_manifest(directory, verify=True)
    if args.force:
        folder = paths.paths_dir(manifest, settings.cache_dir)
        record = paths.read_record(folder)
        record.get("cpus", {}).pop(paths.cpu_signature(), None)
        if record:
            paths.write_record(folder, record)
    network, manifest = load_model_version(directory, cache_dir=settings.cache_dir)
    threads = settings.torch_threads or torch.get_num_threads()
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    length = settings.max_length or int(manifest["max_length"])

    def build(name: str) -> ListeningModel:
        return build_path(
            network, manifest, name, max_length=length, cache_dir=settings.cache_dir, threads=threads
        )

    chosen, entry = paths.choose_path(manifest, build, settings=settings, threads=threads)
    print(json.dumps(entry, indent=2, sort_keys=True) if entry else f"check skipped; serving {chosen}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
