"""A local HTTP server for fetch and import tests: routes map paths to responses.

It listens on 127.0.0.1 with a free port, runs in a thread, records every request it
gets (path and headers) and is stopped by the test that started it.
"""

from __future__ import annotations

import http.server
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Handler = http.server.BaseHTTPRequestHandler
Route = Callable[[Handler], None]


@dataclass
class FeedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    connections: int = 0
    """TCP connections accepted so far."""
    finished: int = 0
    """Connections the client has closed (or the server, after its answer)."""

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def add(
        self, path: str, body: bytes, content_type: str = "application/rss+xml", **headers: str
    ) -> None:
        self.routes[path] = respond(body, content_type, **headers)


def respond(
    body: bytes, content_type: str = "application/rss+xml", status: int = 200, **headers: str
) -> Route:
    """A route answering `body` with Content-Length; ETag/Last-Modified make it conditional."""

    def route(h: Handler) -> None:
        etag = headers.get("ETag")
        if etag and h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(h: Handler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


def stream(chunks: Callable[[], Iterator[bytes]], delay: float = 0.0) -> Route:
    """A body of unknown length (no Content-Length, connection closed at the end), sent
    chunk by chunk, `delay` seconds apart: a huge feed, or a slow drip."""

    def route(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        try:
            for chunk in chunks():
                h.wfile.write(chunk)
                h.wfile.flush()
                if delay:
                    time.sleep(delay)
        except OSError:
            pass  # the client gave up, as it should

    return route


@contextmanager
def serving(
    server_state: FeedServer | None = None,
    tls: ssl.SSLContext | None = None,
    protocol: str = "HTTP/1.0",
) -> Iterator[FeedServer]:
    """Serve on 127.0.0.1 (over TLS with `tls`) until the block ends; "HTTP/1.1" keeps
    connections alive when the route sends a Content-Length."""
    state = server_state or FeedServer()

    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = protocol

        def setup(self) -> None:
            state.connections += 1
            super().setup()

        def finish(self) -> None:
            super().finish()
            state.finished += 1

        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers.items())))
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            route(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
