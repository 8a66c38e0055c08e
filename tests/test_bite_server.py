"""The preview server's file serving at its edges: the cases mutation testing found unchecked.

A real DevServer on 127.0.0.1, port 0, over a folder written here; requests go over a
plain socket where the bytes on the wire matter (a HEAD answer must carry no body, a
kept-alive connection must be able to tell where each answer ends).
"""

from __future__ import annotations

import http.client
import io
import mimetypes
import os
import socket
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest

from masthead.preview import server as server_module
from masthead.preview.server import CLIENT, DevServer
from tests.test_server_safety import exchange, start

TAG = f'<script src="{CLIENT}"></script>'.encode()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "news").mkdir(parents=True)
    (root / "news" / "index.html").write_text("<html><body><h1>News</h1></body></html>")
    return root


@pytest.fixture
def server(root: Path) -> Iterator[DevServer]:
    srv = start(root)
    yield srv
    srv.shutdown()
    srv.server_close()


def _raw(server: DevServer, method: str, path: str) -> tuple[int, bytes, bytes]:
    """Status, header block and body bytes of one request on a connection closed after it."""
    request = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    status, data = exchange(server, request)
    head, _, body = data.partition(b"\r\n\r\n")
    return status, head, body


def _base(server: DevServer) -> str:
    return server.base_path


def test_a_path_outside_the_base_path_resolves_to_nothing(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>x</p>")
    server = DevServer(tmp_path, port=0, base_path="/digest/")
    try:
        assert server.resolve("/digest/page.html") == (tmp_path / "page.html").resolve()
        assert server.resolve("/page.html") is None
    finally:
        server.server_close()


def test_without_a_404_page_a_missing_file_gets_a_plain_not_found(
    server: DevServer, root: Path
) -> None:
    (root / "404.html").mkdir()  # a folder by that name is no page
    status, head, body = _raw(server, "GET", _base(server) + "missing.html")
    assert (status, body) == (404, b"not found\n")
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert _raw(server, "HEAD", _base(server) + "missing.html")[::2] == (404, b"")


def test_the_site_404_page_answers_head_without_a_body(server: DevServer, root: Path) -> None:
    page = b"<html><body><h1>Lost</h1></body></html>"
    (root / "404.html").write_bytes(page)
    status, head, body = _raw(server, "GET", _base(server) + "missing.html")
    assert status == 404 and body == page.replace(b"</body>", TAG + b"</body>")
    status, head, body = _raw(server, "HEAD", _base(server) + "missing.html")
    assert (status, body) == (404, b"")
    assert f"Content-Length: {len(page) + len(TAG)}".encode() in head


def test_a_redirect_and_the_next_request_share_one_kept_alive_connection(
    server: DevServer,
) -> None:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", _base(server) + "news")
        first = conn.getresponse()
        assert (first.status, first.getheader("Location")) == (301, _base(server) + "news/")
        assert first.read() == b""  # ends by its length: the connection stays usable
        conn.request("GET", _base(server) + "news/")
        second = conn.getresponse()
        assert second.status == 200 and b"<h1>News</h1>" in second.read()
    finally:
        conn.close()


def test_the_reload_script_goes_before_the_last_body_end_of_a_big_page(
    server: DevServer, root: Path
) -> None:
    filler = b"<p>" + b"x" * 100_000 + b"</p>"
    page = b"<html><body>" + filler + b"<pre></body></pre></body></html>\n"
    (root / "big.html").write_bytes(page)
    status, _, body = _raw(server, "GET", _base(server) + "big.html")
    assert status == 200
    assert body == page[: -len(b"</body></html>\n")] + TAG + b"</body></html>\n"


def test_a_body_end_far_from_the_end_of_the_page_is_not_looked_for(
    server: DevServer, root: Path
) -> None:
    page = b"<html><body></body>" + b"x" * 70_000
    (root / "tail.html").write_bytes(page)
    assert _raw(server, "GET", _base(server) + "tail.html")[2] == page + TAG


def test_the_body_end_at_the_very_start_of_a_page_takes_the_script_there(
    server: DevServer, root: Path
) -> None:
    (root / "odd.html").write_bytes(b"</body>after")
    assert _raw(server, "GET", _base(server) + "odd.html")[2] == TAG + b"</body>after"
    (root / "plain.html").write_bytes(b"<p>no end tag</p>")
    assert _raw(server, "GET", _base(server) + "plain.html")[2] == b"<p>no end tag</p>" + TAG


def test_a_file_gone_between_lookup_and_open_is_a_plain_not_found(
    server: DevServer, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of a rebuild removing a page while a request for it is answered."""
    (root / "vanishing.html").write_text("<p>soon gone</p>")
    opened = Path.open

    def open_or_vanish(path: Path, *args: object, **kwargs: object) -> object:
        if path.name == "vanishing.html":
            raise FileNotFoundError(path)
        return opened(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", open_or_vanish)
    status, head, body = _raw(server, "GET", _base(server) + "vanishing.html")
    assert (status, body) == (404, b"not found\n")
    assert b"Content-Type: text/plain\r\n" in head + b"\r\n"
    assert _raw(server, "HEAD", _base(server) + "vanishing.html")[::2] == (404, b"")


def test_a_percent_escape_that_is_not_utf8_finds_no_file(server: DevServer, root: Path) -> None:
    """`%FF` decodes to no character: it is not read as U+FFFD, the replacement character,
    which would reach a file of that name."""
    (root / "\ufffd.html").write_text("<p>replacement</p>")
    status, _, body = _raw(server, "GET", _base(server) + "%FF.html")
    assert (status, body) == (404, b"not found\n")


def _headers(server: DevServer, path: str) -> http.client.HTTPMessage:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.headers
    finally:
        conn.close()


def test_every_file_is_sent_uncached(server: DevServer, root: Path) -> None:
    """A preview must show the last build: no browser cache keeps an older page or file."""
    (root / "style.css").write_text("body{}")
    (root / "404.html").write_text("<p>lost</p>")
    for path in ("news/", "style.css", "missing.html"):
        assert _headers(server, _base(server) + path)["Cache-Control"] == "no-store", path


def test_types_of_text_and_binary_files(server: DevServer, root: Path) -> None:
    (root / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "blob.unknown-kind").write_bytes(b"\x00\x01")
    (root / "notes.txt").write_text("notes")
    types = {
        "photo.png": "image/png",
        "blob.unknown-kind": "application/octet-stream",
        "notes.txt": "text/plain; charset=utf-8",
    }
    for name, expected in types.items():
        assert _headers(server, _base(server) + name)["Content-Type"] == expected, name


def test_feed_json_and_svg_types_do_not_depend_on_the_machine(
    server: DevServer, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mimetypes reads the machine's mime.types, where .xml may be text/xml: a feed reader
    or an API client must get the same type from every preview."""
    machine = {".xml": "text/xml", ".json": "text/x-json", ".svg": "text/plain"}
    guess = mimetypes.guess_type

    def machine_guess(url: str, strict: bool = True) -> tuple[str | None, str | None]:
        return machine.get(Path(url).suffix) or guess(url, strict)[0], None

    monkeypatch.setattr(mimetypes, "guess_type", machine_guess)
    types = {
        "feed.xml": "application/xml; charset=utf-8",
        "api.json": "application/json; charset=utf-8",
        "logo.svg": "image/svg+xml; charset=utf-8",
    }
    for name, expected in types.items():
        (root / name).write_text("<x/>")
        assert _headers(server, _base(server) + name)["Content-Type"] == expected, name


def test_one_byte_before_the_body_end_is_sent_before_the_script(
    server: DevServer, root: Path
) -> None:
    (root / "short.html").write_bytes(b"x</body>")
    assert _raw(server, "GET", _base(server) + "short.html")[2] == b"x" + TAG + b"</body>"


class _ChangingFile(io.FileIO):
    """A file that another process rewrites while the server reads it: `change` runs just
    before the read with that number (1: looking for `</body>`, 2: the first piece sent)."""

    def __init__(self, path: Path, change: dict[int, Callable[[Path], object]]) -> None:
        super().__init__(path, "rb")
        self._path, self._change, self._reads = path, change, 0

    def read(self, size: int | None = -1) -> bytes:
        self._reads += 1
        if self._reads in self._change:
            self._change[self._reads](self._path)
        return super().read(size)


def _changing(
    monkeypatch: pytest.MonkeyPatch, name: str, change: dict[int, Callable[[Path], object]]
) -> None:
    opened = Path.open

    def open_changing(path: Path, *args: object, **kwargs: object) -> object:
        if path.name == name:
            return _ChangingFile(path, change)
        return opened(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", open_changing)


def _kept_alive(server: DevServer, request_line: str, host: str) -> tuple[bytes, bytes]:
    """Header block and body of one request that asks to keep its connection, read until
    the server ends it: one it keeps open fails the test after 3 seconds."""
    address = server.server_address[:2]
    with socket.create_connection(address, timeout=3) as sock:
        sock.sendall(f"{request_line} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_a_page_that_shrinks_while_sent_ends_the_connection_without_the_script(
    server: DevServer, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its length was sent already: the connection is closed after what is left, so the
    browser sees a cut page, not the start of the next answer (and no script after it)."""
    page = b"<html><body>" + b"x" * 2000 + b"</body></html>"
    (root / "cut.html").write_bytes(page)
    _changing(monkeypatch, "cut.html", {2: lambda path: os.truncate(path, 100)})
    head, body = _kept_alive(server, f"GET {_base(server)}cut.html", "localhost")
    assert f"Content-Length: {len(page) + len(TAG)}".encode() in head
    assert body == page[:100]


def test_a_page_that_grows_while_sent_gets_the_script_where_its_size_ended(
    server: DevServer, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = b"<html><body><p>first</p></body></html>"
    (root / "grows.html").write_bytes(page)

    def append(path: Path) -> None:
        with open(path, "ab") as file:  # not Path.open, which the test replaces
            file.write(b"<p>later</p></body>")

    _changing(monkeypatch, "grows.html", {1: append})
    status, _, body = _raw(server, "GET", _base(server) + "grows.html")
    assert status == 200
    assert body == page.replace(b"</body>", TAG + b"</body>")


def test_a_refused_request_ends_its_connection_even_when_asked_to_keep_it(
    server: DevServer,
) -> None:
    """A client that sent a foreign Host is not trusted with a kept-alive connection."""
    head, _ = _kept_alive(server, "GET /digest/news/", "evil.example")
    assert head.startswith(b"HTTP/1.1 421 ") and b"\r\nConnection: close" in head


@pytest.mark.parametrize(
    ("name", "path"),
    [
        (None, "a%00b.html"),  # no file can have a NUL in its name: a 404, not a crash
        ("back\\slash.html", "back%5Cslash.html"),  # a separator on Windows
        (".alias", ".alias"),  # a dot-named link to a page that is not hidden itself
    ],
)
def test_a_nul_a_backslash_or_a_dot_name_in_the_request_is_refused(
    server: DevServer, root: Path, name: str | None, path: str
) -> None:
    if name is not None:
        (root / name).symlink_to(root / "news" / "index.html")
    status, _, body = _raw(server, "GET", _base(server) + path)
    assert (status, body) == (404, b"not found\n")


@pytest.mark.parametrize("path", ["two%20words.html", "/two%20words.html"])
def test_a_space_and_an_empty_segment_find_the_file_a_static_host_finds(
    server: DevServer, root: Path, path: str
) -> None:
    (root / "two words.html").write_text("<p>spaced</p>")
    assert _raw(server, "GET", _base(server) + path)[::2] == (200, b"<p>spaced</p>" + TAG)


def test_refusals_are_plain_text_and_a_refused_head_has_no_body(server: DevServer) -> None:
    for method in ("GET", "HEAD"):
        request = f"{method} /digest/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        status, data = exchange(server, request)
        head, _, body = data.partition(b"\r\n\r\n")
        assert status == 421 and b"\r\nContent-Type: text/plain; charset=utf-8\r\n" in head
        assert (body != b"") is (method == "GET"), method


def test_the_live_reload_script_is_served_to_get_and_head(server: DevServer) -> None:
    script = (resources.files("masthead.preview") / "live.js").read_bytes()
    status, head, body = _raw(server, "GET", CLIENT)
    assert (status, body) == (200, script)
    assert b"\r\nContent-Type: text/javascript; charset=utf-8" in head + b"\r\n"
    status, head, body = _raw(server, "HEAD", CLIENT)
    assert (status, body) == (200, b"")
    assert f"\r\nContent-Length: {len(script)}\r\n".encode() in head + b"\r\n"


def test_a_build_that_outlasts_the_wait_gets_a_plain_service_unavailable(
    server: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "BUILD_WAIT_SECONDS", 0.05)
    with server.building():
        status, head, body = _raw(server, "GET", _base(server) + "news/")
        assert (status, body) == (503, b"build still running\n")
        assert b"\r\nContent-Type: text/plain\r\n" in head + b"\r\n"
        assert _raw(server, "HEAD", _base(server) + "news/")[::2] == (503, b"")
