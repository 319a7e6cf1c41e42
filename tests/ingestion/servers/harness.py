"""A real HTTP server (stdlib ``ThreadingHTTPServer`` on an ephemeral 127.0.0.1 port, in a thread)
in front of an in-memory fake API, plus scripted faults.

A fake API subclasses ``FakeApi`` and answers ``handle(request)``. Tests script failures ahead of
it with ``api.script(path_prefix, response, times=n)``: the next ``n`` requests whose path starts
with ``path_prefix`` get ``response`` instead (a 503, a 429 with headers, an invalid body, a slow
answer...). Every request is recorded in ``api.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]  # the last value of each parameter
    headers: dict[str, str]  # lower-cased names
    form: dict[str, str] = field(default_factory=dict)  # a POSTed urlencoded form


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (slow responses, timeouts)

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None, delay: float = 0.0
    ) -> Response:
        return cls(
            status=status,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            delay=delay,
        )

    @classmethod
    def raw(cls, body: bytes | str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        data = body.encode() if isinstance(body, str) else body
        return cls(
            status=status,
            body=data,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )


class FakeApi:
    base_url = ""  # set by serve()

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []  # bugs in the fake itself: serve() fails the test
        self._script: deque[tuple[str, Response]] = deque()
        self._lock = threading.Lock()

    def script(self, path_prefix: str, response: Response, *, times: int = 1) -> None:
        """Answer the next ``times`` requests under ``path_prefix`` with ``response``."""
        with self._lock:
            self._script.extend((path_prefix, response) for _ in range(times))

    def requests_to(self, path_prefix: str) -> list[Request]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            for position, (prefix, response) in enumerate(self._script):
                if request.path.startswith(prefix):
                    del self._script[position]
                    return response
        try:
            return self.handle(request)
        except Exception as exc:
            self.errors.append(exc)
            return Response.json({"error": f"fake server bug: {exc!r}"}, 599)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError


def _handler_for(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
            headers = {key.lower(): value for key, value in self.headers.items()}
            form: dict[str, str] = {}
            if method == "POST":
                body = self.rfile.read(int(headers.get("content-length", "0") or 0)).decode()
                form = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
            response = api.dispatch(Request(method, parts.path, query, headers, form))
            if response.delay:
                time.sleep(response.delay)
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


Api = TypeVar("Api", bound=FakeApi)


@contextmanager
def serve(api: Api) -> Iterator[Api]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(api))
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        name=f"fake-{type(api).__name__}",
        daemon=True,
    )
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    if api.errors:
        raise AssertionError(f"the fake {type(api).__name__} crashed: {api.errors[0]!r}") from api.errors[0]
