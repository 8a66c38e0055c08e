"""The process scheduler: results in order, failures raised, neighbouring items kept together."""

from __future__ import annotations

import errno
import itertools
import logging
import multiprocessing.context
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import masthead.building.cachesave
import masthead.building.phases
import masthead.building.pipeline
import masthead.parallel
from masthead.building.context import Run
from masthead.outputs.render import TemplateError
from masthead.parallel import Waiting, WorkerDied, _chunks, beside, can_fork, run_chunks
from tests.conftest import Scratch


@pytest.fixture(autouse=True)
def _single_threaded() -> None:
    """These tests fork, and some workers end with os._exit: in a process that cannot fork
    the work runs here, and that exit would end the test run itself. A thread an earlier
    test left behind is named instead."""
    assert can_fork(), f"threads left running by an earlier test: {threading.enumerate()}"


def _pids(items: Sequence[int]) -> list[tuple[int, int]]:
    time.sleep(len(items) / 4000)  # work long enough for every worker to start
    return [(item, os.getpid()) for item in items]


@pytest.mark.parametrize("jobs", [2, 3])
def test_results_come_in_order_from_several_processes(jobs: int) -> None:
    results = list(run_chunks(_pids, range(1000), jobs, min_per_job=10))
    assert [item for item, _ in results] == list(range(1000))
    assert len({pid for _, pid in results} - {os.getpid()}) == jobs


def test_each_worker_keeps_to_neighbouring_items() -> None:
    """A worker works through one run of chunks and then helps at the end of another's:
    its items are at most two runs, so pages sorted by date share a worker."""
    results = list(run_chunks(_pids, range(2000), 2, min_per_job=10))
    for worker in {pid for _, pid in results}:
        mine = [item for item, pid in results if pid == worker]
        breaks = sum(1 for a, b in itertools.pairwise(mine) if b != a + 1)
        assert breaks <= 1, f"worker {worker} took {breaks + 1} separate runs"


@given(st.integers(0, 5000), st.integers(0, 20000))
def test_a_run_is_cut_in_chunks_that_shrink_towards_its_end(start: int, length: int) -> None:
    """Whole and in order, at most 256 items a chunk, each no bigger than the one before,
    and the last one small: the worker that ends a run ends soon after the others."""
    chunks = _chunks(start, start + length)
    assert [i for a, b in chunks for i in range(a, b)] == list(range(start, start + length))
    sizes = [b - a for a, b in chunks]
    assert all(0 < size <= 256 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    assert not sizes or sizes[-1] <= 8


def test_small_inputs_stay_in_this_process() -> None:
    assert {pid for _, pid in run_chunks(_pids, range(5), 2, min_per_job=10)} == {os.getpid()}


def _fail_at_700(items: Sequence[int]) -> list[int]:
    if 700 in items:
        raise ValueError("record 700 is bad")
    return list(items)


def test_meanwhile_runs_here_while_the_workers_work() -> None:
    """In a thread of this process, while results are being read (a worker whose results
    wait unread stops at its first); not at all when the work stays in this process;
    what it raises is raised after the results."""
    seen: list[tuple[int, bool, int]] = []
    yielded: list[int] = []

    def meanwhile() -> None:
        time.sleep(0.2)  # longer than a worker's first chunk, shorter than all of them
        seen.append(
            (os.getpid(), threading.current_thread() is threading.main_thread(), len(yielded))
        )

    for item, _ in run_chunks(_pids, range(4000), 2, min_per_job=10, meanwhile=meanwhile):
        yielded.append(item)
    assert seen == [(os.getpid(), False, seen[0][2])]
    assert 0 < seen[0][2] < 4000  # results came in while it ran
    list(run_chunks(_pids, range(10), 2, min_per_job=10, meanwhile=meanwhile))
    assert len(seen) == 1

    def failing() -> None:
        raise OSError("cannot prepare")

    with pytest.raises(OSError, match="cannot prepare"):
        list(run_chunks(_pids, range(1000), 2, min_per_job=10, meanwhile=failing))


def test_a_build_compiles_its_templates_while_its_records_are_parsed(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template that does not compile and is never used does not fail the build; one
    that is used fails it with its file and line, as it did when compiled on first use."""
    monkeypatch.setattr(masthead.building.phases, "PARSE_MIN_PER_JOB", 2)
    prepared: list[object] = []
    prepare = masthead.building.phases.prepare

    def spying_prepare(run: Run) -> None:
        prepare(run)
        prepared.append(run.memory.prepared)

    monkeypatch.setattr(masthead.building.phases, "prepare", spying_prepare)
    for n in range(6):
        scratch.add(f"2026-11-1{n}-story-{n}.md", title=f"Story {n}")
    scratch.template("unused.html", "{% if %}")
    (scratch.root / "templates" / "latin-1.html").write_bytes("café".encode("latin-1"))
    report = scratch.build(jobs=2)
    assert not report.failed and (scratch.output / "news").is_dir()
    assert len(prepared) == 1 and prepared[0] is not None  # made while parsing
    scratch.template(
        "404.html", "{% extends 'base.html' %}\n{% block main %}{% if %}{% endblock %}"
    )
    with pytest.raises(TemplateError, match=r"404\.html:2"):
        scratch.build(jobs=2)


def test_a_failure_in_a_worker_is_raised_here_with_the_workers_traceback() -> None:
    with pytest.raises(ValueError, match="record 700 is bad") as failure:
        list(run_chunks(_fail_at_700, range(1000), 2, min_per_job=10))
    assert "_fail_at_700" in str(failure.value.__cause__)  # where it happened, not only what


def _die_at_300(items: Sequence[int]) -> list[int]:
    if 300 in items:
        os._exit(3)  # killed, say, by the OOM killer: no exception, no message
    return list(items)


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with pytest.raises(RuntimeError, match="ended unexpectedly"):
        list(run_chunks(_die_at_300, range(1000), 2, min_per_job=10))


def test_beside_runs_in_another_process_while_this_one_goes_on(tmp_path: Path) -> None:
    go = tmp_path / "go"

    def work() -> tuple[int, bool]:
        """Waits for a file this process writes only once beside() has returned."""
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return os.getpid(), go.exists()

    result = beside(work)
    go.write_text("")
    pid, saw_go = result()
    assert saw_go  # beside() returned while the work was still waiting
    assert pid != os.getpid()


def test_beside_raises_the_failure_of_its_work() -> None:
    def fail() -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        beside(fail)()


def test_beside_reports_a_process_that_died() -> None:
    with pytest.raises(WorkerDied, match="ended unexpectedly"):
        beside(lambda: os._exit(3))()


def test_beside_again_does_the_work_here_when_its_process_died() -> None:
    """A process killed (out of memory, say) under a look that may be taken again: the
    look is taken here, and its answer given."""
    parent = os.getpid()

    def killed_unless_here() -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return 42

    assert can_fork()
    assert beside(killed_unless_here, again=True)() == 42
    with pytest.raises(WorkerDied, match="ended unexpectedly"):
        beside(killed_unless_here)()


def test_beside_says_here_what_its_work_logged(caplog: pytest.LogCaptureFixture) -> None:
    """What the work logs in its process is said by this one, once and in order, even
    when the work then fails."""
    log = logging.getLogger("masthead.test_beside")

    def noisy() -> int:
        log.warning("first %s", "warning")
        log.info("an aside")
        return os.getpid()

    def failing() -> None:
        log.warning("about to fail")
        raise ValueError("failed")

    assert can_fork()
    with caplog.at_level(logging.INFO, logger=log.name):
        assert beside(noisy)() != os.getpid()
        with pytest.raises(ValueError, match="failed"):
            beside(failing)()
    said = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert said == ["first warning", "an aside", "about to fail"]


def test_beside_sends_a_log_record_whose_extra_does_not_pickle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A value given as `extra=` that does not pickle is said as its repr, and the work's
    result still arrives (the record once took the result down with it: WorkerDied)."""
    log = logging.getLogger("masthead.test_beside")

    def holding() -> int:
        log.warning("holding %s", "a lock", extra={"held": threading.Lock(), "count": 3})
        return 7

    with caplog.at_level(logging.INFO, logger=log.name):
        assert beside(holding)() == 7
    [record] = [r for r in caplog.records if r.name == log.name]
    assert record.getMessage() == "holding a lock"
    assert "lock" in record.held and record.count == 3  # type: ignore[attr-defined]


def test_settling_a_forked_look_neither_does_it_here_nor_raises() -> None:
    """settle() waits for the process only: a build that failed meanwhile needs neither
    the work done again here (with `again`) nor its error."""
    parent, done_here = os.getpid(), []

    def dies_there() -> None:
        if os.getpid() != parent:
            os._exit(3)
        done_here.append(True)

    def fails() -> None:
        raise ValueError("failed")

    for waiting in (beside(dies_there, again=True), beside(fails)):
        assert isinstance(waiting, Waiting)
        waiting.settle()
        assert not waiting.process.is_alive()
    assert done_here == []


def test_beside_works_here_when_it_cannot_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of memory or processes at the fork: the work is done, in this process."""

    def no_fork(self: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", no_fork)
    assert beside(os.getpid)() == os.getpid()


def _slow_start(items: Sequence[int]) -> list[int]:
    if 0 in items:
        time.sleep(0.5)  # meanwhile the other worker does every other chunk
    return list(items)


def test_progress_hears_of_results_as_they_arrive() -> None:
    """Results wait for their turn to be yielded; progress should not wait with them."""
    heard: list[int] = []
    results = run_chunks(_slow_start, range(2000), 2, min_per_job=10, arrived=heard.append)
    assert next(results) == 0
    assert sum(heard) == 2000  # all of it heard of before the first is yielded


def test_what_the_look_at_the_inputs_raises_in_its_process_reaches_the_build(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan stamps every input file in a forked process while it reads the cache: a
    failure there is raised by the build as it was raised, file name and all."""
    locked = str(scratch.root / "content" / "locked")

    def unreadable(*args: object) -> None:
        raise PermissionError(errno.EACCES, f"denied to process {os.getpid()}", locked)

    scratch.add("2026-11-12-story.md", title="A story")
    monkeypatch.setattr(masthead.building.phases, "stamp_inputs", unreadable)
    with pytest.raises(PermissionError) as raised:
        scratch.build(jobs=1)
    assert raised.value.filename == locked and raised.value.errno == errno.EACCES
    assert raised.value.strerror != f"denied to process {os.getpid()}"  # another process's


def test_a_cache_writer_that_dies_leaves_a_whole_cache(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """model.bin and records.bin are written in forked processes while the build makes
    its search index; if those processes are killed, the build still succeeds and
    writes both itself."""

    def killed(work: object) -> object:
        def wait() -> None:
            raise WorkerDied(-9)

        return wait

    scratch.add("2026-11-12-story.md", title="A story")
    monkeypatch.setattr(masthead.building.cachesave, "beside", killed)
    assert not scratch.build(jobs=1).failed
    assert "writing the build cache in this process" in caplog.text
    monkeypatch.undo()
    again = scratch.build(jobs=1)
    assert (again.parsed, again.written) == (0, 0)


def _failing_index(*args: object) -> None:
    """The search step, failing once the cache writes have begun."""
    raise OSError("the index could not be written")


def test_a_build_that_fails_after_the_cache_writes_began_leaves_the_last_records(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """model.bin and records.bin are begun once the pages are rendered, before the search
    index and the commit. A build that fails there must leave records.bin as the last
    build left it (the next build takes it for what was read), and no staged copy."""
    scratch.add("2026-11-12-story.md", title="A story")
    assert not scratch.build(jobs=1).failed
    cache = scratch.root / ".masthead-cache"
    before = (cache / "records.bin").read_bytes()
    scratch.add("2026-11-13-other.md", title="Another story")

    monkeypatch.setattr(masthead.building.pipeline, "index", _failing_index)
    with pytest.raises(OSError, match="index could not"):
        scratch.build(jobs=1)
    assert (cache / "records.bin").read_bytes() == before
    assert not list(cache.glob("*.next"))
    monkeypatch.undo()
    again = scratch.build(jobs=1)
    assert again.parsed == 1  # only the new story: the records saved are the first build's
    assert (scratch.output / "news").is_dir() and len(
        list((scratch.output / "news").rglob("index.html"))
    ) == 2


def test_a_model_that_cannot_be_written_leaves_no_cache_and_no_staged_records(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk while model.bin is written in its process: the site is built all the
    same, the cache is left out with a warning, and the records written beside it under
    a name of their own are removed rather than left or moved into place."""
    scratch.add("2026-11-12-story.md", title="A story")

    def full_disk(*args: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(masthead.building.cachesave, "save_model", full_disk)
    report = scratch.build(jobs=1)
    assert not report.failed and (scratch.output / "index.html").is_file()
    assert "cannot write the build cache" in caplog.text
    cache = scratch.root / ".masthead-cache"
    assert not list(cache.glob("*.next")) and not (cache / "records.bin").exists()
    monkeypatch.undo()
    assert scratch.build(jobs=1).parsed == 1  # no cache was trusted: read again


def test_where_nothing_forks_a_failed_build_writes_no_cache(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without fork (or beside live threads) the cache writes are left to the end of the
    build, in this process; a build that fails before then must not write them."""
    scratch.add("2026-11-12-story.md", title="A story")
    assert not scratch.build(jobs=1).failed
    cache = scratch.root / ".masthead-cache"
    before = {p.name: p.read_bytes() for p in cache.glob("*.bin")}
    scratch.add("2026-11-13-other.md", title="Another story")

    monkeypatch.setattr(masthead.parallel, "can_fork", lambda: False)
    monkeypatch.setattr(masthead.building.pipeline, "index", _failing_index)
    with pytest.raises(OSError, match="index could not"):
        scratch.build(jobs=1)
    assert {p.name: p.read_bytes() for p in cache.glob("*.bin")} == before
    assert not list(cache.glob("*.next"))
