"""The process scheduler: results in order, failures raised, neighbouring items kept together."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Sequence

import pytest

from masthead.parallel import beside, run_chunks


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


def test_small_inputs_stay_in_this_process() -> None:
    assert {pid for _, pid in run_chunks(_pids, range(5), 2, min_per_job=10)} == {os.getpid()}


def _fail_at_700(items: Sequence[int]) -> list[int]:
    if 700 in items:
        raise ValueError("record 700 is bad")
    return list(items)


def test_a_failure_in_a_worker_is_raised_here() -> None:
    with pytest.raises(ValueError, match="record 700 is bad"):
        list(run_chunks(_fail_at_700, range(1000), 2, min_per_job=10))


def _die_at_300(items: Sequence[int]) -> list[int]:
    if 300 in items:
        os._exit(3)  # killed, say, by the OOM killer: no exception, no message
    return list(items)


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with pytest.raises(RuntimeError, match="ended unexpectedly"):
        list(run_chunks(_die_at_300, range(1000), 2, min_per_job=10))


def test_beside_runs_in_another_process_while_this_one_goes_on() -> None:
    started = time.monotonic()
    result = beside(lambda: (time.sleep(0.3), os.getpid())[1])
    assert time.monotonic() - started < 0.25  # it did not wait for the work
    pid = result()
    assert pid != os.getpid()


def test_beside_raises_the_failure_of_its_work() -> None:
    def fail() -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        beside(fail)()


def test_beside_reports_a_process_that_died() -> None:
    with pytest.raises(RuntimeError, match="ended unexpectedly"):
        beside(lambda: os._exit(3))()
