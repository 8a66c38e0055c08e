"""Chunked work across processes: forked workers inherit the parent's loaded state for free.

Each worker owns a contiguous run of the chunks and works through it from the front;
one that runs out takes chunks from the back of the longest run left. Neighbouring
items stay in one process (pages sorted by date share stories, whose cards and feed
entries each process renders once), and no worker waits while another has work.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

T = TypeVar("T")
R = TypeVar("R")

_job: tuple[Callable[[Any], Any], Sequence[Any], list[tuple[int, int]], Any] | None = None


def default_jobs() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def can_fork() -> bool:
    """Fork only a single-threaded process; forking beside live threads can deadlock.

    multiprocessing is imported by the first fork, not by every command: a build that
    forks nothing (an edit, say) starts a hundredth of a second sooner."""
    if threading.active_count() != 1:
        return False
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def run_chunks(
    work: Callable[[Sequence[T]], list[R]],
    items: Sequence[T],
    jobs: int,
    min_per_job: int,
    arrived: Callable[[int], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[R]:
    """Apply `work` to chunks of `items` on `jobs` forked processes when it pays, and
    yield the results in the order of `items`.

    Small inputs (fewer than `min_per_job` items per worker) run in this process: starting
    workers costs more than it saves. `arrived(n)` hears of n more results as they come
    in, which is sooner than their turn to be yielded (for progress). `meanwhile()` runs
    in a thread of this process while workers do the work (not at all when it is done
    here); what it raises is raised here, after the results.
    """
    global _job
    workers = min(jobs, len(items) // max(1, min_per_job))
    if workers < 2 or not can_fork():
        results = work(items)
        if arrived:
            arrived(len(results))
        yield from results
        return
    bounds: list[tuple[int, int]] = []
    ends: list[int] = []  # ends[2k], ends[2k + 1]: the first and the end of worker k's chunks
    for k in range(workers):
        ends.append(len(bounds))
        bounds += _chunks(len(items) * k // workers, len(items) * (k + 1) // workers)
        ends.append(len(bounds))
    runs = _forking().Array("q", ends)
    # Workers are forked after this point and inherit `work` and `items`; only results
    # come back.
    _job = (work, items, bounds, runs)
    processes, readers = [], []
    helper = None
    try:
        for k in range(workers):
            process, reader = _fork(_serve, k)
            processes.append(process)
            readers.append(reader)
        if meanwhile:
            # A thread, not a call: the workers' results must be read as they come, or
            # each worker stops at its first, waiting for room in its pipe.
            helper = _Helper(meanwhile)
            helper.start()
        yield from _collect(readers, processes, arrived)
    finally:
        if helper:
            helper.join()
        _job = None
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        for reader in readers:
            reader.close()
    if helper and helper.failure is not None:
        raise helper.failure


class _Helper(threading.Thread):
    """`work()` in a thread, keeping what it raised."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name="masthead-meanwhile")
        self.work = work
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # raised in the thread that waits for it
            self.failure = exc


def _chunks(start: int, end: int) -> list[tuple[int, int]]:
    """A worker's run of items in chunks that shrink towards its end.

    Big chunks cost fewer messages; small ones at the end, the ones other workers take
    when they run out, leave no worker finishing long after the rest.
    """
    chunks = []
    while start < end:
        size = max(_SMALLEST_CHUNK, min(_LARGEST_CHUNK, (end - start) // 8))
        chunks.append((start, min(start + size, end)))
        start += size
    return chunks


_PROTOCOL = pickle.HIGHEST_PROTOCOL
_LARGEST_CHUNK = 256
_SMALLEST_CHUNK = 8


class WorkerDied(RuntimeError):
    """A worker process ended without a result or an error: killed, say, for memory."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"a worker process ended unexpectedly (exit code {exitcode})")


def beside(work: Callable[[], R], again: bool = False) -> Callable[[], R]:
    """Start `work()` in a forked process and go on; the function returned waits for it
    and gives its result (or raises its exception). When this process cannot fork, the
    function returned does the work itself, when called; so it does, with `again`, when
    the process died (killed, out of memory) rather than raise WorkerDied. A forked
    process is a `Waiting`, which can also be waited for without its result."""
    if not can_fork():
        return work
    try:
        process, reader = _fork(_run_beside, work)
    except OSError:  # no memory or no process left for a fork: do it here, later
        return work
    return Waiting(work, again, process, reader)


class Waiting(Generic[R]):
    """`work()` under way in a forked process (beside); called once, or settled once."""

    def __init__(self, work: Callable[[], R], again: bool, process: Any, reader: Connection):
        self.work, self.again, self.process, self.reader = work, again, process, reader

    def __call__(self) -> R:
        message = self._end()
        if message is _DIED:
            if self.again:
                return self.work()
            raise WorkerDied(self.process.exitcode)
        if isinstance(message, BaseException):
            raise message
        return message  # type: ignore[no-any-return]

    def settle(self) -> None:
        """Wait for the process to end, and drop what it came to: for a build that failed
        meanwhile, which needs the work neither done again here nor raised."""
        self._end()

    def _end(self) -> Any:
        reader = self.reader
        try:
            said = reader.recv()
            message = reader.recv()
        except EOFError:
            said, message = (), _DIED
        finally:
            self.process.join()
            reader.close()
        for record in said:  # what the work logged, said here as if it had run here
            logging.getLogger(record.name).handle(record)
        return message


_DIED = object()
"""What a process that died sent: nothing."""


def _forking() -> Any:
    """multiprocessing's fork context, imported by the first fork (see can_fork)."""
    import multiprocessing

    return multiprocessing.get_context("fork")


def _fork(target: Callable[..., None], arg: Any) -> tuple[Any, Connection]:
    """A daemon process running `target(arg, results)`, and the end of `results` to read."""
    context = _forking()
    reader, writer = context.Pipe(duplex=False)
    try:
        process = context.Process(
            target=_orphan_proof, args=(target, os.getpid(), arg, writer), daemon=True
        )
        process.start()
    except BaseException:
        reader.close()
        raise
    finally:
        writer.close()  # the child has its own copy: EOF here once it is gone
    return process, reader


def _orphan_proof(target: Callable[..., None], parent: int, arg: Any, results: Connection) -> None:
    """Run `target(arg, results)` in a worker that ends when its parent dies.

    A parent killed outright (kill -9) cannot stop its workers, and a worker whose pipe
    is full waits for a reader forever: its siblings, forked later, hold the pipe's
    read end open. A thread watching the parent's pid ends the worker instead.
    """
    watch = threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True)
    watch.start()
    target(arg, results)


ORPHAN_POLL = 0.2
"""Seconds between a worker's looks at whether its parent is still there."""


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL)
    os._exit(1)


def _run_beside(work: Callable[[], Any], results: Connection) -> None:
    """`work()` in a forked process: what it logs is sent first, for the parent to say
    (its handlers, a test's capture among them, are the ones that count), then its result."""
    said = _Kept()
    logging.getLogger().handlers[:] = [said]  # this process's own copy of the root logger
    failure: BaseException | None = None
    try:
        value = work()
    except BaseException as exc:
        failure = exc
    results.send(said.records)
    if failure is None:
        results.send(value)
    else:
        _send_failure(results, failure)


class _Kept(logging.Handler):
    """Log records kept to be sent to another process. Their messages are formatted now
    (the arguments may not pickle), and an `extra=` value that does not pickle (a lock, a
    socket) is kept as its repr: one such value would lose the work's result with it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        for name, value in list(vars(record).items()):
            if name not in _RECORD_FIELDS and not _pickles(value):
                setattr(record, name, repr(value))
        self.records.append(record)


_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
"""What every log record has; the rest came as `extra=`."""


def _pickles(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _send_failure(results: Connection, exc: BaseException) -> None:
    """Send `exc` to the parent, which raises it with the worker's traceback as its cause
    (as multiprocessing's Pool does); as a message if it does not pickle."""
    from multiprocessing.pool import ExceptionWithTraceback

    try:
        results.send(ExceptionWithTraceback(exc, exc.__traceback__))
    except Exception:
        results.send(RuntimeError(f"{type(exc).__name__}: {exc}"))


def _collect(
    readers: list[Connection], processes: list[Any], arrived: Callable[[int], None] | None
) -> Iterator[Any]:
    """Results in chunk order, as the workers send them; a worker's failure is raised."""
    from multiprocessing.connection import wait

    done: dict[int, list[Any]] = {}
    following = 0
    open_ = dict(zip(readers, processes, strict=True))
    while open_:
        for reader in wait(list(open_)):
            try:
                message = reader.recv()  # type: ignore[union-attr]
            except EOFError:
                raise WorkerDied(open_[reader].exitcode) from None
            if message is None:  # that worker has no chunk left
                del open_[reader]
                continue
            if message == -1:  # a failure follows
                raise reader.recv()  # type: ignore[union-attr]
            index, result = message
            done[index] = result
            if arrived:
                arrived(len(result))
            while following in done:
                yield from done.pop(following)
                following += 1


def _serve(k: int, results: Connection) -> None:
    assert _job is not None
    work, items, bounds, runs = _job
    try:
        while (index := _take(runs, k)) is not None:
            start, end = bounds[index]
            # Pickled here rather than by send(): multiprocessing's pickler, which can
            # also send sockets and file descriptors, takes a sixth longer over records.
            results.send_bytes(pickle.dumps((index, work(items[start:end])), _PROTOCOL))
    except BaseException as exc:  # sent to the parent, which raises it
        results.send(-1)
        _send_failure(results, exc)
    results.send(None)


def _take(runs: Any, k: int) -> int | None:
    """The next chunk of worker k's run, else the last chunk of the longest run left."""
    with runs.get_lock():
        if runs[2 * k] < runs[2 * k + 1]:
            runs[2 * k] += 1
            return int(runs[2 * k] - 1)
        longest = max(range(len(runs) // 2), key=lambda j: runs[2 * j + 1] - runs[2 * j])
        if runs[2 * longest] >= runs[2 * longest + 1]:
            return None
        runs[2 * longest + 1] -= 1
        return int(runs[2 * longest + 1])
