"""The direction of dependencies holds: the contracts in pyproject's ``[tool.importlinter]``.

Nothing under ``listening/``, ``ingestion/`` or ``models/`` imports ``workers/`` or ``api/`` (the
domain asks for background work through ``listening.jobs``), and ``models/`` imports nothing of ours
and no Django. import-linter is a dev dependency; CI installs it, so there the check never skips.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> str | None:
    beside = Path(sys.executable).with_name("lint-imports")
    return str(beside) if beside.exists() else shutil.which("lint-imports")


def test_import_contracts_are_kept() -> None:
    command = _lint_imports()
    if command is None:
        if IN_CI:
            pytest.fail("lint-imports is missing: import-linter is in the dev dependencies")
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    found = subprocess.run(
        [command, "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert found.returncode == 0, found.stdout[-4000:] + found.stderr[-2000:]
    assert "0 broken" in found.stdout


def test_no_module_imports_itself_back() -> None:
    """No two modules of ours reach each other through imports, lazy ones inside functions
    included (grimp, import-linter's graph): a circle means a definition is in the wrong room.
    Between apps, only learning and mentions depend on each other, through their models (a
    mention records the version that read it; feedback and cycles read mentions)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("listening", "ingestion", "models", "api", "workers")
    back = graph.find_shortest_chain
    circles = sorted(
        {
            f"{min(a, b)} <-> {max(a, b)}: {' -> '.join(back(importer=b, imported=a) or ())}"
            for a in graph.modules
            for b in graph.find_modules_directly_imported_by(a)
            if graph.chain_exists(importer=b, imported=a)
        }
    )
    assert not circles, "\n".join(circles)
    apps = sorted({".".join(m.split(".")[:2]) for m in graph.modules if m.startswith("listening.")})
    mutual = {
        (a, b)
        for a in apps
        for b in apps
        if a < b
        and graph.chain_exists(importer=a, imported=b, as_packages=True)
        and graph.chain_exists(importer=b, imported=a, as_packages=True)
    }
    assert mutual <= {("listening.learning", "listening.mentions")}, mutual
