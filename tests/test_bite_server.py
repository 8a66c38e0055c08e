"""The preview server's file serving at its edges: the cases mutation testing found unchecked.

A real DevServer on 127.0.0.1, port 0, over a folder written here; requests go over a
plain socket where the bytes on the wire matter (a HEAD answer must carry no body, a
kept-alive connection must be able to tell where each answer ends).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

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
