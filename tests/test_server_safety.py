"""The preview under attack (issue 14): DNS rebinding, symlinks, slow clients, huge pages.

A real DevServer on 127.0.0.1, port 0, over a folder written here; requests are written
byte by byte on raw sockets so that every header is exactly what an attacker sends.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from masthead.preview.front import Limits
from masthead.preview.hosts import HostCheck
from masthead.preview.server import CLIENT, Change, DevServer

BASE = "/digest/"
ENDPOINTS = {
    "page": BASE,
    "asset": BASE + "style.css",
    "JSON API": BASE + "api/news/index.json",
    "event stream": "/__masthead/events",
    "live-reload script": CLIENT,
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "news" / "story").mkdir(parents=True)
    (root / "api" / "news").mkdir(parents=True)
    (root / "index.html").write_text("<html><body><h1>Home</h1></body></html>")
    (root / "news" / "story" / "index.html").write_text("<html><body><h1>Story</h1></body></html>")
    (root / "api" / "news" / "index.json").write_text('{"items": ["Harbour"]}')
    (root / "style.css").write_text("body{}")
    return root


def start(root: Path, limits: Limits | None = None) -> DevServer:
    server = DevServer(root, port=0, base_path=BASE, limits=limits)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def server(site: Path) -> Iterator[DevServer]:
    srv = start(site)
    yield srv
    srv.close_clients()
    srv.shutdown()
    srv.server_close()


def connect(server: DevServer, timeout: float = 10) -> socket.socket:
    return socket.create_connection(server.server_address[:2], timeout=timeout)


def exchange(server: DevServer, head: str) -> tuple[int, bytes]:
    """Send a raw request head; the status and everything up to the connection's end."""
    with connect(server) as sock:
        sock.sendall(head.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if b"text/event-stream" in data:
                break  # a live stream never ends by itself
    return int(data.split(b" ", 2)[1]), data


def request(path: str, host: str | None) -> str:
    lines = [f"GET {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    return "\r\n".join([*lines, "Connection: close", "", ""])


FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:{port}",
    "EVIL.EXAMPLE:{port}",
    "evil.example.:{port}",
    "localhost.evil.example:{port}",
    "127.0.0.1.nip.io:{port}",
    "localhost:{port}@evil.example",
    "localhost..:{port}",
    "2130706433:{port}",
    "0x7f000001:{port}",
    "127.1:{port}",
    "0177.0.0.1:{port}",
    "127.0.0.2:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "localhost:99999",
    "",
]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_rebinding_hosts_are_refused_on_every_endpoint(server: DevServer, host: str) -> None:
    port = server.server_address[1]
    for kind, path in ENDPOINTS.items():
        status, data = exchange(server, request(path, host.format(port=port)))
        assert status in (400, 421), (kind, data)
        assert b"Harbour" not in data and b"<h1>" not in data and b"event:" not in data, kind


@pytest.mark.parametrize(
    "authority", ["evil.example", "evil.example:{port}", "[::ffff:127.0.0.1]:{port}", "[::1", ""]
)
def test_an_absolute_target_naming_another_host_is_refused(
    server: DevServer, authority: str
) -> None:
    """RFC 9112 3.2.2: in `GET http://name/path` the name, not the Host header, is the host."""
    port = server.server_address[1]
    for path in ENDPOINTS.values():
        target = f"http://{authority.format(port=port)}{path}"
        status, data = exchange(server, request(target, f"127.0.0.1:{port}"))
        assert status in (400, 421), (target, data)
        assert b"Harbour" not in data and b"<h1>" not in data and b"event:" not in data
    assert exchange(server, request(f"http://localhost:{port}{BASE}", "localhost"))[0] == 200


def test_a_request_without_one_host_is_refused(server: DevServer) -> None:
    for path in ENDPOINTS.values():
        assert exchange(server, request(path, None))[0] == 400
        assert exchange(server, f"GET {path} HTTP/1.0\r\n\r\n")[0] == 400
        two = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n"
        assert exchange(server, two)[0] == 400


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "LocalHost:{port}", "localhost.:{port}", "127.0.0.1:{port}"]
)
def test_the_served_names_are_answered(server: DevServer, host: str) -> None:
    host = host.format(port=server.server_address[1])
    assert exchange(server, request(BASE, host))[0] == 200
    assert b"Harbour" in exchange(server, request(ENDPOINTS["JSON API"], host))[1]
    status, data = exchange(server, request(ENDPOINTS["event stream"], host))
    assert status == 200 and b"text/event-stream" in data


@pytest.mark.parametrize(
    "origin", ["http://evil.example:{port}", "null", "http://127.0.0.2:{port}"]
)
def test_pages_of_other_origins_are_refused(server: DevServer, origin: str) -> None:
    port = server.server_address[1]
    for path in ENDPOINTS.values():
        head = request(path, f"127.0.0.1:{port}").replace(
            "Connection:", f"Origin: {origin.format(port=port)}\r\nConnection:"
        )
        status, data = exchange(server, head)
        assert status == 403 and b"event:" not in data and b"Harbour" not in data


def test_the_preview_own_origin_may_open_the_stream(server: DevServer) -> None:
    port = server.server_address[1]
    head = request(ENDPOINTS["event stream"], f"127.0.0.1:{port}")
    head = head.replace("Connection:", f"Origin: http://127.0.0.1:{port}\r\nConnection:")
    assert exchange(server, head)[0] == 200


def test_names_answered_by_binding() -> None:
    """The wildcard and IPv6 cases, which a test must not bind for real."""
    loopback = HostCheck("127.0.0.1", "127.0.0.1")
    assert loopback.allows_host("localhost:8000") and loopback.allows_host("127.0.0.1")
    assert not loopback.allows_host("192.168.1.20:8000")
    everywhere = HostCheck("0.0.0.0", "0.0.0.0")
    assert everywhere.allows_host("192.168.1.20:8000") and everywhere.allows_host("[fe80::1]")
    assert not everywhere.allows_host("box.lan:8000")
    named = HostCheck("192.168.1.20", "box.lan")
    assert named.allows_host("BOX.LAN:8000") and named.allows_host("192.168.1.20:8000")
    assert not named.allows_host("evil.example:8000")
    six = HostCheck("::1", "::1")
    assert six.allows_host("[::1]:8000") and six.allows_host("[0:0:0:0:0:0:0:1]:8000")
    assert not six.allows_host("::1") and not six.allows_host("[::2]:8000")


# Symlinks inside the output: what counts is where a link leads, not the request path.


@pytest.fixture
def linked(site: Path) -> Path:
    outside = site.parent
    (outside / "secret.txt").write_text("private: outside")
    (outside / "public-private").mkdir()
    (outside / "public-private" / "secret.txt").write_text("private: sibling")
    (site / ".hidden").write_text("private: dotfile")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("private: dot-folder")
    (site / "trap").mkdir()
    links = {
        "page.html": site / "news" / "story" / "index.html",
        "stories": site / "news",
        "chain-ok": site / "page.html",
        "dotfile": site / ".hidden",
        "gitdir": site / ".git",
        "gitconfig": site / ".git" / "config",
        "sibling": outside / "public-private" / "secret.txt",
        "siblingdir": Path("../public-private"),
        "outside": Path("../secret.txt"),
        "passwd": Path("/etc/passwd"),
        "chain1": site / "chain2",
        "chain2": site / "dotfile",
        "broken": site / "nowhere",
        "loop1": site / "loop2",
        "loop2": site / "loop1",
        "trap/index.html": outside / "secret.txt",
    }
    for name, target in links.items():
        (site / name).symlink_to(target)
    return site


@pytest.mark.parametrize(
    "path",
    [
        "dotfile",
        "gitdir/config",
        "gitconfig",
        "sibling",
        "siblingdir/secret.txt",
        "outside",
        "passwd",
        "chain1",
        "broken",
        "loop1",
        "trap/",
    ],
)
def test_links_to_hidden_or_outside_files_are_not_served(
    linked: Path, server: DevServer, path: str
) -> None:
    status, data = exchange(server, request(BASE + path, "127.0.0.1"))
    assert status == 404
    assert b"private" not in data and b"root:" not in data


@pytest.mark.parametrize("path", ["page.html", "stories/story/", "chain-ok"])
def test_links_within_the_output_are_served(linked: Path, server: DevServer, path: str) -> None:
    status, data = exchange(server, request(BASE + path, "127.0.0.1"))
    assert status == 200 and b"<h1>Story</h1>" in data


def test_a_linked_404_page_is_not_served(site: Path, server: DevServer) -> None:
    (site.parent / "secret.txt").write_text("private: outside")
    (site / "404.html").symlink_to(site.parent / "secret.txt")
    status, data = exchange(server, request(BASE + "missing/", "127.0.0.1"))
    assert status == 404 and b"private" not in data


# Huge pages are streamed: memory does not grow with the file.

HUGE = 64 * 1024 * 1024
END = b"end</body></html>\n"


@pytest.mark.parametrize("name", ["huge.html", "huge.bin"])
def test_a_huge_file_is_streamed_with_its_length(site: Path, server: DevServer, name: str) -> None:
    with (site / name).open("wb") as file:  # sparse: costs no disk
        file.write(b"<html><body><p>start")
        file.truncate(HUGE)
        file.seek(HUGE - len(END))
        file.write(END)
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=30)
    tracemalloc.start()
    try:
        conn.request("GET", BASE + name)
        response = conn.getresponse()
        length, received, tail = int(response.headers["Content-Length"]), 0, b""
        while chunk := response.read(65536):
            received, tail = received + len(chunk), (tail + chunk)[-200:]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert received == length
    if name.endswith(".html"):
        assert length > HUGE and tail.endswith(
            f'<script src="{CLIENT}"></script></body></html>\n'.encode()
        )
    else:
        assert length == HUGE and tail.endswith(END)
    assert peak < 8 * 1024 * 1024, f"serving a {HUGE >> 20} MiB file took {peak >> 20} MiB"
    conn.request("HEAD", BASE + name)  # the same connection, kept alive
    response = conn.getresponse()
    assert int(response.headers["Content-Length"]) == length and response.read() == b""
    conn.close()


# Slow clients: threads stay bounded, slow connections are dropped, streams live on.


def test_slow_clients_get_no_thread_and_are_dropped(site: Path) -> None:
    before = threading.active_count()
    limits = Limits(head_timeout=1.0, workers=4, max_streams=2)
    server = start(site, limits)
    slow = [connect(server) for _ in range(200)]
    try:
        started = time.monotonic()
        for sock in slow:
            sock.sendall(b"GET /digest/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ")
        while time.monotonic() - started < 2.0:  # headers dribbled byte by byte
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(b"a")
            bound = before + limits.workers + limits.max_streams + 2
            assert threading.active_count() <= bound
            answered = exchange(server, request(BASE, "127.0.0.1"))
            assert answered[0] == 200
            time.sleep(0.3)
        for sock in slow:
            sock.settimeout(5)
            try:
                reply = sock.recv(100)
            except ConnectionResetError:
                reply = b""
            assert reply == b"" or reply.startswith(b"HTTP/1.1 408 "), reply
        wait_until(lambda: server.open_connections == 0)
    finally:
        for sock in slow:
            sock.close()
        server.shutdown()
        server.server_close()


def test_connections_are_capped_and_idle_ones_make_room(site: Path) -> None:
    server = start(site, Limits(max_connections=20, evict_after=0.3))
    idle = [connect(server) for _ in range(60)]
    try:
        started = time.monotonic()
        assert exchange(server, request(BASE, "127.0.0.1"))[0] == 200
        assert time.monotonic() - started < 10
        assert server.open_connections <= 20
    finally:
        for sock in idle:
            sock.close()
        server.shutdown()
        server.server_close()


def wait_until(condition: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data and (chunk := sock.recv(4096)):
        data += chunk
    return data


def open_stream(server: DevServer) -> tuple[socket.socket, bytes]:
    sock = connect(server, timeout=5)
    sock.sendall(request(ENDPOINTS["event stream"], "127.0.0.1").encode())
    return sock, read_until(sock, b"\r\n\r\n")


def test_streams_outlive_the_idle_timeout_and_are_capped(site: Path) -> None:
    server = start(site, Limits(head_timeout=0.5, max_streams=2))
    try:
        (one, first), (two, _) = open_stream(server), open_stream(server)
        assert b" 200 " in first.split(b"\r\n", 1)[0]
        third, refused = open_stream(server)
        assert b" 503 " in refused.split(b"\r\n", 1)[0]
        third.close()
        time.sleep(1.5)  # three idle timeouts
        server.publish(Change(pages=["/digest/"]))
        assert b"event: reload" in read_until(one, b"event: reload")
        two.close()  # its slot is free again within a second or two
        deadline = time.monotonic() + 5
        while b" 200 " not in (reply := open_stream(server))[1].split(b"\r\n", 1)[0]:
            reply[0].close()
            assert time.monotonic() < deadline, "a closed stream kept its slot"
            time.sleep(0.2)
        reply[0].close()
        one.close()
    finally:
        server.close_clients()
        server.shutdown()
        server.server_close()


def test_kept_alive_and_pipelined_requests_are_answered(server: DevServer) -> None:
    head = request(BASE, "127.0.0.1").replace("Connection: close", "Connection: keep-alive")
    with connect(server) as sock:
        sock.sendall((head + request(BASE + "style.css", "127.0.0.1")).encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2 and b"body{}" in data


def test_a_response_still_leaving_at_shutdown_ends_its_connection(site: Path) -> None:
    """Closing the server while a kept-alive response is still being sent must not leave
    that connection open forever once the response is done."""
    (site / "big.bin").write_bytes(b"\0" * (16 << 20))
    server = start(site)
    head = request(BASE + "big.bin", "127.0.0.1").replace(
        "Connection: close", "Connection: keep-alive"
    )
    with connect(server, timeout=5) as sock:
        sock.sendall(head.encode())
        read_until(sock, b"\r\n\r\n")
        server.shutdown()
        server.server_close()  # the worker is still sending the file
        received = 0
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
    assert received > (15 << 20)  # the response was finished, then the connection ended
