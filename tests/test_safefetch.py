"""The fetcher of untrusted URLs, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from masthead.records.safefetch import Fetcher, FetchError, FetchLimits, refusal
from tests.feedserver import FeedServer, Handler, redirect, respond, serving, stream

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving() as state:
        yield state


def allowed(server: FeedServer, **limits: float) -> Fetcher:
    """A fetcher that may reach this test server, and no other private address."""
    return Fetcher(FetchLimits(**limits), exempt=frozenset({("127.0.0.1", server.port)}))  # type: ignore[arg-type]


def test_fetches_from_the_exempt_test_server(server: FeedServer) -> None:
    server.add("/feed", BODY, ETag='"v1"')
    fetched = allowed(server).get(server.url("/feed"))
    assert (fetched.status, fetched.body) == (200, BODY)
    assert fetched.headers["etag"] == '"v1"'
    assert server.requests[0][1]["Host"] == f"127.0.0.1:{server.port}"


def test_loopback_is_refused_unless_allowed(server: FeedServer) -> None:
    server.add("/feed", BODY)
    with pytest.raises(FetchError, match="loopback address"):
        Fetcher().get(server.url("/feed"))
    assert server.requests == []  # refused before connecting
    allowing = Fetcher(FetchLimits(allow_private_hosts=True))
    assert allowing.get(server.url("/feed")).body == BODY


@pytest.mark.parametrize("target", ["other-server", "http://169.254.169.254/latest/meta-data/"])
def test_a_redirect_to_a_private_address_is_refused(server: FeedServer, target: str) -> None:
    """The first hop is allowed (the exempt test server); where it redirects is checked
    again: another service on loopback, or the cloud metadata address."""
    with serving() as internal:
        internal.add("/secret", b"internal data")
        location = internal.url("/secret") if target == "other-server" else target
        server.routes["/feed"] = redirect(location)
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"refused .*(loopback|link-local) address"):
            allowed(server).get(server.url("/feed"))
        assert time.monotonic() - started < 2  # refused, not a connection timing out
        assert internal.requests == []
    assert server.paths() == ["/feed"]


def test_every_resolved_address_is_checked() -> None:
    fetcher = Fetcher(resolve=lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(FetchError, match=r"10\.0\.0\.7, a private address"):
        fetcher.get("http://feeds.example/rss")


def test_the_connection_goes_to_the_checked_address_under_the_host_name(
    server: FeedServer,
) -> None:
    """The name is resolved once, by the fetcher; http.client never looks it up (it could
    not: `feeds.test` exists only in this resolver), and the Host header still names it."""
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    server.add("/feed", BODY)
    fetcher = Fetcher(FetchLimits(allow_private_hosts=True), resolve=resolve)
    assert fetcher.get(f"http://feeds.test:{server.port}/feed").body == BODY
    assert lookups == ["feeds.test"]
    assert server.requests[0][1]["Host"] == f"feeds.test:{server.port}"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
        "224.0.0.1", "240.0.0.1", "100.64.0.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:8.8.8.8", "2002:7f00:1::1", "64:ff9b::a00:1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.org/feed", "gopher://example.org/", "javascript:alert(1)",
     "http://user:secret@example.org/feed", "http:///nohost", "http://example.org:99999/"],
)  # fmt: skip
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError):
        Fetcher(resolve=lambda host, port: ["93.184.216.34"]).get(url)


def test_a_declared_length_over_the_limit_is_refused_unread(server: FeedServer) -> None:
    server.add("/big", b"x" * 200_000)
    with pytest.raises(FetchError, match="200000 bytes, over the limit of 100000"):
        allowed(server, max_bytes=100_000).get(server.url("/big"))


def test_a_streamed_body_is_cut_off_at_the_limit(server: FeedServer) -> None:
    server.routes["/endless"] = stream(lambda: iter([b"y" * 65_536] * 64))
    with pytest.raises(FetchError, match="over the limit of 100000 bytes"):
        allowed(server, max_bytes=100_000).get(server.url("/endless"))


def test_a_gzip_bomb_is_refused_while_inflating(server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    server.add("/bomb", bomb, Content_Encoding="gzip")
    with pytest.raises(FetchError, match="over the limit of 1000000 bytes"):
        allowed(server, max_bytes=1_000_000).get(server.url("/bomb"))
    server.add("/small", gzip.compress(BODY), Content_Encoding="gzip")
    assert allowed(server).get(server.url("/small")).body == BODY


def test_a_slow_drip_is_cut_off_by_the_total_time_limit(server: FeedServer) -> None:
    """Each byte comes well within the read timeout; the whole fetch still stops in time."""
    server.routes["/drip"] = stream(lambda: iter([b"z"] * 100), delay=0.05)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        allowed(server, read_timeout=1.0, total_timeout=0.6).get(server.url("/drip"))
    assert time.monotonic() - started < 2


def test_redirects_are_bounded(server: FeedServer) -> None:
    server.routes["/loop"] = redirect("/loop", 301)
    with pytest.raises(FetchError, match="more than 3 redirects"):
        allowed(server, max_redirects=3).get(server.url("/loop"))
    assert len(server.requests) == 4


def test_redirects_are_followed_to_the_final_url(server: FeedServer) -> None:
    server.routes["/old"] = redirect("/new", 308)
    server.add("/new", BODY)
    fetched = allowed(server).get(server.url("/old"))
    assert (fetched.url, fetched.body) == (server.url("/new"), BODY)


def test_conditional_get_and_errors(server: FeedServer) -> None:
    server.add("/feed", BODY, ETag='"v2"')
    fetched = allowed(server).get(server.url("/feed"), {"If-None-Match": '"v2"'})
    assert fetched.not_modified and fetched.body == b""
    with pytest.raises(FetchError, match="HTTP 404"):
        allowed(server).get(server.url("/missing"))
    server.routes["/boom"] = respond(b"no", status=500)
    with pytest.raises(FetchError, match="HTTP 500"):
        allowed(server).get(server.url("/boom"))


@pytest.fixture
def keep_alive() -> Iterator[FeedServer]:
    """An HTTP/1.1 server: it keeps a connection open after an answer with a length."""
    with serving(protocol="HTTP/1.1") as state:
        state.add("/a", BODY)
        yield state


def closing_after(h: Handler) -> None:
    """An answer with a length and no `Connection: close`, then the server hangs up: the
    client learns only when it tries the idle connection again."""
    respond(BODY)(h)
    h.close_connection = True


def test_connections_are_kept_alive_only_after_a_clean_answer(keep_alive: FeedServer) -> None:
    server = keep_alive
    server.routes["/old"] = redirect("/a", 301)
    server.routes["/stream"] = stream(lambda: iter([BODY]))
    server.routes["/gone"] = respond(b"no", status=404)
    server.routes["/hang-up"] = closing_after
    expected = [  # path, total connections after it
        ("/a", 1), ("/a", 1), ("/old", 1),  # a redirect hop too
        ("/stream", 1), ("/a", 2),  # "Connection: close" is honoured
        ("/gone", 2), ("/a", 3),  # an error answer drops its connection
        ("/hang-up", 3), ("/a", 4),  # closed while idle: a fresh one, and no error
    ]  # fmt: skip
    with allowed(server).reusing() as fetcher:
        for path, connections in expected:
            if path == "/gone":
                with pytest.raises(FetchError, match="HTTP 404"):
                    fetcher.get(server.url(path))
            else:
                assert fetcher.get(server.url(path)).body == BODY, path
            assert server.connections == connections, path
        assert "Connection" not in server.requests[0][1]
    deadline = time.monotonic() + 2
    while server.finished < server.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.finished == server.connections  # the last idle one closed with the block
    assert allowed(server).get(server.url("/a")).body == BODY  # one-shot, as before
    assert server.requests[-1][1]["Connection"] == "close"


def test_a_kept_connection_serves_only_an_address_checked_again(keep_alive: FeedServer) -> None:
    """Each request resolves and checks the host anew; an idle connection is used only if
    its address is among those just allowed."""
    server = keep_alive
    answers = {"feeds.test": ["127.0.0.1"]}
    exempt = frozenset({("127.0.0.1", server.port), ("127.0.0.2", server.port)})
    fetcher = Fetcher(resolve=lambda host, port: answers[host], exempt=exempt)
    url = f"http://feeds.test:{server.port}/a"
    with fetcher.reusing() as reusing:
        assert reusing.get(url).body == BODY
        answers["feeds.test"] = ["10.0.0.7"]
        with pytest.raises(FetchError, match=r"10\.0\.0\.7, a private address"):
            reusing.get(url)
        answers["feeds.test"] = ["127.0.0.2"]  # allowed, but nothing listens there
        with pytest.raises(FetchError, match="cannot connect"):
            reusing.get(url)
        answers["feeds.test"] = ["127.0.0.1"]
        assert reusing.get(url).body == BODY
    assert server.connections == 1


def test_a_kept_connection_cut_by_the_time_limit_is_not_used_again(
    keep_alive: FeedServer,
) -> None:
    def drip(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(100):
                h.wfile.write(b"z")
                h.wfile.flush()
                time.sleep(0.05)

    server = keep_alive
    server.routes["/drip"] = drip
    with allowed(server, total_timeout=0.5).reusing() as fetcher:
        assert fetcher.get(server.url("/a")).body == BODY
        with pytest.raises(FetchError, match="timed out"):
            fetcher.get(server.url("/drip"))
        assert fetcher.get(server.url("/a")).body == BODY
    assert server.connections == 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for `feeds.test`, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=feeds.test", "-addext",
         "subjectAltName=DNS:feeds.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _tls(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, Fetcher]:
    """A TLS server context with the certificate, and a fetcher that trusts it and
    resolves every name to 127.0.0.1."""
    cert, key = certificate
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    fetcher = Fetcher(
        FetchLimits(allow_private_hosts=True),
        resolve=lambda host, port: ["127.0.0.1"],
        ssl_context=trusting,
    )
    return server_side, fetcher


def test_https_to_the_checked_address_verifies_the_host_name(
    certificate: tuple[Path, Path],
) -> None:
    """TLS goes to the pinned address, but SNI and the certificate check use the name:
    the certificate for feeds.test passes, the same server named other.test does not."""
    server_side, fetcher = _tls(certificate)
    with serving(tls=server_side) as server:
        server.add("/feed", BODY)
        assert fetcher.get(f"https://feeds.test:{server.port}/feed").body == BODY
        assert server.requests[0][1]["Host"] == f"feeds.test:{server.port}"
        with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
            fetcher.get(f"https://other.test:{server.port}/feed")
    assert len(server.requests) == 1


def test_a_kept_tls_connection_serves_only_its_own_host_name(
    certificate: tuple[Path, Path],
) -> None:
    server_side, fetcher = _tls(certificate)
    with serving(tls=server_side, protocol="HTTP/1.1") as server, fetcher.reusing() as reusing:
        server.add("/feed", BODY)
        for _ in range(3):
            assert reusing.get(f"https://feeds.test:{server.port}/feed").body == BODY
        with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
            reusing.get(f"https://other.test:{server.port}/feed")
        # One connection: the refused handshake never became a request handler.
        assert (len(server.requests), server.connections) == (3, 1)


def test_a_url_with_non_ascii_characters_is_fetched_percent_encoded(server: FeedServer) -> None:
    """Feeds link to `/café`; the request line carries it as UTF-8 percent escapes."""
    server.add("/caf%C3%A9?q=%C3%BC", BODY)
    assert allowed(server).get(server.url("/café?q=ü")).body == BODY
    with pytest.raises(FetchError, match="HTTP 404"):
        allowed(server).get(server.url("/a\x00b"))


def test_proxy_settings_in_the_environment_are_not_honoured(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would make the address checks moot: the proxy, not us, connects."""
    server.add("/feed", BODY)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # the discard port: nothing answers
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert allowed(server).get(server.url("/feed")).body == BODY
