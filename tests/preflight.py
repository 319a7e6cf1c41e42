"""Decide where the test suite runs and print the shell ``export`` lines for it.

PostgreSQL and Redis are the real path and are used whenever reachable (``DATABASE_URL`` /
``REDIS_URL`` if set, else the local defaults). Under ``CI=true`` an unreachable service is a
failure. Locally, without them, the suite falls back to SQLite and the embedded broker, and the
tests marked ``postgres``/``redis`` are skipped with a message saying so.
"""

from __future__ import annotations

import os
import shlex
import socket
import sys
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    exports = {"LISTENING_ENV": "test", "DJANGO_DEBUG": "false"}
    for var, default, port, what in (
        ("DATABASE_URL", DEFAULT_DATABASE_URL, 5432, "PostgreSQL"),
        ("REDIS_URL", DEFAULT_REDIS_URL, 6379, "Redis"),
    ):
        url = os.environ.get(var) or default
        if reachable(url, port):
            exports[var] = url
        elif ci:
            print(f"echo 'preflight: {what} at {url} is unreachable; CI requires it.' >&2; false")
            return 0
        else:
            exports[var] = ""
            print(
                f"echo 'preflight: {what} unreachable at {url}: falling back to the embedded default; "
                f"tests marked {what.lower() if what == 'Redis' else 'postgres'} will be skipped.' >&2;"
            )
    print(" ".join(f"export {name}={shlex.quote(value)};" for name, value in exports.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
