"""A real HTTP webhook receiver on 127.0.0.1 for the delivery tests (stdlib ThreadingHTTPServer).

Each request consumes the next behaviour of its script (the last one repeats). The receiver verifies
signatures with the independent reference verifier and processes each webhook-id once, as the spec
tells consumers to.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.webhooks.reference_verifier import spec_verify


@dataclass
class Behaviour:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    # normal | slow (say nothing) | drip_headers | drip_body | close (hang up without answering)
    mode: str = "normal"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool


class Receiver:
    def __init__(
        self,
        *script: Behaviour,
        secret: str | None = None,
        tls: tuple[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.script = list(script) or [Behaviour()]
        self.secret = secret
        self.requests: list[Received] = []
        self.processed_ids: list[str] = []
        self.client_gone = threading.Event()
        self.sni: list[str | None] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                receiver.handle(self)

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self.server = Server((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        scheme = "http"
        if tls is not None:  # (certfile, keyfile): speak HTTPS and record the SNI each client sent
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        netloc = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{netloc}:{self.port}/hooks/alerts"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        verified = False
        if self.secret is not None and "webhook-signature" in headers:
            verified = spec_verify(headers, body, self.secret, now=int(time.time()))
        with self._lock:
            behaviour = self.script[min(len(self.requests), len(self.script) - 1)]
            self.requests.append(Received(handler.path, headers, body, verified))
            first_time = headers.get("webhook-id") not in self.processed_ids
            if verified and first_time and 200 <= behaviour.status < 300 and behaviour.mode == "normal":
                self.processed_ids.append(headers["webhook-id"])
        try:
            self._answer(handler, behaviour)
        except OSError:
            self.client_gone.set()

    def _drip(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        for i in range(len(data)):
            if self.stop.is_set():
                return
            handler.wfile.write(data[i : i + 1])
            handler.wfile.flush()
            time.sleep(0.05)

    def _answer(self, handler: BaseHTTPRequestHandler, b: Behaviour) -> None:
        if b.mode == "close":
            handler.close_connection = True
            return
        if b.mode == "slow":
            # Say nothing until the client hangs up (or the test ends); the read raises on hang-up.
            handler.connection.settimeout(0.05)
            while not self.stop.is_set():
                try:
                    if handler.connection.recv(1) == b"":
                        raise ConnectionResetError("client closed")
                except TimeoutError:
                    continue
            return
        status_line = f"HTTP/1.0 {b.status} X\r\n".encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in b.headers.items())
        head += f"Content-Length: {len(b.body)}\r\n\r\n"
        if b.mode == "drip_headers":
            handler.wfile.write(status_line)
            self._drip(handler, b"X-Slow: " + b"a" * 10_000 + b"\r\n")
            return
        handler.wfile.write(status_line + head.encode())
        if b.mode == "drip_body":
            self._drip(handler, b.body)
        else:
            handler.wfile.write(b.body)
