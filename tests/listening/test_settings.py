"""Settings fail loudly: each case imports the settings module in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "LISTENING_", "DATABASE_", "REDIS_"))
    }
    clean.update(LISTENING_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import listening.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_needs_no_server(tmp_path: Path) -> None:
    result = _import_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LISTENING_ENV": "production"}, "DJANGO_SECRET_KEY"),
        ({"LISTENING_ENV": "production", "DJANGO_SECRET_KEY": "short"}, "at least 50"),
        ({"LISTENING_ENV": "production", "DJANGO_DEBUG": "true", "DJANGO_SECRET_KEY": "k" * 60}, "DEBUG"),
        ({"LISTENING_ENV": "production", "DJANGO_SECRET_KEY": "k" * 60}, "DATABASE_URL"),
        ({"LISTENING_ENV": "staging"}, "LISTENING_ENV"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"API_PAGE_SIZE": "lots"}, "API_PAGE_SIZE"),
        ({"API_PAGE_SIZE": "0"}, ">= 1"),
        ({"DJANGO_SECRET_KEY_FILE": "/nonexistent/secret"}, "cannot be read"),
    ],
)
def test_malformed_or_unsafe_settings_refuse_to_start(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = _import_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_secret_file_variant(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 64 + "\n")
    result = _import_settings(
        tmp_path,
        LISTENING_ENV="production",
        DJANGO_SECRET_KEY_FILE=str(secret),
        DATABASE_URL="postgres://u@127.0.0.1:1/x",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False")
