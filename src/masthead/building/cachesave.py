"""Writing the build cache's model.bin and records.bin, beside the build where it can be.

A first build, or one after a story was added, writes a new model.bin and records.bin:
pickling the plan and records of 10,000 stories takes over a CPU-second. Once the pages
are rendered, nothing the search index or the commit does changes them, so a build
starts writing both then, in forked processes, and makes its index meanwhile (Pagefind
leaves a core idle at times). records.bin is written under a name of its own and moved
into place after the commit, as the state is written: the next build takes it for what
the last build read. model.bin goes straight into place: a model.bin ahead of the saved
state, after a build that failed, is harmless, as only the state holding its token
uses it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from masthead.building.context import Memory
from masthead.building.modelstore import save_model
from masthead.building.state import BuildState, Files, drop_files, place_files, save_files
from masthead.parallel import WorkerDied, beside

log = logging.getLogger(__name__)

STAGED = ".next"
"""Suffix of a records.bin written before the build's commit."""


class CacheWrites:
    """model.bin and records.bin for `state`. With `beside_build` and a model to write,
    both are started now in forked processes (the build goes on meanwhile); otherwise
    finish() writes them, the records beside the model. finish() keeps what they return."""

    def __init__(self, memory: Memory, state: BuildState, beside_build: bool) -> None:
        assert memory.inputs is not None
        self.cache_dir: Path = memory.inputs.cache_dir
        self.files = state.files
        self.records: Callable[[], Any] | None = None
        self.model: Callable[[], str] | None = None
        self.early = beside_build and memory.model_pending is not None
        self.suffix = STAGED if self.early else ""
        if self.files is not None:
            self.records = partial(
                save_files, self.cache_dir, state.key, self.files, memory.saved, self.suffix
            )
        if memory.model_pending is not None:
            site, specs = memory.model_pending
            memory.model_pending = None
            self.model = partial(save_model, self.cache_dir, state.key, site, specs, state.pages)
        self._model = beside(self.model) if self.early and self.model else self.model
        self._records = beside(self.records) if self.early and self.records else None

    def finish(self, memory: Memory, state: BuildState) -> None:
        """The new model's token into `state`, the records as saved into `memory`.
        OSError (a full disk, say) when either could not be written."""
        records = self._records
        if records is None and self.records is not None:
            # A process is worth its fork when there is a model to write beside the records.
            records = beside(self.records) if self.model is not None else self.records
        failed = None
        try:
            if self._model is not None:
                state.model = _again_if_died(self._model, self.model)
        except OSError as exc:  # a full disk, say: save_cache leaves the whole cache out
            failed = exc
        except Exception as exc:  # the site is built: a cache not saved costs time only
            log.warning("%s: cannot write the build cache's model: %s", self.cache_dir, exc)
        # The records' process is waited for even when the model failed.
        held = _again_if_died(records, self.records) if records is not None else None
        if failed is not None:
            drop_files(self.cache_dir, self.suffix)
            raise failed
        place_files(self.cache_dir, self.suffix, held)
        if held is not None and self.files is not None:
            memory.saved = Files(dict(self.files), *held)

    def abandon(self) -> None:
        """After a failed build: wait for the processes started, whatever they say (a
        Ctrl-C reaches them too, and comes back as their answer), and drop the records
        they wrote. The build's own exception is the one raised."""
        if not self.early:
            return
        for wait, work in ((self._model, self.model), (self._records, self.records)):
            if wait is not None and wait is not work:  # not forked: nothing to wait for
                with contextlib.suppress(BaseException):
                    wait()
        drop_files(self.cache_dir, self.suffix)


def _again_if_died(wait: Callable[[], Any], work: Callable[[], Any] | None) -> Any:
    """What `wait` gives; if its process died (killed, out of memory), the work done here."""
    try:
        return wait()
    except WorkerDied as exc:
        assert work is not None
        log.warning("%s; writing the build cache in this process", exc)
        return work()
