"""Real processes for fault tests: Celery workers, beat and gunicorn as subprocesses, a private
redis-server that can be stopped and started, and a TCP proxy in front of PostgreSQL that can cut
every connection (a network partition or a database restart, as the client sees it).

Everything here is what production runs (`celery -A workers worker`, `gunicorn listening.wsgi`);
only the environment differs: a private Redis, fast re-scan intervals, and the test database.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import requests
from django.conf import settings

from benchmarks.stack import free_port

REPO = Path(__file__).resolve().parents[2]
CELERY = [sys.executable, "-m", "celery", "-A", "workers"]
T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = predicate()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)
        last = predicate()
    return last


# --- processes --------------------------------------------------------------------------------------
@dataclass
class Process:
    """A subprocess in its own process group, so a kill reaches every child (prefork pool)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> Process:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start {self.starts}: {' '.join(self.argv)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL to the whole group: no shutdown handler, no ack, no cleanup — a lost machine."""
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RedisServer:
    """A private redis-server on its own port, kept in memory only (as the shared one is)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = Process(
            "redis",
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            dict(os.environ),
            workdir / "redis.log",
        )

    def start(self) -> None:
        self.process.start()
        wait_until(self.ping, timeout=10, what="redis-server to answer")

    def stop(self) -> None:
        """SHUTDOWN NOSAVE: everything queued in Redis is gone, as after a crash or a failover."""
        self.process.stop(timeout=10)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = int(self._listener.getsockname()[1])
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()  # the server is "down": the connection is reset at once
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)


# --- the stack --------------------------------------------------------------------------------------
def database_url(port: int | None = None) -> str:
    """The URL of the test database (the one pytest-django created), optionally via another port."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{port or db.get('PORT') or 5432}/{db['NAME']}"


@dataclass
class Stack:
    """Environment and processes of one scenario. Processes are stopped in reverse on ``close``."""

    workdir: Path
    redis: RedisServer
    database_url: str
    overrides: Mapping[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "LISTENING_ENV": "test",
            "DJANGO_DEBUG": "false",
            "LOG_FORMAT": "console",
            "PYTHONPATH": str(REPO),
            # Fast re-scans, so recovery is seen in seconds rather than a production minute.
            "ENRICH_RESCAN_SECONDS": "5",
            "ENRICH_LEASE_SECONDS": "10",  # a killed enrich worker's batch is read again soon
            "PULL_CHECK_SECONDS": "5",
            "WORKER_HEARTBEAT_SECONDS": "1",
            "TASK_RETRY_BACKOFF_MAX": "4",
            "DATABASE_CONN_MAX_AGE": "60",
        }
        env.update(self.overrides)
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        return env

    def _add(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Process:
        process = Process(name, argv, {**self.env, **(env or {})}, self.workdir / f"{name}.log").start()
        self.processes.append(process)
        return process

    def worker(
        self,
        name: str,
        queues: str,
        *,
        concurrency: int = 1,
        include: str = "",
        nice: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> Process:
        """``nice`` > 0 starts it at lower CPU priority (``nice -n``), as ``make serve`` runs training."""
        argv = [
            *(["nice", "-n", str(nice)] if nice else []),
            *CELERY,
            "worker",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
        ]
        argv += ["--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", "INFO"]
        argv += ["--without-gossip", "--without-mingle"]
        if include:
            argv += ["--include", include]
        return self._add(name, argv, env)

    def beat(self) -> Process:
        schedule = self.workdir / "celerybeat-schedule"
        return self._add(
            "beat",
            [*CELERY, "beat", "--loglevel", "INFO", "--schedule", str(schedule)],
        )

    def api(self) -> tuple[Process, str]:
        port = free_port()
        process = self._add(
            "api",
            [
                sys.executable, "-m", "gunicorn", "listening.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60", "--graceful-timeout", "5",
            ],
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{base}/healthz"), timeout=60, what="gunicorn to answer /healthz")
        return process, base

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_for_worker(process: Process, *, timeout: float = 120) -> None:
    """A worker is up once it logs ``ready`` (after it has imported its tasks and connected)."""
    wait_until(
        lambda: " ready." in process.log().rsplit("===== start", 1)[-1] or not process.alive(),
        timeout=timeout,
        what=f"{process.name} to be ready",
    )
    assert process.alive(), f"{process.name} died on start:\n{process.log()[-3000:]}"


# --- documents ----------------------------------------------------------------------------------------
def distinct_texts(count: int, *, brand: str, seed: int = 11) -> list[str]:
    """``count`` realistic posts mentioning ``brand``, no two of them near-duplicates.

    Each joins three different sentences of the demo corpus (real-sounding posts about outdoor gear)
    around the brand's name, so posts share sentences but never most of their words.
    """
    from listening.demo.corpus import generate

    sentences = sorted({item["text"] for item in generate(datetime(2026, 11, 1, tzinfo=UTC))})
    rng = random.Random(seed)
    seen: set[tuple[int, int, int]] = set()
    texts: list[str] = []
    while len(texts) < count:
        a, b, c = rng.sample(range(len(sentences)), 3)
        if (a, b, c) in seen:
            continue
        seen.add((a, b, c))
        texts.append(f"{sentences[a]} Re {brand}: {sentences[b]} {sentences[c]}")
    return texts


def push_items(texts: list[str], *, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"{prefix}-{n}",
            "text": text,
            "published_at": f"2026-11-{1 + n % 20:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
            "author": {"id": f"a{n % 977}", "handle": f"fan{n % 977}"},
        }
        for n, text in enumerate(texts)
    ]
