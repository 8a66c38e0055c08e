"""The preview server's connections: a thread only for a request that has fully arrived.

A thread per connection let 2,000 slow clients make 2,000 threads (issue 14, break 15).
Here one thread reads every connection's request head without blocking, under one
deadline for the whole head, so a client dribbling bytes costs a socket, not a thread,
and is dropped when its time is up. A complete request goes to a small pool of worker
threads; a kept-alive connection comes back here between requests. Open connections
are capped below the process's file limit: at the cap, the oldest connection still
waiting for its request makes room, and new ones wait in the listen backlog.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import selectors
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
)


def _default_max_connections() -> int:
    """Half the file limit, so that served files and the build still get descriptors."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return 256
    if soft == resource.RLIM_INFINITY:
        return 512
    return max(16, min(512, soft // 2 - 64))


@dataclass(frozen=True, slots=True)
class Limits:
    """How much the preview gives to clients; the defaults suit one person's browser."""

    head_timeout: float = 10.0
    """Seconds a connection gets to send a whole request head, and to idle between requests."""
    send_timeout: float = 30.0
    """Seconds one chunk of a response may take to leave (a client that stops reading)."""
    workers: int = 16
    """Threads answering ordinary requests."""
    max_streams: int = 32
    """Live-reload event streams open at once (each holds a thread of its own)."""
    max_connections: int = field(default_factory=_default_max_connections)
    max_head_bytes: int = 65536
    evict_after: float = 1.0
    """At the connection cap, a connection that waited this long for its request makes room."""


class Conn:
    """One client connection and the bytes it sent that no request has consumed yet."""

    __slots__ = ("_front", "address", "buffer", "closed", "deadline", "since", "sock")

    def __init__(self, sock: socket.socket, address: object, front: Front) -> None:
        self.sock = sock
        self.address = address
        self.buffer = bytearray()
        self.since = self.deadline = 0.0
        self.closed = False
        self._front = front

    def take_request(self) -> bytes | None:
        """The first complete request head in the buffer, removed from it."""
        match = self._head_end(0)
        if match is None:
            return None
        head = bytes(self.buffer[: match.end()])
        del self.buffer[: match.end()]
        return head

    def feed(self, data: bytes) -> bool:
        """Add received bytes; whether a whole request head has arrived.

        Only the new bytes (and the three before them) are searched, so a head
        dribbled byte by byte costs no more than one sent at once.
        """
        start = max(0, len(self.buffer) - 3)
        self.buffer += data
        return self._head_end(start) is not None

    def has_request(self) -> bool:
        return self._head_end(0) is not None

    def _head_end(self, start: int) -> re.Match[bytes] | None:
        if start == 0:
            while self.buffer[:1] in (b"\r", b"\n"):
                del self.buffer[:1]  # stray line ends between requests are allowed
        return _HEAD_END.search(self.buffer, start)

    def close(self, farewell: bytes = b"") -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if farewell:
                self.sock.setblocking(False)
                self.sock.send(farewell)  # best effort: the client may not read
        except OSError:
            pass
        finally:
            self.sock.close()
            self._front.closed_one()


class Pool:
    """Daemon worker threads, started only as jobs need them, never more than `size`."""

    def __init__(self, work: Callable[[Conn], None], size: int) -> None:
        self._work = work
        self._size = size
        self._jobs: queue.SimpleQueue[Conn | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._idle = self._pending = 0

    def submit(self, job: Conn) -> None:
        with self._lock:
            self._pending += 1
            spawn = self._pending > self._idle and self._threads < self._size
            if spawn:
                self._threads += 1
        if spawn:
            name = f"masthead-worker-{self._threads}"
            threading.Thread(target=self._run, name=name, daemon=True).start()
        self._jobs.put(job)

    def stop(self) -> None:
        with self._lock:
            count = self._threads
        for _ in range(count):
            self._jobs.put(None)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                self._pending -= job is not None
                if job is None:
                    self._threads -= 1
                    return
            try:
                self._work(job)
            except Exception:  # a bug in one request must not cost a worker
                log.exception("the preview failed to answer a request")
                job.close()


class Front:
    """Reads request heads for every waiting connection in one thread; see the module."""

    def __init__(self, dispatch: Callable[[Conn], None], limits: Limits) -> None:
        self._dispatch = dispatch
        self._limits = limits
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._waiting: OrderedDict[Conn, None] = OrderedDict()  # oldest deadline first
        self._incoming: deque[Conn] = deque()
        self._room = threading.Condition()
        self._open = 0
        self._want_room = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="masthead-front", daemon=True)
        self._thread.start()

    @property
    def open_connections(self) -> int:
        return self._open

    def accepted(self, sock: socket.socket, address: object) -> None:
        with self._room:
            self._open += 1
        self.add(Conn(sock, address, self))

    def add(self, conn: Conn) -> None:
        """Wait for the next request on `conn` (new, or kept alive after a response)."""
        self._incoming.append(conn)
        if self._stopping:  # nothing reads `_incoming` any more: a response outlived stop()
            self._close_incoming()
        self._wake()

    def make_room(self, timeout: float) -> bool:
        """Whether another connection may be accepted now; waits up to `timeout` for one."""
        with self._room:
            if self._open < self._limits.max_connections:
                return True
            self._want_room = True
        self._wake()
        with self._room:
            return self._room.wait_for(lambda: self._open < self._limits.max_connections, timeout)

    def closed_one(self) -> None:
        with self._room:
            self._open -= 1
            self._room.notify_all()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        for conn in list(self._waiting):
            self._drop(conn)
        self._close_incoming()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _close_incoming(self) -> None:
        while True:
            try:
                self._incoming.popleft().close()
            except IndexError:  # another thread emptied it first
                return

    def _wake(self) -> None:
        # A full wake-up pipe means a wake-up is pending already.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select(self._next_timeout()):
                if key.fileobj is self._wake_r:
                    self._drain_wakeups()
                else:
                    self._read(key.data)
            now = time.monotonic()
            self._take_incoming(now)
            self._expire(now)
            self._evict(now)

    def _next_timeout(self) -> float:
        if not self._waiting:
            return 1.0
        oldest = next(iter(self._waiting))
        when = oldest.deadline
        if self._want_room:
            when = min(when, oldest.since + self._limits.evict_after)
        return max(0.0, min(1.0, when - time.monotonic()))

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _take_incoming(self, now: float) -> None:
        while self._incoming:
            conn = self._incoming.popleft()
            if conn.has_request():
                self._dispatch(conn)
                continue
            conn.since, conn.deadline = now, now + self._limits.head_timeout
            try:
                conn.sock.setblocking(False)
                self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            except (OSError, ValueError):
                conn.close()
                continue
            self._waiting[conn] = None

    def _read(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            return self._drop(conn)
        if conn.feed(data):
            self._unregister(conn)
            self._dispatch(conn)
        elif len(conn.buffer) > self._limits.max_head_bytes:
            self._drop(conn, _TOO_LARGE)

    def _expire(self, now: float) -> None:
        """Drop connections whose request head did not arrive in time (slowloris)."""
        while self._waiting:
            conn = next(iter(self._waiting))
            if conn.deadline > now:
                return
            self._drop(conn, _TIMED_OUT if conn.buffer else b"")

    def _evict(self, now: float) -> None:
        """At the connection cap, the longest-waiting connection makes room for a new one."""
        with self._room:
            if not self._want_room or self._open < self._limits.max_connections:
                self._want_room = False
                return
        if self._waiting:
            conn = next(iter(self._waiting))
            if now - conn.since >= self._limits.evict_after:
                self._drop(conn, _TIMED_OUT if conn.buffer else b"")
                with self._room:
                    self._want_room = False

    def _unregister(self, conn: Conn) -> None:
        self._waiting.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)

    def _drop(self, conn: Conn, farewell: bytes = b"") -> None:
        self._unregister(conn)
        conn.close(farewell)
