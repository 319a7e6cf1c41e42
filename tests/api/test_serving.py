"""``gunicorn.conf.py``: its defaults, and the worker hook that loads the views and freezes them."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_environment() -> None:
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["workers"] == int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
    assert config["worker_class"] == "gthread"
    env = {**os.environ, "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "2"}
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy; c = runpy.run_path('gunicorn.conf.py'); print(c['workers'], c['threads'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shown.stdout.split() == ["3", "2"]


def test_the_worker_hook_loads_the_views_then_freezes_them() -> None:
    script = (
        "import gc, runpy, sys, django; django.setup(); "
        "assert 'api.mentions' not in sys.modules; "
        "runpy.run_path('gunicorn.conf.py')['post_worker_init'](None); "
        "print('api.mentions' in sys.modules, gc.get_freeze_count() > 10_000)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "listening.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["True", "True"]
