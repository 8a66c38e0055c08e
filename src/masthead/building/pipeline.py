"""One build, as one sequence of phases: scan → load → model → plan → render → index →
write → remember.

A build first finds what changed (changes.py: nothing; these records, in place;
everything), then every phase does as much as that calls for: see `Builder._phases`.
A Builder keeps what the last build learned (parsed records, page fingerprints, input
stamps, the preview's model) in memory and in `.masthead-cache/`, so a build after an
edit parses only the changed files and renders only the pages whose fingerprint changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path

from masthead.building import phases, rendering
from masthead.building.cachesave import CacheWrites
from masthead.building.changes import (
    Changes,
    Everything,
    Nothing,
    Stored,
    from_store,
    from_watcher,
    nothing_changed,
    output_unchanged,
    stamp_or_none,
)
from masthead.building.context import BuildOptions, BuildReport, Inputs, Memory, Run, Scan, timed
from masthead.building.context import resolve_inputs as resolve_inputs
from masthead.building.state import (
    BuildState,
    cache_usable,
    forget_state,
    save_state,
)
from masthead.diagnostics import fails_strict, shown_path
from masthead.killpoint import kill_point
from masthead.outputs import search_shards
from masthead.outputs.images import image_phase, write_images
from masthead.outputs.newsletter import is_web_page
from masthead.outputs.search import (
    find_pagefind,
    index_planned,
    own_article_template,
    update_search_index,
)
from masthead.outputs.search_records import SearchInput, search_docs
from masthead.outputs.writer import MANIFEST, OutputWriter, output_lock
from masthead.parallel import Waiting, beside, default_jobs
from masthead.records.loader import Stamp, stamp
from masthead.urls import output_path

log = logging.getLogger(__name__)

PATCHED_MAX = 256
"""Articles patched in place before the stored model is written anew from a full plan."""


class Builder:
    """Builds one site again and again, each time redoing only what its inputs changed."""

    def __init__(self, options: BuildOptions) -> None:
        self.options = options
        self.memory = Memory()
        self._held: contextlib.ExitStack | None = None
        """The output folder's lock while a build (or a cache save) runs; see _lock."""

    @property
    def inputs(self) -> Inputs | None:
        """Folders and config of the latest build, for callers such as the preview."""
        return self.memory.inputs

    @property
    def state(self) -> BuildState | None:
        return self.memory.state

    def build(self, changed: Collection[Path] | None = None) -> BuildReport:
        """Load, model, render and write; a failure before commit leaves the old output as it was.

        `changed`, from a watcher, names the only files that changed since the last build
        of this Builder; edits that keep every story's place then take a fast path.
        """
        self.memory.prepared = None  # another build's, if it stopped before using them
        try:
            started = (self._watched(changed) if changed else None) or self._scanned()
            return self._phases(*started)
        finally:
            self._unlock()

    def _watched(self, paths: Collection[Path]) -> tuple[Run, Changes, None] | None:
        """What changed, by the preview watcher's paths and the model in memory; None
        when they cannot tell (then the scan does)."""
        started, timings = time.perf_counter(), {}
        memory = self.memory
        with timed(timings, "load"):
            changes = from_watcher(memory, paths)
        if changes is None:
            return None
        assert memory.inputs is not None and memory.state is not None
        inputs = memory.inputs
        self._lock(inputs)
        writer = output_unchanged(memory, inputs)
        if writer is None:
            return None  # the output changed behind our back
        # The stamps of other inputs were not looked at: leave the no-op check to a full build.
        scan = Scan(inputs, memory.state.key, memory.state, writer)
        return self._run(scan, started, timings), changes, None

    def _scanned(self) -> tuple[Run, Changes, Stored | None]:
        """What changed, by every input file's stamp (and the stored model, if any)."""
        started, timings = time.perf_counter(), {}
        with timed(timings, "scan"):
            inputs = self.memory.inputs = resolve_inputs(self.options)
            self._lock(inputs)
            kill_point("scan")
            if self.options.use_cache and not cache_usable(inputs.cache_dir):
                # One warning (cache_usable's), and no part of the cache is used.
                self.options = dataclasses.replace(self.options, use_cache=False)
            scan = phases.scan(self.options, self.memory, inputs)
        run = self._run(scan, started, timings)
        if nothing_changed(scan, self.memory, self.options):
            return run, Nothing(), None
        if scan.state.files is None:  # a fresh process: the stored model may be enough
            with run.timed("load"):
                found = from_store(scan, self.options)
            if found is not None:
                return run, *found
        return run, Everything(), None

    def _run(self, scan: Scan, started: float, timings: dict[str, float]) -> Run:
        report = BuildReport(
            scan.inputs.output_dir, timings=timings, content_dir=scan.inputs.content_dir
        )
        return Run(self.options, self.memory, scan, report, started)

    def _phases(self, run: Run, changes: Changes, stored: Stored | None) -> BuildReport:
        """The one sequence every build runs, as far as what changed calls for."""
        if isinstance(changes, Nothing):
            return _unchanged(run)  # nothing to parse, render or write
        with run.timed("load"):
            loaded = phases.load(run, changes)
        writes = None
        if self.options.use_cache and not self.options.defer_cache_save:
            writes = CacheWrites(self.memory)
            writes.records_now(run.state.key, loaded.files, self.memory.saved)
        try:
            return self._made(run, changes, stored, loaded, writes)
        finally:
            if writes is not None:
                writes.abandon()  # unless finished: a build that failed or stopped

    def _made(
        self,
        run: Run,
        changes: Changes,
        stored: Stored | None,
        loaded: phases.Loaded,
        writes: CacheWrites | None,
    ) -> BuildReport:
        """Model, plan, images, render, index and write; the cache saved after."""
        if run.options.strict and run.report.skipped and isinstance(changes, Everything):
            return run.stop()
        # The stored model stands for the site: no model is made (its timing says so).
        with run.timed("model") if stored is None else contextlib.nullcontext():
            model = phases.model(run, loaded, changes, stored)
            if model is not None:
                model = phases.narrowed(run, loaded, model)
        if model is None:
            return run.stop()
        run.report.ignored = list(self.memory.ignored)
        if model.site is not None:
            run.report.merged = sum(len(a.merged) for a in model.site.articles)
        plan = phases.plan(run, model, stored)
        if plan is None:
            return run.stop()
        new = _fresh_state(run, loaded)
        self._next_model(run, model, plan, new)
        search = None
        try:
            with run.timed("images"):
                images(run, model, plan)
            search = index_beside(run, model, plan)
            with run.timed("render"):
                rendering.render(run, plan, new)
            if writes is not None:
                writes.now(self.memory, new, beside_build=True)
            waiting, search = search, None  # waited for here, whatever index() raises
            with run.timed("search"):
                index(run, plan, waiting)
            with run.timed("write"):
                write(run, plan, new)
        except BaseException:
            if search is not None:  # done with the staging folder before it is cleared
                with contextlib.suppress(BaseException):
                    search.settle()
            run.writer.abort()
            self.memory.forget()  # the output may not match any state we know of
            raise
        self._remember(run, model, plan, new, writes)
        return run.report

    def _next_model(
        self, run: Run, model: phases.Model, plan: phases.Plan, new: BuildState
    ) -> None:
        """What the next build finds of this one's model: the stored one and the articles
        patched since, or this whole plan (written to model.bin with the cache)."""
        memory, state = self.memory, run.state
        memory.model_pending = None
        patched = model.patched
        if patched is not None and state.model and len({*state.patched, *patched}) <= PATCHED_MAX:
            new.model, new.patched = state.model, {**state.patched, **patched}
        elif model.site is not None and self.options.use_cache:
            memory.model_pending = (model.site, plan.specs)

    def _remember(
        self,
        run: Run,
        model: phases.Model,
        plan: phases.Plan,
        new: BuildState,
        writes: CacheWrites | None,
    ) -> None:
        """Keep what this build learned, for the next: in memory, and in the cache."""
        memory, state, report = self.memory, run.state, run.report
        _report_outputs(run, new)
        memory.manifest = (stamp_or_none(run.inputs.output_dir / MANIFEST), run.writer.current)
        memory.state, memory.site = new, model.site
        memory.specs = plan.specs if self.options.keep_model else None
        if state is not new:
            # The last build's tables are garbage now: let go before the cache is
            # written, their memory serves the writing (the peak of a build at 100k).
            state.pages, state.stamps, state.files = {}, None, None
        if not self.options.defer_cache_save:
            self.save_cache(writes)
        report.seconds = time.perf_counter() - run.started

    def adopt_output(self, before: str, after: dict[str, str], manifest: Stamp | None) -> bool:
        """Take `after` as the output's manifest (the file's stamp `manifest`), written by the
        preview's background search indexer over the output this Builder last committed,
        whose manifest digest was `before`: the next edit keeps its fast path. False (and
        the next build looks at the output afresh) when the output was not that one."""
        memory = self.memory
        if memory.manifest is None or OutputWriter.digest_of(memory.manifest[1]) != before:
            return False
        memory.manifest = (manifest, after)
        return True

    def inputs_unchanged(self) -> bool:
        """Whether every input file has the stamp the last build saw. The preview asks once
        its watcher runs: a file saved during its first build, before the watcher looked,
        would otherwise wait for the next change to be built."""
        memory = self.memory
        if memory.inputs is None or memory.state is None or not memory.state.inputs:
            return False
        stamps, others = phases.stamp_inputs(self.options, memory.inputs, [])
        return phases.inputs_digest(stamps, others) == memory.state.inputs

    def search_input(self) -> SearchInput | None:
        """The last build's stories as the search index is given them, for the preview's
        background indexer; None when it has no plan at hand, or when the site's own
        article template decides what is indexed (the pages as built are, then)."""
        memory, inputs = self.memory, self.memory.inputs
        if inputs is None or memory.specs is None or own_article_template(inputs.site_dir):
            return None
        return search_docs(inputs.config, memory.specs, memory.site_paths.missing)

    def save_cache(self, writes: CacheWrites | None = None) -> None:
        """Write the state to the cache folder; the preview calls this when it stops rather
        than after every edit, so that saving 100,000 records never delays a reload.

        The site is built by then: a cache that cannot be written (a full disk, say)
        costs the next build time only, so it is reported and left out, whole.
        """
        memory = self.memory
        if memory.state is None or memory.inputs is None or not self.options.use_cache:
            return
        held = self._held is not None  # by the build that calls this
        try:
            self._lock(memory.inputs)
            _save_cache(memory, writes)
        except OSError as exc:
            cache_dir = memory.inputs.cache_dir
            log.warning(
                "%s: cannot write the build cache (%s); the next build starts without it",
                shown_path(cache_dir),
                exc.strerror or exc,
            )
            forget_state(cache_dir)
            self.options = dataclasses.replace(self.options, use_cache=False)
        finally:
            if not held:
                self._unlock()

    def _lock(self, inputs: Inputs) -> None:
        """Hold the output folder until _unlock: another build into it waits meanwhile,
        and nothing it reads or writes, output or cache, changes under it."""
        if self._held is None:
            stack = contextlib.ExitStack()
            self.memory.created_output = stack.enter_context(output_lock(inputs.output_dir))
            self._held = stack

    def _unlock(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()


def _unchanged(run: Run) -> BuildReport:
    """The report of a build that found nothing changed: the last one's, as it was."""
    state, report, writer = run.state, run.report, run.writer
    report.records_read, report.skipped, report.merged = state.counts
    report.drafts, report.ignored = list(state.drafts), list(run.memory.ignored)
    report.diagnostics.extend(state.diagnostics)
    report.files = len(writer.previous or {})
    report.pages = sum(1 for rel in state.pages if is_web_page(rel))
    report.failed = run.options.strict and fails_strict(report.diagnostics)  # as then
    report.seconds = time.perf_counter() - run.started
    return report


def _fresh_state(run: Run, loaded: phases.Loaded) -> BuildState:
    """The state this build leaves, filled in as the phases go."""
    scan, files = run.scan, loaded.files
    new = BuildState(scan.key, files=files, inputs=scan.digest, others=scan.others)
    # A file shown at its last good version (the preview's) is never taken as read:
    # the next build looks at it again rather than finding nothing changed.
    if files is None:
        new.stamps = scan.stamps
    else:
        new.stamps = {rel: f.stamp for rel, f in files.items() if not f.held}
        if any(f.held for f in files.values()):
            new.inputs = ""
    new.model_diagnostics = run.memory.model_diagnostics
    new.missing_paths = run.memory.site_paths.missing
    return new


def images(run: Run, model: phases.Model, plan: phases.Plan) -> None:
    """The image phase: resized copies of the images the pages show (images.py), for the
    templates and the write phase; after edits in place, those of the edited records
    beside the last build's."""
    run.memory.images = image_phase(
        run.inputs.config.images,
        run.inputs.cache_dir,
        plan.assets,
        model.site,
        (model.patched or {}).values(),
        run.options.jobs or default_jobs(),
    )


_Indexed = tuple[int, int, dict[str, tuple[str, bool]]] | None
"""What the index made beside the render phase: files, written, and each file's digest
and whether it was staged; None when the pages as built must be indexed."""


def index_beside(run: Run, model: phases.Model, plan: phases.Plan) -> Waiting[_Indexed] | None:
    """After edits in place, or on a site of fewer stories than one Pagefind process is
    given alone (PARALLEL_MIN), the search index made in a forked process while the pages
    render; the function returned waits for it. None for any other build, and when this
    process cannot fork (the index phase then makes it after the pages, as for any other).

    Such an index is mostly a wait for one Pagefind process, which the render phase
    fills: after edits, the shard or two of the stories edited; on a small site, every
    shard, which after the pages would leave a core idle. A bigger site's shards keep
    both cores busy by themselves; they are made after the pages, beside the writing of
    the cache. A site's own article template decides what is indexed (the pages as
    built are), and the preview defers its index to serve_search.
    """
    inputs, options, site = run.inputs, run.options, model.site
    binary = find_pagefind() if inputs.config.search else None
    big = site is None or len(site.articles) >= search_shards.PARALLEL_MIN  # a story an article
    if (
        (plan.affected is None and big)
        or binary is None
        or options.defer_search
        or own_article_template(inputs.site_dir)
    ):
        return None
    waiting = beside(partial(_index_planned, run, plan, binary), again=True)
    return waiting if isinstance(waiting, Waiting) else None  # not forked: made when due


def _index_planned(run: Run, plan: phases.Plan, binary: Path) -> _Indexed:
    writer = run.writer
    known, staged = set(writer.current), len(writer.staged)
    done = index_planned(
        binary, run.inputs.config, plan.specs, writer, run.memory.site_paths.missing,
        _search_cache(run), run.options.jobs or default_jobs(),
    )  # fmt: skip
    if done is None:
        return None
    fresh = set(writer.staged[staged:])
    made = {rel: (d, rel in fresh) for rel, d in writer.current.items() if rel not in known}
    return (*done, made)


def index(run: Run, plan: phases.Plan, beside_render: Callable[[], _Indexed] | None) -> None:
    """The index phase: the Pagefind search index of this build's stories, in shards made
    again only where what Pagefind is given changed (carried over as it was when the
    preview defers it to its background indexer); or the one made while the pages
    rendered, whose files the writer is told of."""
    made = beside_render() if beside_render is not None else None
    if made is not None:
        indexed, written, files = made
        for rel, (digest, staged) in files.items():
            run.writer.register(rel, digest, staged)
    else:
        # An index that could not be made beside, from the plan: the pages as built are.
        specs = plan.specs if beside_render is None else None
        outputs = [output_path(spec.url) for spec in plan.specs]
        indexed, written = update_search_index(
            run.inputs.config, outputs, run.writer, specs=specs,
            missing=run.memory.site_paths.missing, site_dir=run.inputs.site_dir,
            cache_dir=_search_cache(run), defer=run.options.defer_search,
            processes=run.options.jobs or default_jobs(),
        )  # fmt: skip
    run.report.files += indexed
    run.report.written += written


def _search_cache(run: Run) -> Path | None:
    return run.inputs.cache_dir if run.options.use_cache else None


def write(run: Run, plan: phases.Plan, new: BuildState) -> None:
    """The write phase: copy theme assets and the site's static/ (unchanged ones by
    stamp are not even read), then commit every staged file at once."""
    state, writer, report = run.state, run.writer, run.report
    for rel, source in sorted(plan.assets.files.items()):
        source_stamp = stamp(source)
        new.assets[rel] = source_stamp
        report.files += 1
        if state.assets.get(rel) == source_stamp and writer.keep(rel):
            continue
        report.written += writer.write(rel, source.read_bytes())
    files, written = write_images(run.memory.images, writer)
    report.files += files
    report.written += written
    writer.commit()
    kill_point("committed")


def _report_outputs(run: Run, new: BuildState) -> None:
    """What this build wrote and removed, into its report; the report, into the state."""
    report, writer = run.report, run.writer
    report.removed = len(writer.removed)
    report.written_paths = sorted(writer.staged)
    report.removed_paths = sorted(writer.removed)
    new.diagnostics = tuple(report.diagnostics)
    new.counts = (report.records_read, report.skipped, report.merged)
    new.drafts = tuple(report.drafts)
    # Hashing the manifest costs ~10 ms at 10k pages: save_cache does it, if it saves.
    new.output = ""


def _save_cache(memory: Memory, writes: CacheWrites | None) -> None:
    """The model and records (started by the build, or now), then the state that names them."""
    assert memory.state is not None and memory.inputs is not None
    state = memory.state
    if not state.output and memory.manifest is not None:
        state.output = OutputWriter.digest_of(memory.manifest[1])
    (writes or CacheWrites(memory).now(memory, state, beside_build=False)).finish(memory, state)
    kill_point("cache")
    save_state(memory.inputs.cache_dir, state)
