"""Fetching untrusted URLs: http(s) only, public addresses only, bounded in time and size.

A feed (and, later, an image) URL comes from someone else, so fetching it must not reach
into the machine or network masthead runs on, nor hang or fill memory. The host name is
resolved here, every address it resolves to is checked, and the connection is made to a
checked address while `Host`, TLS SNI and the certificate check still use the name: no
second lookup happens between the check and the connection (no DNS-rebinding gap). Each
redirect is a new URL and goes through the same checks.

Built on the standard library's http.client: its public `connect()` is the one place a
subclass opens the socket, which is all the pinning needs; redirects, timeouts, the size
limit and decompression are done here, so a larger client would add nothing but surface.

`Fetcher.reusing()` adds keep-alive for a stage fetching many URLs from few hosts (the
images): an idle connection is handed back only for the same scheme, host, port and an
address the new request's own check allowed, and only when its last response was read to
the end, the server did not ask to close and the deadline timer never touched it.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from masthead import __version__
from masthead.diagnostics import MastheadError

USER_AGENT = f"masthead/{__version__} (static site generator; feed import)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 65_536
_DRAIN = 65_536
"""Most bytes read from a redirect's or error's body to keep its connection."""
_IDLE = 8
"""Most idle connections kept per (scheme, host, port)."""
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NOT_ASCII = re.compile(r"[^\x21-\x7e]+")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class FetchError(MastheadError):
    """The URL was refused or could not be fetched; the message says which and why."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """What one fetch may cost; the defaults suit a feed."""

    connect_timeout: float = 10.0
    """Seconds to open a connection to one address."""
    read_timeout: float = 20.0
    """Seconds the server may stay silent while we wait for bytes."""
    total_timeout: float = 60.0
    """Seconds for the whole fetch, redirects included: a server dripping one byte at a
    time within the read timeout is still cut off here."""
    max_bytes: int = 10 * 1024 * 1024
    """Largest body, counted after decompression; larger is refused, not truncated."""
    max_redirects: int = 5
    allow_private_hosts: bool = False
    """Allow loopback, private, link-local and other non-public addresses (a feed on the
    local network, or a test server)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response: 200 with its body, or 304 (not modified) with none."""

    url: str
    """The URL finally fetched, after redirects: relative links in the body resolve against it."""
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Response headers, names lower-cased."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order, without repeats."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: Address) -> str | None:
    """Why a connection to `address` is refused, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped address"
        embedded = address.sixtofour or (address.teredo or (None, None))[1]
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and refusal(embedded):
            return f"an address embedding {embedded}"
    for kind in ("loopback", "link_local", "unspecified", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    return None if address.is_global else "not a public address"


class Fetcher:
    """Fetches URLs under `limits`; one instance may serve many fetches, one at a time or not.

    `resolve` and `exempt` exist for tests: a resolver maps a test host name to the test
    server, and `exempt` names exact (address, port) pairs that skip the address check, so
    a test can reach its loopback server while any other private address, a redirect to
    the same server under another port included, is still refused.
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        resolve: Resolver = resolve_host,
        exempt: frozenset[tuple[str, int]] = frozenset(),
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.limits = limits or FetchLimits()
        self.resolve = resolve
        self.exempt = exempt
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.user_agent = user_agent
        self.pool: _Pool | None = None

    @contextlib.contextmanager
    def reusing(self) -> Iterator[Fetcher]:
        """A copy of this fetcher that keeps connections alive between its fetches, until
        the block ends and every idle connection is closed (no socket outlives it)."""
        copy = Fetcher(
            self.limits,
            resolve=self.resolve,
            exempt=self.exempt,
            ssl_context=self.ssl_context,
            user_agent=self.user_agent,
        )
        copy.pool = _Pool()
        try:
            yield copy
        finally:
            copy.pool.close()

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Fetched:
        """GET `url`, following redirects; raises FetchError on any refusal or failure.

        `headers` are sent on every hop (`If-None-Match`, `If-Modified-Since`, `Accept`).
        """
        deadline = time.monotonic() + self.limits.total_timeout
        for _ in range(self.limits.max_redirects + 1):
            result = self._hop(url, headers or {}, deadline)
            if isinstance(result, Fetched):
                return result
            url = result
        raise FetchError(f"more than {self.limits.max_redirects} redirects")

    def _hop(self, url: str, headers: Mapping[str, str], deadline: float) -> Fetched | str:
        """One request: the response, or the URL a redirect points to."""
        target = _Target.parse(url)
        addresses = self.checked_addresses(target.host, target.port)
        conn = self.pool.take(target, addresses) if self.pool else None
        keep = False
        try:
            with _Deadline(deadline) as timer:
                if conn is not None:
                    try:
                        result, keep = self._exchange(conn, url, target, headers, timer, True)
                    except _Stale:  # the server closed it while idle: one fresh connection
                        conn.close()
                        conn = None
                if conn is None:
                    conn = self._connect(target, addresses, timer)
                    result, keep = self._exchange(conn, url, target, headers, timer, False)
            # The timer is joined now: a connection it cut off is never pooled.
            if keep and self.pool and not timer.expired.is_set():
                self.pool.put(target, conn)
                conn = None
            return result
        finally:
            if conn is not None:
                conn.close()

    def _exchange(
        self,
        conn: _PinnedConnection,
        url: str,
        target: _Target,
        headers: Mapping[str, str],
        timer: _Deadline,
        reused: bool,
    ) -> tuple[Fetched | str, bool]:
        """The response to one request on `conn`, and whether `conn` may serve another."""
        timer.watch(conn)
        try:
            conn.request("GET", target.path, headers=self._headers(headers))
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            if reused and not timer.expired.is_set():
                raise _Stale from exc
            raise timer.error() or FetchError(f"{type(exc).__name__}: {exc}") from exc
        try:
            result = self._answer(url, response, timer)
            # To the end: the rest of a short redirect body, or nothing (a read at the end
            # of a body marks the response closed: `read1` leaves that to the next read).
            response.read(_DRAIN)
        except (OSError, http.client.HTTPException) as exc:
            raise timer.error() or FetchError(f"{type(exc).__name__}: {exc}") from exc
        return result, response.isclosed() and not response.will_close

    def _answer(
        self, url: str, response: http.client.HTTPResponse, timer: _Deadline
    ) -> Fetched | str:
        if response.status in REDIRECTS:
            location = response.getheader("location")
            if not location:
                raise FetchError(f"HTTP {response.status} redirect without a Location")
            return urljoin(url, location.strip())
        if response.status == 304:
            return Fetched(url, 304, b"", _lower(response.getheaders()))
        if response.status != 200:
            raise FetchError(f"HTTP {response.status} {response.reason}".rstrip())
        body = self._body(response, timer)
        return Fetched(url, 200, body, _lower(response.getheaders()))

    def checked_addresses(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to, all of them allowed, else FetchError."""
        addresses = self.resolve(host, port)
        if not addresses:
            raise FetchError(f"host {host!r} has no address")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if self.limits.allow_private_hosts or (text, port) in self.exempt:
                continue
            reason = refusal(address)
            if reason:
                raise FetchError(
                    f"refused {host}: it resolves to {address}, {reason}"
                    " (allow_private_hosts is off)"
                )
        return addresses

    def _connect(
        self, target: _Target, addresses: list[str], timer: _Deadline
    ) -> _PinnedConnection:
        last: OSError | None = None
        for address in addresses:
            conn = _PinnedConnection(target, address, self.limits, self.ssl_context)
            timer.watch(conn)
            try:
                conn.connect()
                return conn
            except OSError as exc:
                conn.close()
                last = exc
                if timer.expired.is_set():
                    break
        raise timer.error() or FetchError(f"cannot connect to {target.host}: {last}")

    def _headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        keep_alive = {} if self.pool else {"Connection": "close"}
        return {"User-Agent": self.user_agent, "Accept-Encoding": "gzip", **keep_alive, **extra}

    def _body(self, response: http.client.HTTPResponse, timer: _Deadline) -> bytes:
        limit = self.limits.max_bytes
        declared = response.getheader("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise FetchError(f"refused: {declared} bytes, over the limit of {limit}")
        decoder = _Decoder(response.getheader("content-encoding", ""), limit)
        received = 0
        while chunk := response.read1(_CHUNK):
            received += len(chunk)
            decoder.feed(chunk)
            if timer.expired.is_set():
                break
        # The timer's cut reads as a clean end, and http.client takes a short body as
        # whole: either way the body is incomplete, not to be kept.
        if timer.expired.is_set():
            raise timer.error() or FetchError("timed out")
        if declared.strip().isdigit() and received < int(declared):
            raise FetchError(f"the body ended after {received} of {declared.strip()} bytes")
        return decoder.finish()


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    """ASCII (IDNA) host name or address, without brackets."""
    port: int
    path: str
    """Path and query: what goes on the request line."""

    @classmethod
    def parse(cls, url: str) -> _Target:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise FetchError(f"not a valid URL: {url!r}") from exc
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(f"refused {url!r}: only http and https URLs are fetched")
        if not parts.hostname:
            raise FetchError(f"not a valid URL (no host): {url!r}")
        if parts.username is not None or parts.password is not None:
            raise FetchError("refused a URL holding a user name or password")
        try:
            host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise FetchError(f"not a valid host name: {parts.hostname!r}") from exc
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if any(c in path for c in " \r\n\t"):
            raise FetchError(f"not a valid URL (white space in its path): {url!r}")
        # The request line is ASCII: `/café` goes as `/caf%C3%A9`, as a browser sends it.
        path = _NOT_ASCII.sub(lambda m: quote(m[0], safe=""), path)
        return cls(scheme, host, port or (443 if scheme == "https" else 80), path)


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to one checked address that names the host as usual."""

    def __init__(
        self, target: _Target, address: str, limits: FetchLimits, context: ssl.SSLContext
    ) -> None:
        super().__init__(target.host, target.port, timeout=limits.read_timeout)
        self.default_port = 443 if target.scheme == "https" else 80  # Host header omits it
        self.pinned_address = address
        self.connect_timeout = limits.connect_timeout
        self.tls = context if target.scheme == "https" else None

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned_address, self.port), self.connect_timeout)
        sock.settimeout(self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls else sock


class _Stale(Exception):
    """A reused idle connection failed before any answer: the server had closed it."""


class _Pool:
    """Idle keep-alive connections, by (scheme, host, port) and pinned address; shared by
    the threads of one stage, each connection used by one thread at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[tuple[str, str, int], list[_PinnedConnection]] = {}
        self.closed = False

    def take(self, target: _Target, addresses: list[str]) -> _PinnedConnection | None:
        """An idle connection to one of `addresses` (just checked for this request), if
        any is still open and silent: readable while idle means closed or garbage."""
        key = (target.scheme, target.host, target.port)
        while True:
            with self.lock:
                conns = self.idle.get(key, [])
                found = next((c for c in reversed(conns) if c.pinned_address in addresses), None)
                if found is None:
                    return None
                conns.remove(found)
            sock = found.sock
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                return found
            found.close()

    def put(self, target: _Target, conn: _PinnedConnection) -> None:
        key = (target.scheme, target.host, target.port)
        with self.lock:
            conns = self.idle.setdefault(key, [])
            if not self.closed and len(conns) < _IDLE:
                conns.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            conns = [c for group in self.idle.values() for c in group]
            self.idle.clear()
        for conn in conns:
            conn.close()


class _Deadline:
    """Closes the connection in use when the total time is up, whatever it is waiting for:
    a socket timeout bounds one wait, not a server sending one byte per wait."""

    def __init__(self, deadline: float) -> None:
        self.remaining = deadline - time.monotonic()
        self.expired = threading.Event()
        self.conn: http.client.HTTPConnection | None = None
        self.timer = threading.Timer(max(self.remaining, 0.0), self._expire)
        self.timer.daemon = True

    def __enter__(self) -> _Deadline:
        if self.remaining <= 0:
            raise FetchError("timed out")
        self.timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.timer.cancel()
        # Gone before the fetch returns: a build forks its workers only when no other
        # thread runs (parallel.can_fork), and a cancelled timer ends at once.
        self.timer.join()

    def watch(self, conn: http.client.HTTPConnection) -> None:
        self.conn = conn

    def _expire(self) -> None:
        self.expired.set()
        sock = self.conn.sock if self.conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing to cut off
                sock.shutdown(socket.SHUT_RDWR)

    def error(self) -> FetchError | None:
        if self.expired.is_set():
            return FetchError("timed out: the whole fetch took longer than its time limit")
        return None


class _Decoder:
    """Counts (and, for gzip, inflates) the body, refusing it past the size limit."""

    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if "gzip" in encoding else None
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        if self.inflate is not None:
            try:
                # Inflate at most one byte past the limit: a small bomb stays small here.
                chunk = self.inflate.decompress(chunk, self.limit - self.size + 1)
            except zlib.error as exc:
                raise FetchError(f"broken gzip body: {exc}") from exc
            if self.inflate.unconsumed_tail:
                self._refuse()
        self._add(chunk)

    def finish(self) -> bytes:
        if self.inflate is not None:
            self._add(self.inflate.flush())
        return b"".join(self.parts)

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self._refuse()
        self.parts.append(data)

    def _refuse(self) -> None:
        raise FetchError(f"refused: the body is over the limit of {self.limit} bytes")


def _lower(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}
