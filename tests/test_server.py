"""The preview server on its own: a real server on port 0 over a folder written here."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from masthead.commands.cli import _parser
from masthead.preview.server import CLIENT, DevServer, warn_if_public


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "news" / "story").mkdir(parents=True)
    (root / "index.html").write_text("<html><body><h1>Home</h1></body></html>")
    (root / "news" / "story" / "index.html").write_text("<html><body><h1>Story</h1></body></html>")
    (root / "404.html").write_text("<html><body><h1>Not here</h1></body></html>")
    (root / "feed.xml").write_text("<feed/>")
    (root / "api.json").write_text("{}")
    (root / "style.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("private")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
def server(site: Path) -> Iterator[DevServer]:
    srv = DevServer(site, port=0, base_path="/digest/")
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def get(server: DevServer, path: str) -> tuple[int, str, bytes]:
    host, port = server.server_address[:2]
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_serves_under_the_base_path_like_a_host(server: DevServer) -> None:
    status, ctype, body = get(server, "/digest/")
    assert (status, ctype) == (200, "text/html; charset=utf-8")
    assert b"<h1>Home</h1>" in body and CLIENT.encode() in body  # live reload injected
    assert get(server, "/digest/news/story/")[2].count(b"Story") == 1
    assert get(server, "/digest/feed.xml")[1] == "application/xml; charset=utf-8"
    assert get(server, "/digest/api.json")[1] == "application/json; charset=utf-8"
    assert get(server, "/digest/style.css")[1] == "text/css; charset=utf-8"


def test_missing_pages_get_the_sites_404(server: DevServer) -> None:
    status, _, body = get(server, "/digest/no/such/page/")
    assert status == 404 and b"Not here" in body
    assert get(server, "/")[0] == 404  # outside the base path


def test_folder_without_slash_redirects(server: DevServer) -> None:
    host, port = server.server_address[:2]
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/digest/news/story")
    response = conn.getresponse()
    assert response.status == 301 and response.headers["Location"] == "/digest/news/story/"


@pytest.mark.parametrize(
    "path",
    [
        "/digest/../secret.txt",
        "/digest/%2e%2e/secret.txt",
        "/digest/%252e%252e/secret.txt",
        "/digest/..%2fsecret.txt",
        "/digest/escape",
        "/digest/%2fetc%2fpasswd",
        "/digest/.masthead-manifest.json",
    ],
)
def test_nothing_outside_the_output_folder(server: DevServer, path: str) -> None:
    status, _, body = get(server, path)
    assert status == 404
    assert b"private" not in body


def test_requests_wait_for_a_running_build(server: DevServer) -> None:
    results: list[float] = []
    with server.building():
        worker = threading.Thread(
            target=lambda: (get(server, "/digest/"), results.append(time.monotonic()))
        )
        worker.start()
        time.sleep(0.3)
        released = time.monotonic()
        assert results == []  # held back while the output changes
    worker.join(timeout=10)
    assert results and results[0] >= released


def test_binds_loopback_unless_told_and_warns_otherwise(caplog: pytest.LogCaptureFixture) -> None:
    assert _parser()[0].parse_args(["serve"]).host == "127.0.0.1"
    with caplog.at_level(logging.WARNING):
        warn_if_public("127.0.0.1")
        assert caplog.text == ""
        warn_if_public("0.0.0.0")
    assert "0.0.0.0" in caplog.text and "127.0.0.1" in caplog.text
