"""Chunked work across processes: forked workers inherit the parent's loaded state for free."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_job: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def default_jobs() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def can_fork() -> bool:
    """Fork only a single-threaded process; forking beside live threads can deadlock."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def run_chunks(
    work: Callable[[Sequence[T]], list[R]],
    items: Sequence[T],
    jobs: int,
    min_per_job: int,
) -> Iterator[R]:
    """Apply `work` to chunks of `items`, in order, on `jobs` forked processes when it pays.

    Small inputs (fewer than `min_per_job` items per worker) run in this process: starting
    a pool costs more than it saves.
    """
    global _job
    workers = min(jobs, len(items) // max(1, min_per_job))
    if workers < 2 or not can_fork():
        yield from work(items)
        return
    size = max(1, min(256, -(-len(items) // (workers * 8))))
    bounds = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
    # Workers are forked after this point and inherit `work` and `items`; only the
    # chunk bounds go to them and only results come back.
    _job = (work, items)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for result in pool.imap(_run, bounds):
                yield from result
    finally:
        _job = None


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _job is not None
    work, items = _job
    return work(items[bounds[0] : bounds[1]])
