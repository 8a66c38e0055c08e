"""Writing the build cache's model.bin and records.bin, beside the build where it can be.

A first build, or one after a story was added, writes a new model.bin and records.bin:
pickling the plan and records of 10,000 stories takes over a CPU-second. A build that
parsed its records afresh starts records.bin in a forked process as soon as they are
parsed: the model and plan that follow are made on one core, and the other core writes
it meanwhile. Once the pages are rendered, nothing the search index or the commit does
changes them, so model.bin (and records.bin, if not started yet) is written then, in
forked processes, while the index is made (Pagefind leaves a core idle at times).
records.bin is written under a name of its own and moved into place after the commit,
as the state is written: the next build takes it for what the last build read.
model.bin goes straight into place: a model.bin ahead of the saved state, after a build
that failed, is harmless, as only the state holding its token uses it.
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
from masthead.building.state import (
    BuildState,
    Files,
    ParsedFile,
    drop_files,
    place_files,
    save_files,
    whole_records_due,
)
from masthead.diagnostics import shown_path
from masthead.parallel import WorkerDied, beside

log = logging.getLogger(__name__)

STAGED = ".next"
"""Suffix of a records.bin written before the build's commit."""

EARLY_MIN = 1000
"""Records below which records.bin is not worth a process of its own before the model
(about a fortieth of a second of pickling)."""


class CacheWrites:
    """model.bin and records.bin for the state a build leaves: started in forked
    processes while the build goes on (records_now, then now), or written by finish()."""

    def __init__(self, memory: Memory) -> None:
        assert memory.inputs is not None
        self.cache_dir: Path = memory.inputs.cache_dir
        self.files: dict[str, ParsedFile] | None = None
        self.records: Callable[[], Any] | None = None
        self.model: Callable[[], str] | None = None
        self._records: Callable[[], Any] | None = None
        self._model: Callable[[], str] | None = None
        self.suffix = ""
        self.done = False

    def records_now(
        self, key: str, files: dict[str, ParsedFile] | None, saved: Files | None
    ) -> None:
        """Start writing records.bin now if the build parsed enough records for a whole
        new one: no delta of it is due, and the model will not change the files."""
        if files is None or len(files) < EARLY_MIN or not whole_records_due(files, saved):
            return
        self._records = beside(self._set_records(key, files, saved, STAGED))

    def now(self, memory: Memory, state: BuildState, beside_build: bool) -> CacheWrites:
        """Take the rest of `state` to write. With `beside_build` and a model to write,
        it is started now in forked processes (the build goes on meanwhile); otherwise
        finish() writes what is left, the records beside the model."""
        early = beside_build and memory.model_pending is not None
        if self.records is None and state.files is not None:
            records = self._set_records(
                state.key, state.files, memory.saved, STAGED if early else ""
            )
            if early:
                self._records = beside(records)
        if memory.model_pending is not None:
            site, specs = memory.model_pending
            memory.model_pending = None
            self.model = partial(save_model, self.cache_dir, state.key, site, specs, state.pages)
            self._model = beside(self.model) if early else self.model
        return self

    def _set_records(
        self, key: str, files: dict[str, ParsedFile], saved: Files | None, suffix: str
    ) -> Callable[[], Any]:
        self.files, self.suffix = files, suffix
        self.records = partial(save_files, self.cache_dir, key, files, saved, suffix)
        return self.records

    def finish(self, memory: Memory, state: BuildState) -> None:
        """The new model's token into `state`, the records as saved into `memory`.
        OSError (a full disk, say) when either could not be written."""
        self.done = True
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
            log.warning(
                "%s: cannot write the build cache's model: %s", shown_path(self.cache_dir), exc
            )
        # The records' process is waited for even when the model failed.
        held = _again_if_died(records, self.records) if records is not None else None
        if failed is not None:
            drop_files(self.cache_dir, self.suffix)
            raise failed
        place_files(self.cache_dir, self.suffix, held)
        if held is not None and self.files is not None:
            memory.saved = Files(dict(self.files), *held)

    def abandon(self) -> None:
        """After a build that failed or stopped: wait for the processes started, whatever
        they say (a Ctrl-C reaches them too, and comes back as their answer), and drop
        the records they wrote. The build's own exception is the one raised."""
        if self.done:
            return
        self.done = True
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
