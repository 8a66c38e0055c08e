"""The preview server: static files from one folder, live reload, an error overlay.

It imports nothing of masthead's build: the caller tells it when a build starts and ends
(`building()`), which output URLs changed and what went wrong (`publish()`). Requests
that arrive during a build wait for it, so a half-built site is never served. Its
connections are handled in `server_front` (bounded threads, slow clients dropped) and
the names it answers to are decided in `server_hosts` (DNS rebinding).
"""

from __future__ import annotations

import io
import json
import logging
import mimetypes
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from masthead.preview.front import Conn, Front, Limits, Pool
from masthead.preview.hosts import HostCheck

log = logging.getLogger(__name__)

EVENTS = "/__masthead/events"
CLIENT = "/__masthead/live.js"
_CLIENT_TAG = f'<script src="{CLIENT}"></script>'.encode()
_TEXT_TYPES = {".html", ".css", ".js", ".xml", ".json", ".txt", ".svg", ".webmanifest"}
_EXTRA_TYPES = {".json": "application/json", ".xml": "application/xml", ".svg": "image/svg+xml"}
BUILD_WAIT_SECONDS = 60.0
CHUNK = 256 * 1024  # files are sent in pieces this big: memory does not grow with a page
_TAIL = 64 * 1024  # where `</body>` is looked for, to place the live-reload script
_KEEPALIVE_SECONDS = 15.0


@dataclass
class Change:
    """What one build changed, as URLs the browser knows."""

    pages: list[str] = field(default_factory=list)
    stylesheets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class DevServer(HTTPServer):
    """Serves `root` under `base_path`; every HTML page gets the live-reload client."""

    allow_reuse_address = True
    request_queue_size = 1024  # a burst of page loads must queue, not be refused

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int = 8000,
        base_path: str = "/",
        *,
        limits: Limits | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.root = root
        self.base_path = base_path if base_path.endswith("/") else base_path + "/"
        self.limits = limits or Limits()
        self._idle = threading.Condition()
        self._building = False
        self._clients: set[queue.Queue[str | None]] = set()
        self._clients_lock = threading.Lock()
        self._streams = threading.BoundedSemaphore(self.limits.max_streams)
        self._refused: set[str] = set()
        self.errors: list[str] = []
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # Made before the socket is bound: a port in use makes the base class call
        # server_close(), which stops them.
        self._pool = Pool(self._answer, self.limits.workers + self.limits.max_streams)
        self._front = Front(self._pool.submit, self.limits)
        super().__init__((host, port), _Handler)
        self.hosts = HostCheck(str(self.server_address[0]), host, allowed_hosts)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}{self.base_path}"

    @property
    def open_connections(self) -> int:
        return self._front.open_connections

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

    @contextmanager
    def stream_slot(self) -> Iterator[queue.Queue[str | None] | None]:
        """A subscription to build events, or None when `max_streams` are open already."""
        if not self._streams.acquire(blocking=False):
            yield None
            return
        client: queue.Queue[str | None] = queue.Queue()
        with self._clients_lock:
            self._clients.add(client)
        try:
            yield client
        finally:
            with self._clients_lock:
                self._clients.discard(client)
            self._streams.release()

    def close_clients(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.put(None)

    def refusal(self, headers: Message, target: str = "/") -> tuple[HTTPStatus, str] | None:
        """Why a request must not be answered (a foreign Host or Origin), or None.

        A target in absolute form (`GET http://name/path`) names the host itself, and
        HTTP says that name overrides the Host header, so it is checked as well.
        """
        hosts = headers.get_all("Host") or []
        if len(hosts) != 1:
            return HTTPStatus.BAD_REQUEST, "a request needs exactly one Host header\n"
        if not target.startswith("/"):
            try:
                hosts.append(urlsplit(target).netloc)
            except ValueError:  # `http://[name/`: no host that could be allowed
                hosts.append("")
        refused = [host for host in hosts if not self.hosts.allows_host(host)]
        if refused:
            self._warn_refused(refused[0])
            return HTTPStatus.MISDIRECTED_REQUEST, (
                f"This preview answers only to {self.hosts.describe()}. A request naming "
                "another host is refused, because that is how a page on another site "
                "would reach it (DNS rebinding). To use another name, give it as --host.\n"
            )
        origin = headers.get("Origin")
        if origin is not None and not self.hosts.allows_origin(origin):
            return HTTPStatus.FORBIDDEN, "pages from other sites may not use this preview\n"
        return None

    def _warn_refused(self, host: str) -> None:
        if host in self._refused or len(self._refused) >= 20:
            return
        self._refused.add(host)
        log.warning(
            "refused a request for host %r: the preview answers only to %s",
            host[:100],
            self.hosts.describe(),
        )

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
        return self.inside(self.root.joinpath(*parts) if parts else self.root)

    def inside(self, candidate: Path) -> Path | None:
        """Where `candidate` really leads, if that is inside the output and not hidden.

        The request path alone is not enough: a symlink named `page` may lead to
        `.secret`, into a dot-folder, out of the output, or into a sibling folder whose
        name merely starts like the output's (`public-private/`).
        """
        try:
            root = self.root.resolve(strict=True)
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None  # missing, a broken link or a loop of links
        if not real.is_relative_to(root):  # compares whole path components
            return None
        if any(part.startswith(".") for part in real.relative_to(root).parts):
            return None
        return real

    # Connections (see server_front): a worker answers one request, then the
    # connection goes back to wait for the next one without holding the thread.

    def get_request(self) -> tuple[socket.socket, object]:
        if not self._front.make_room(timeout=0.25):
            raise OSError("connection cap reached")  # the client waits in the backlog
        return super().get_request()

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        self._front.accepted(request, client_address)

    def _answer(self, conn: Conn) -> None:
        try:
            conn.sock.settimeout(self.limits.send_timeout)
            handler = _Handler(conn, conn.address, self)
        except OSError:
            handler = None  # the client went away or stopped reading
        if handler is None or handler.close_connection:
            conn.close()
        else:
            self._front.add(conn)

    def server_close(self) -> None:
        super().server_close()
        self._front.stop()
        self._pool.stop()


class _SocketWriter(io.RawIOBase):
    """Writes all of every buffer at once, so responses need no flushing."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._sock.sendall(data)
        return len(data)


class _Handler(BaseHTTPRequestHandler):
    server: DevServer
    request: Conn  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Read from the request head the front has gathered, write to the socket."""
        self.connection = self.request.sock
        self.rfile = io.BytesIO(self.request.take_request() or b"")
        self.wfile = _SocketWriter(self.request.sock)

    def handle(self) -> None:
        """One request; the connection goes back to the front to wait for the next one."""
        self.close_connection = True
        self.handle_one_request()
        headers = getattr(self, "headers", None)
        if headers is not None and (
            headers.get("Content-Length", "0").strip() != "0" or "Transfer-Encoding" in headers
        ):
            self.close_connection = True  # an unread body would be taken for a request

    def finish(self) -> None:
        """The socket is not closed here: a kept-alive connection outlives one request."""

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        refusal = self.server.refusal(self.headers, self.path)
        if refusal is not None:
            self.close_connection = True
            return self._send(refusal[0], refusal[1].encode(), "text/plain; charset=utf-8", head)
        path = urlsplit(self.path).path
        if path == EVENTS and not head:
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
            target = self.server.inside(target / "index.html")
        if target is None or not target.is_file():
            return self._not_found(head)
        self._send_file(target, HTTPStatus.OK, head)

    def _send_file(self, target: Path, status: HTTPStatus, head: bool) -> None:
        """Stream the file in chunks; an HTML page gets the live-reload script on the way."""
        try:
            file = target.open("rb")
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head)
        with file:
            size = os.fstat(file.fileno()).st_size
            at, tag = (_script_offset(file, size), _CLIENT_TAG) if _is_html(target) else (size, b"")
            self.send_response(status)
            self.send_header("Content-Type", _content_type(target))
            self.send_header("Content-Length", str(size + len(tag)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if head:
                return
            if self._copy(file, at):
                self.wfile.write(tag)
                self._copy(file, size - at)

    def _copy(self, file: BinaryIO, count: int) -> bool:
        while count > 0:
            chunk = file.read(min(CHUNK, count))
            if not chunk:  # the file shrank after its size was sent: end the connection
                self.close_connection = True
                return False
            self.wfile.write(chunk)
            count -= len(chunk)
        return True

    def _not_found(self, head: bool) -> None:
        page = self.server.inside(self.server.root / "404.html")
        if page is not None and page.is_file():
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
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _events(self) -> None:
        """Server-sent events: `reload` after each build, `status` for the error overlay."""
        self.close_connection = True
        with self.server.stream_slot() as client:
            if client is None:
                message = b"too many open live-reload streams; close some preview tabs\n"
                return self._send(HTTPStatus.SERVICE_UNAVAILABLE, message, "text/plain", False)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            status = json.dumps({"errors": self.server.errors})
            self.wfile.write(f"retry: 500\nevent: status\ndata: {status}\n\n".encode())
            self._stream(client)

    def _stream(self, client: queue.Queue[str | None]) -> None:
        """Forward events until the page goes away; no idle timeout applies here."""
        last = time.monotonic()
        while True:
            try:
                message = client.get(timeout=1.0)
            except queue.Empty:
                if _peer_closed(self.connection):
                    return  # frees the stream's slot within a second of the page closing
                if time.monotonic() - last < _KEEPALIVE_SECONDS:
                    continue
                message = ": keep-alive\n\n"
            if message is None:
                return
            self.wfile.write(message.encode())
            last = time.monotonic()


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the client hung up (or sent something, which a page's stream never does)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _is_html(path: Path) -> bool:
    return path.suffix == ".html"


def _script_offset(file: BinaryIO, size: int) -> int:
    """Where the live-reload script goes: before the last `</body>` near the end, or at it."""
    tail = min(size, _TAIL)
    file.seek(size - tail)
    index = file.read(tail).rfind(b"</body>")
    file.seek(0)
    return size - tail + index if index >= 0 else size


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    ctype = (
        _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    return f"{ctype}; charset=utf-8" if suffix in _TEXT_TYPES else ctype


_script_cache: bytes | None = None


def _client_script() -> bytes:
    global _script_cache
    if _script_cache is None:
        _script_cache = (resources.files("masthead.preview") / "live.js").read_bytes()
    return _script_cache


def warn_if_public(host: str) -> None:
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
        log.warning(
            "serving on %s: anyone who can reach this machine can read the preview; "
            "use --host 127.0.0.1 to keep it local",
            host,
        )
