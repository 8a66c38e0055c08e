"""The preview server: static files from one folder, live reload, an error overlay.

It imports nothing else from masthead: the caller tells it when a build starts and ends
(`building()`), which output URLs changed and what went wrong (`publish()`). Requests
that arrive during a build wait for it, so a half-built site is never served.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import queue
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

EVENTS = "/__masthead/events"
CLIENT = "/__masthead/live.js"
_TEXT_TYPES = {".html", ".css", ".js", ".xml", ".json", ".txt", ".svg", ".webmanifest"}
_EXTRA_TYPES = {".json": "application/json", ".xml": "application/xml", ".svg": "image/svg+xml"}
BUILD_WAIT_SECONDS = 60.0


@dataclass
class Change:
    """What one build changed, as URLs the browser knows."""

    pages: list[str] = field(default_factory=list)
    stylesheets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class DevServer(ThreadingHTTPServer):
    """Serves `root` under `base_path`; every HTML page gets the live-reload client."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # a burst of page loads must queue, not be refused

    def __init__(
        self, root: Path, host: str = "127.0.0.1", port: int = 8000, base_path: str = "/"
    ) -> None:
        self.root = root
        self.base_path = base_path if base_path.endswith("/") else base_path + "/"
        self._idle = threading.Condition()
        self._building = False
        self._clients: set[queue.Queue[str | None]] = set()
        self._clients_lock = threading.Lock()
        self.errors: list[str] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.address_family = family
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}{self.base_path}"

    @contextmanager
    def building(self) -> Iterator[None]:
        """Hold requests back while the output folder changes."""
        with self._idle:
            self._building = True
        try:
            yield
        finally:
            with self._idle:
                self._building = False
                self._idle.notify_all()

    def wait_idle(self) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._building, timeout=BUILD_WAIT_SECONDS)

    def publish(self, change: Change) -> None:
        """Tell every open page what changed; pages decide whether it concerns them."""
        self.errors = list(change.errors)
        if change.pages or change.stylesheets:
            self._broadcast("reload", {"pages": change.pages, "stylesheets": change.stylesheets})
        self._broadcast("status", {"errors": self.errors})

    def _broadcast(self, event: str, data: object) -> None:
        message = f"event: {event}\ndata: {json.dumps(data)}\n\n"
        with self._clients_lock:
            for client in self._clients:
                client.put(message)

    def subscribe(self) -> queue.Queue[str | None]:
        client: queue.Queue[str | None] = queue.Queue()
        with self._clients_lock:
            self._clients.add(client)
        return client

    def unsubscribe(self, client: queue.Queue[str | None]) -> None:
        with self._clients_lock:
            self._clients.discard(client)

    def close_clients(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.put(None)

    def resolve(self, url_path: str) -> Path | None:
        """The file for a request path, or None: outside base_path, hidden, or leading out."""
        if not url_path.startswith(self.base_path):
            return None
        rel = unquote(url_path[len(self.base_path) :], errors="strict")
        if "\x00" in rel or "\\" in rel:
            return None
        parts = [p for p in rel.split("/") if p]
        if any(p in (".", "..") or p.startswith(".") for p in parts):
            return None
        candidate = self.root.joinpath(*parts) if parts else self.root
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not real.is_relative_to(self.root.resolve()):
            return None  # a symlink that leads out of the output folder
        return real


class _Handler(BaseHTTPRequestHandler):
    server: DevServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        path = urlsplit(self.path).path
        if path == EVENTS:
            return self._events()
        if path == CLIENT:
            return self._send(
                HTTPStatus.OK, _client_script(), "text/javascript; charset=utf-8", head
            )
        if not self.server.wait_idle():
            return self._send(
                HTTPStatus.SERVICE_UNAVAILABLE, b"build still running\n", "text/plain", head
            )
        try:
            target = self.server.resolve(path)
        except UnicodeDecodeError:
            target = None
        if target is not None and target.is_dir():
            if not path.endswith("/"):
                return self._redirect(path + "/")
            target = target / "index.html"
        if target is None or not target.is_file():
            return self._not_found(head)
        self._send_file(target, HTTPStatus.OK, head)

    def _send_file(self, target: Path, status: HTTPStatus, head: bool) -> None:
        try:
            body = target.read_bytes()
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head)
        ctype = _content_type(target)
        if target.suffix == ".html":
            body = _inject_client(body)
        self._send(status, body, ctype, head)

    def _not_found(self, head: bool) -> None:
        page = self.server.root / "404.html"
        if page.is_file():
            return self._send_file(page, HTTPStatus.NOT_FOUND, head)
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: HTTPStatus, body: bytes, ctype: str, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _events(self) -> None:
        """Server-sent events: `reload` after each build, `status` for the error overlay."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        client = self.server.subscribe()
        try:
            self.wfile.write(
                f"retry: 500\nevent: status\ndata: {json.dumps({'errors': self.server.errors})}\n\n".encode()
            )
            self.wfile.flush()
            while True:
                try:
                    message = client.get(timeout=15)
                except queue.Empty:
                    message = ": keep-alive\n\n"
                if message is None:
                    return
                self.wfile.write(message.encode())
                self.wfile.flush()
        except OSError:
            return  # the page was closed
        finally:
            self.server.unsubscribe(client)


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    ctype = (
        _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    return f"{ctype}; charset=utf-8" if suffix in _TEXT_TYPES else ctype


def _inject_client(body: bytes) -> bytes:
    tag = f'<script src="{CLIENT}"></script>'.encode()
    index = body.rfind(b"</body>")
    return body[:index] + tag + body[index:] if index >= 0 else body + tag


_script_cache: bytes | None = None


def _client_script() -> bytes:
    global _script_cache
    if _script_cache is None:
        _script_cache = (resources.files("masthead") / "live.js").read_bytes()
    return _script_cache


def warn_if_public(host: str) -> None:
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
        log.warning(
            "serving on %s: anyone who can reach this machine can read the preview; "
            "use --host 127.0.0.1 to keep it local",
            host,
        )
