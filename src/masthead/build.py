"""One build from site folder to output folder; the only module that imports every stage.

A Builder keeps what the last build learned (parsed records, page fingerprints, input
stamps) in memory and in `.masthead-cache/`, so a build after an edit parses only the
changed files and renders only the pages whose fingerprint changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import math
import sys
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import jinja2

from masthead import __version__
from masthead.assets import Assets, collect_assets
from masthead.config import CONFIG_FILE, SiteConfig, load_config
from masthead.data import SiteData, load_data
from masthead.diagnostics import (
    ConfigError,
    Diagnostic,
    fails_strict,
    plural,
    rebased,
    shown_path,
)
from masthead.digest import digest_of
from masthead.fingerprint import (
    TemplateDigests,
    config_digest,
    page_fingerprint,
    records_in,
    substitute,
)
from masthead.images import ImageMap, image_phase, write_images
from masthead.killpoint import kill_point
from masthead.memo import clear_all as clear_memos
from masthead.modelstore import MODEL, ModelStore, save_model
from masthead.newsletter import is_web_page
from masthead.output import MANIFEST, OutputWriter, output_lock
from masthead.parallel import WorkerDied, beside, default_jobs, run_chunks
from masthead.plan import PageSpec, plan_pages
from masthead.records import (
    RECORD_SUFFIXES,
    LoadResult,
    Stamp,
    load_records,
    read_record,
    scan_records,
    stamp,
)
from masthead.render import make_env, render_output, set_images, set_missing_paths, theme_dir
from masthead.safety import check_cache_folder, check_folders
from masthead.search import resolve_search, update_search_index
from masthead.site import Article, Site, build_site, keeps_place, patch_site, patched_article
from masthead.sitepaths import SitePaths, check_site_paths
from masthead.state import (
    CACHE_DIR,
    BuildState,
    Files,
    ParsedFile,
    cache_usable,
    forget_state,
    load_files,
    load_state,
    save_files,
    save_state,
)
from masthead.urls import output_path

log = logging.getLogger(__name__)

PATCHED_MAX = 256
"""Articles patched in place before the stored model is written anew from a full plan."""
PATCH_MAX = 64
"""Records changed at once beyond which a build does not try the stored model."""
PARSE_MIN_PER_JOB = 400
RENDER_MIN_PER_JOB = 300
"""Below this much work per worker process, one process is faster than a pool."""


@dataclass(frozen=True, slots=True)
class BuildOptions:
    site_dir: Path = Path(".")
    content_dir: Path | None = None
    output_dir: Path | None = None
    drafts: bool = False
    base_url: str | None = None
    strict: bool = False
    cache_dir: Path | None = None
    """Where the build cache lives; default `<site>/.masthead-cache`."""
    use_cache: bool = True
    jobs: int = 0
    """Worker processes for parsing and rendering; 0 means one per core."""
    progress: bool = False
    """Draw a progress line on stderr (the CLI turns it on for terminals)."""
    hash_assets: bool = True
    """Content-hashed stylesheet and script names; the preview turns it off so that a CSS
    edit rewrites one file, which the browser swaps in without a reload."""
    defer_cache_save: bool = False
    """Leave writing the cache to an explicit save_cache() call."""
    keep_model: bool = False
    """Always build the site model, even when nothing changed, so that the next build can
    patch it (the preview's fast path for edits)."""
    hold_last_good: bool = False
    """Keep showing a record's last good version while its file has errors (the preview)."""
    search: bool = True
    """Build the Pagefind search index (when site.toml's `search` is on too)."""
    defer_search: bool = False
    """Carry the last search index over instead of running Pagefind (the preview's builds:
    serve_search indexes again in the background, so a reload never waits for it)."""


@dataclass(slots=True)
class BuildReport:
    output_dir: Path
    records_read: int = 0
    parsed: int = 0
    skipped: int = 0
    merged: int = 0
    pages: int = 0
    rendered: int = 0
    files: int = 0
    written: int = 0
    removed: int = 0
    seconds: float = 0.0
    failed: bool = False
    written_paths: list[str] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    drafts: list[str] = field(default_factory=list)
    """Content paths of the drafts left out."""
    ignored: list[str] = field(default_factory=list)
    """Content paths of files under content/ that are not records (by their extension)."""
    content_dir: Path | None = None

    @property
    def drafts_left_out(self) -> int:
        return len(self.drafts)

    def summary(self) -> str:
        """One line of counts; then, when there are any, the drafts left out and the files
        not read, named (a few, then a count), so that nothing disappears without a word."""
        state = "Build failed" if self.failed else "Built"
        drafts = (
            f", {plural(self.drafts_left_out, 'draft')} left out" if self.drafts_left_out else ""
        )
        merged = f", {plural(self.merged, 'duplicate')} merged" if self.merged else ""
        lines = [
            f"{state}: read {plural(self.records_read, 'record')} ({self.skipped} skipped"
            f"{merged}{drafts}); {plural(self.pages, 'page')}, wrote {self.written} of "
            f"{plural(self.files, 'file')}, removed {self.removed}, in {self.seconds:.2f} s "
            f"-> {shown_path(self.output_dir)}"
        ]
        if self.drafts:
            lines.append(
                f"Drafts left out (published: false; --drafts builds them): {self._named(self.drafts)}"
            )
        if self.ignored:
            suffixes = " or ".join(RECORD_SUFFIXES)
            lines.append(
                f"Not read: {plural(len(self.ignored), 'file')} in the content folder without "
                f"a record's extension ({suffixes}): {self._named(self.ignored)}"
            )
        return "\n".join(lines)

    def _named(self, paths: list[str], shown: int = 3) -> str:
        root = self.content_dir or Path(".")
        names = ", ".join(shown_path(root / rel) for rel in paths[:shown])
        return names + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


@dataclass(frozen=True, slots=True)
class Inputs:
    """Where a build reads and writes, resolved from options and site.toml."""

    site_dir: Path
    content_dir: Path
    output_dir: Path
    cache_dir: Path
    config: SiteConfig


def resolve_inputs(options: BuildOptions) -> Inputs:
    """The folders, made absolute: what a build does must not depend on the working
    directory of whatever it runs (Pagefind runs in a folder of its own)."""
    site_dir = options.site_dir.absolute()
    config = resolve_search(load_config(site_dir, {"base_url": options.base_url}), options.search)
    content_dir = (options.content_dir or site_dir / config.content_dir).absolute()
    output_dir = (options.output_dir or site_dir / config.output_dir).absolute()
    if not content_dir.is_dir():
        raise ConfigError(f"content folder {shown_path(content_dir)} does not exist")
    check_folders(site_dir, content_dir, output_dir)
    cache_dir = (options.cache_dir or site_dir / CACHE_DIR).absolute()
    check_cache_folder(site_dir, content_dir, output_dir, cache_dir)
    return Inputs(site_dir, content_dir, output_dir, cache_dir, config)


def build(options: BuildOptions) -> BuildReport:
    return Builder(options).build()


@dataclass(frozen=True, slots=True)
class SiteInMemory:
    """A site loaded, modelled and planned as a build does it, without writing a byte:
    what `check` validates and `newsletter` renders its email from."""

    inputs: Inputs
    loaded: LoadResult
    data: SiteData
    site: Site
    specs: list[PageSpec]
    assets: Assets
    site_paths: SitePaths

    def environment(self) -> jinja2.Environment:
        """The templates as a build renders them, site paths that lead nowhere left out."""
        inputs = self.inputs
        env = make_env(inputs.config, inputs.site_dir / "templates", None, self.assets.urls)
        set_missing_paths(env, self.site_paths.missing)
        return env


def site_in_memory(options: BuildOptions) -> SiteInMemory:
    """Read and plan the site of `options` (ConfigError for a bad site.toml)."""
    inputs = resolve_inputs(options)
    loaded = load_records(inputs.content_dir, inputs.config)
    data = load_data(inputs.site_dir)
    site = build_site(loaded.records, inputs.config, options.drafts, data)
    specs = list(plan_pages(site))
    assets = collect_assets(theme_dir() / "assets", inputs.site_dir / "static")
    paths = find_site_paths(inputs, site, data, specs, assets)
    return SiteInMemory(inputs, loaded, data, site, specs, assets, paths)


def find_site_paths(
    inputs: Inputs, site: Site, data: SiteData, specs: Sequence[PageSpec], assets: Assets
) -> SitePaths:
    """The site paths of the site's records and data/ that lead to no planned page, no
    static file and no theme asset (sitepaths.py)."""
    return check_site_paths(
        (a.record for a in site.articles),
        data,
        assets.files,
        lambda: (spec.url for spec in specs),
        (inputs.content_dir, inputs.site_dir),
    )


class Builder:
    """Builds one site again and again, each time redoing only what its inputs changed."""

    def __init__(self, options: BuildOptions) -> None:
        self.options = options
        self.state: BuildState | None = None
        self.inputs: Inputs | None = None
        """Folders and config of the latest build, for callers such as the preview."""
        self._saved: Files | None = None
        """The parsed records as the cache folder holds them, once read or written."""
        self._site: Site | None = None
        self._env: tuple[jinja2.Environment, TemplateDigests] | None = None
        self._specs: list[PageSpec] | None = None
        self._manifest: tuple[Stamp | None, dict[str, str]] | None = None
        """The manifest as this Builder last committed it, with the file's stamp then."""
        self._model_diagnostics: tuple[Diagnostic, ...] = ()
        self._model_pending: tuple[Site, list[PageSpec]] | None = None
        """A full plan not yet written to model.bin (save_cache writes it)."""
        self._ignored: list[str] = []
        """Files under the content folder that are not records, as the last scan found."""
        self._prepared: tuple[Assets, jinja2.Environment] | None = None
        """The assets and templates of this build, when made while its records were parsed."""
        self._held: contextlib.ExitStack | None = None
        """The output folder's lock while a build (or a cache save) runs; see _lock."""
        self._created_output = False
        self._data: SiteData | None = None
        """data/ as the site model was last built from it, for the site path check."""
        self._images = ImageMap()
        """This build's resized images (images.py), for its templates and its output."""
        self._site_paths = SitePaths()
        """Site paths of records and data/ that lead nowhere (sitepaths.py), as of the
        last full plan: the fast paths keep what it found (site.same_shape)."""

    def build(self, changed: Collection[Path] | None = None) -> BuildReport:
        """Load, model, render and write; a failure before commit leaves the old output as it was.

        `changed`, from a watcher, names the only files that changed since the last build
        of this Builder; edits that keep every story's shape then take a fast path.
        """
        # The cyclic garbage collector would otherwise walk every cached record again and
        # again while the build allocates; builds make next to no reference cycles.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        self._prepared = None  # another build's, if it stopped before using them
        try:
            if changed:
                report = self._patch(changed)
                if report is not None:
                    return report
            return self._build()
        finally:
            self._unlock()
            if gc_was_enabled:
                # Every object the build made is in the collector's youngest generation,
                # which the next allocation would have it walk (0.1 s at 10,000 records).
                # Frozen and unfrozen, they are in the oldest: walked when it next is.
                # (Not when the program embedding masthead froze objects of its own.)
                if gc.get_freeze_count() == 0:
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()

    def _build(self) -> BuildReport:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        with _timed(timings, "scan"):
            inputs = self.inputs = resolve_inputs(self.options)
            self._lock(inputs)
            kill_point("scan")
            if self.options.use_cache and not cache_usable(inputs.cache_dir):
                # One warning (cache_usable's), and no part of the cache is used.
                self.options = dataclasses.replace(self.options, use_cache=False)
            key = self._key(inputs)
            state = self._load_state(inputs, key)
            ignored: list[str] = []
            stamps = scan_records(inputs.content_dir, ignored)
            self._ignored = ignored
            others = _digest_others(inputs)
            # What the next build compares to find nothing changed: no use to a first
            # build that keeps no state (without the cache, and not the preview's).
            keeps_state = (
                self.options.use_cache or self.options.keep_model or self.state is not None
            )
            inputs_digest = digest_of(sorted(stamps.items()), others) if keeps_state else ""
            writer = OutputWriter(inputs.output_dir, created_root=self._created_output)
            if not self._output_matches(state, writer):
                state.pages, state.assets, state.inputs = {}, {}, ""
        report = BuildReport(inputs.output_dir, timings=timings, content_dir=inputs.content_dir)
        needs_model = self.options.keep_model and self._site is None
        unchanged = bool(inputs_digest) and state.inputs == inputs_digest
        if unchanged and not needs_model and _outputs_intact(writer):
            report.records_read, report.skipped, report.merged = state.counts
            report.drafts, report.ignored = list(state.drafts), list(self._ignored)
            report.diagnostics.extend(state.diagnostics)
            report.files = len(writer.previous or {})
            report.pages = sum(1 for rel in state.pages if is_web_page(rel))
            report.failed = self.options.strict and fails_strict(report.diagnostics)  # as then
            report.seconds = time.perf_counter() - started
            return report  # nothing changed: nothing to parse, render or write
        if state.files is None:  # a fresh process: the stored model may be enough
            stored = self._patch_stored(
                inputs, state, stamps, others, writer, inputs_digest, started, timings
            )
            if stored is not None:
                return stored
        with _timed(timings, "load"):
            files = self._load(inputs, stamps, state)
            before = state.files or {}
        self._report_files(report, files)
        changed = {rel for rel, f in files.items() if before.get(rel) is not f}
        report.parsed = len(changed)
        if self.options.strict and report.skipped:
            return _strict_stop(report, started)
        with _timed(timings, "model"):
            data = load_data(inputs.site_dir)
            site = build_site(
                [f.record for _, f in sorted(files.items()) if f.record],
                inputs.config,
                self.options.drafts,
                data,
                digests=self.options.use_cache or self.options.keep_model,
            )
            data_diagnostics = rebased(data.diagnostics, inputs.site_dir)
            self._model_diagnostics = (*data_diagnostics, *site.diagnostics)
            self._data = data
        if self.options.strict and fails_strict(data_diagnostics):  # a data file was skipped
            report.diagnostics.extend(self._model_diagnostics)
            return _strict_stop(report, started)
        with _timed(timings, "model"):
            affected = _affected(state, before, files, changed, site, others)
        patched = None
        if affected is not None:
            patched = {a.record.path: a for a in site.articles if a.record.path in changed}
        return self._finish(
            inputs, key, state, files, site, writer, report, (inputs_digest, others), started,
            affected, patched=patched,
        )  # fmt: skip

    def _patch(self, changed: Collection[Path]) -> BuildReport | None:
        """The preview's fast path for edits that change only what a story shows.

        When every changed path is a known record that still parses and keeps its shape
        (site.same_shape), the site model is patched instead of rebuilt and the rest of
        the build runs as usual. Anything else returns None, and a full build follows.
        """
        started = time.perf_counter()
        timings: dict[str, float] = {}
        inputs, state, site = self.inputs, self.state, self._site
        if inputs is None or state is None or state.files is None or site is None:
            return None
        files = dict(state.files)
        records = []
        with _timed(timings, "load"):
            for path in changed:
                rel = _content_rel(path, inputs.content_dir)
                old = files.get(rel) if rel else None
                if rel is None or old is None or old.record is None or old.held:
                    return None
                try:
                    parsed = _parse_file(
                        inputs.content_dir / rel,
                        rel,
                        stamp(inputs.content_dir / rel),
                        inputs.config,
                    )
                except OSError:
                    return None
                if parsed.record is None:
                    return None
                files[rel] = parsed
                records.append(parsed.record)
        with _timed(timings, "model"):
            patched = patch_site(site, records)
        if patched is None:
            return None
        manifest = self._manifest
        self._lock(inputs)
        if manifest is None or _stamp_or_none(inputs.output_dir / MANIFEST) != manifest[0]:
            return None  # the output changed behind our back
        writer = OutputWriter(inputs.output_dir, previous=dict(manifest[1]))
        report = BuildReport(inputs.output_dir, timings=timings, content_dir=inputs.content_dir)
        self._report_files(report, files)
        report.parsed = len(records)
        affected, specs = None, None
        if state.outputs_of is not None and self._specs is not None:
            affected = _outputs_showing(state.outputs_of, (r.path for r in records))
            specs = self._respec(site, patched, affected)
        # The stamps of other inputs were not looked at: leave the no-op check to a full build.
        edited = {r.path for r in records}
        return self._finish(
            inputs, state.key, state, files, patched, writer, report, ("", ""), started, affected,
            specs, patched={a.record.path: a for a in patched.articles if a.record.path in edited},
        )  # fmt: skip

    def _patch_stored(
        self,
        inputs: Inputs,
        state: BuildState,
        stamps: dict[str, Stamp],
        others: str,
        writer: OutputWriter,
        inputs_digest: str,
        started: float,
        timings: dict[str, float],
    ) -> BuildReport | None:
        """`masthead build` after edits that change only what stories show, from the cache.

        The last full build's plan is in model.bin (modelstore), page by page: this reads
        the changed records, the specs of the outputs that show them (the record-to-output
        index) and the articles on those pages, and nothing else; no other record is read
        and no site model is built. Anything else returns None, and a full build follows.
        """
        before = state.stamps
        if (
            self.options.keep_model  # the preview needs the whole model in memory
            or (self.options.strict and fails_strict(state.diagnostics))  # it fails the build
            or not state.model
            or before is None
            or state.outputs_of is None
            or not state.pages
            or state.others != others
            or before.keys() != stamps.keys()
        ):
            return None
        changed = [rel for rel, current in stamps.items() if before[rel] != current]
        if not changed or len(changed) > PATCH_MAX:
            return None
        previous = writer.previous or {}
        if not all(rel in previous for rel in state.pages) or not _outputs_intact(writer):
            return None
        try:
            store = ModelStore.open(inputs.cache_dir, state.key, state.model, state.patched)
            if store is None:
                return None
            with store, _timed(timings, "load"):
                found = _read_stored(inputs, state, store, changed, stamps)
        except Exception as exc:  # damaged, or from another build of masthead: never trusted
            log.warning("%s: %s; building without it", inputs.cache_dir / MODEL, exc)
            return None
        if found is None:
            return None
        parsed, patched, affected, specs = found
        report = BuildReport(inputs.output_dir, timings=timings, content_dir=inputs.content_dir)
        report.records_read, report.skipped, report.merged = state.counts
        report.drafts = list(state.drafts)
        report.parsed = len(changed)
        # The files' own diagnostics, in file order, the changed files' as they are now.
        model = len(state.model_diagnostics)
        by_file: dict[str, list[Diagnostic]] = {}
        for diagnostic in state.diagnostics[: len(state.diagnostics) - model]:
            by_file.setdefault(diagnostic.path, []).append(diagnostic)
        by_file.update((rel, list(p.diagnostics)) for rel, p in parsed.items())
        report.diagnostics.extend(d for rel in stamps for d in by_file.get(rel, ()))
        self._model_diagnostics = state.model_diagnostics
        self._site_paths = SitePaths(state.missing_paths)
        return self._finish(
            inputs, state.key, state, None, None, writer, report, (inputs_digest, others),
            started, affected, specs, patched=patched, stamps=stamps, output_checked=True,
        )  # fmt: skip

    def _output_matches(self, state: BuildState, writer: OutputWriter) -> bool:
        """Does the output folder hold what `state`'s page fingerprints describe?"""
        if state is self.state and self._manifest is not None:
            return writer.previous == self._manifest[1]
        return state.output == OutputWriter.digest_of(writer.previous)

    def _respec(self, old: Site, new: Site, affected: set[str]) -> list[PageSpec]:
        """The last plan with the patched articles put into the affected outputs' contexts.

        The site kept its shape, so planning it again would give the same outputs with the
        same contexts, but for the replaced articles (and the lists holding them).
        """
        assert self._specs is not None
        fresh = {a.record.path: a for a in new.articles}
        swap = {id(a): fresh[a.record.path] for a in old.articles if fresh[a.record.path] is not a}
        memo: dict[int, Any] = {}
        return [
            dataclasses.replace(spec, context=substitute(spec.context, swap, memo))
            if output_path(spec.url) in affected
            else spec
            for spec in self._specs
        ]

    def _finish(
        self,
        inputs: Inputs,
        key: str,
        state: BuildState,
        files: dict[str, ParsedFile] | None,
        site: Site | None,
        writer: OutputWriter,
        report: BuildReport,
        digests: tuple[str, str],
        started: float,
        affected: set[str] | None = None,
        specs: list[PageSpec] | None = None,
        *,
        patched: dict[str, Article] | None = None,
        stamps: dict[str, Stamp] | None = None,
        output_checked: bool = False,
    ) -> BuildReport:
        """Plan (unless a fast path brings `specs`), render and write the pages of `site`,
        then remember what was built.

        `patched` names the articles that changed in place, when the plan is the last
        one but for them (None: `site` was planned afresh, and becomes the stored model).
        The stored-model path brings no files and no site, but the stamps of the records,
        and has checked that every output it keeps is on disk (`output_checked`).
        """
        timings = report.timings
        report.ignored = list(self._ignored)
        if site is not None:
            report.merged = sum(len(a.merged) for a in site.articles)
        prepared, self._prepared = self._prepared, None
        assets = prepared[0] if prepared else self._collect_assets(inputs)
        if specs is None:
            assert site is not None
            with _timed(timings, "model"):
                specs = list(plan_pages(site))
                self._check_site_paths(inputs, site, specs, assets)
        report.diagnostics.extend(self._model_diagnostics)
        if self.options.strict and any(d.strict for d in self._model_diagnostics):
            return _strict_stop(report, started)
        # `digests`: of all inputs and of all but the records ("" when not looked at).
        new_state = BuildState(key, files=files, inputs=digests[0], others=digests[1])
        # A file shown at its last good version (the preview's) is never taken as read:
        # the next build looks at it again rather than finding nothing changed.
        held = any(f.held for f in (files or {}).values())
        new_state.stamps = stamps or {
            rel: f.stamp for rel, f in (files or {}).items() if not f.held
        }
        if held:
            new_state.inputs = ""
        new_state.model_diagnostics = self._model_diagnostics
        new_state.missing_paths = self._site_paths.missing
        try:
            with _timed(timings, "images"):
                self._images = image_phase(
                    inputs.config.images, inputs.cache_dir, assets, site,
                    (patched or {}).values(), self._jobs(),
                )  # fmt: skip
            with _timed(timings, "render"):
                self._pages(
                    specs, inputs, assets, state, new_state, writer, report, affected,
                    output_checked, prepared[1] if prepared else None,
                )  # fmt: skip
            with _timed(timings, "search"):
                outputs = [output_path(spec.url) for spec in specs]
                indexed, written = update_search_index(
                    inputs.config, outputs, writer, defer=self.options.defer_search
                )
                report.files += indexed
                report.written += written
            with _timed(timings, "write"):
                self._assets(assets, state, new_state, writer, report)
                files, written = write_images(self._images, writer)
                report.files += files
                report.written += written
                writer.commit()
                kill_point("committed")
        except BaseException:
            writer.abort()
            # The output may not match any state we know of.
            self.state = self._site = self._env = self._specs = None
            self._manifest = self._model_pending = None
            raise
        self._model_pending = None
        if patched is not None and state.model and len({*state.patched, *patched}) <= PATCHED_MAX:
            new_state.model, new_state.patched = state.model, {**state.patched, **patched}
        elif site is not None and self.options.use_cache:
            self._model_pending = (site, specs)  # this plan is whole: it becomes the model
        report.removed = len(writer.removed)
        report.written_paths = sorted(writer.staged)
        report.removed_paths = sorted(writer.removed)
        new_state.diagnostics = tuple(report.diagnostics)
        new_state.counts = (
            report.records_read,
            report.skipped,
            report.merged,
        )
        new_state.drafts = tuple(report.drafts)
        # Hashing the manifest costs ~10 ms at 10k pages: save_cache does it, if it saves.
        new_state.output = ""
        self._manifest = (_stamp_or_none(inputs.output_dir / MANIFEST), writer.current)
        self.state, self._site = new_state, site
        self._specs = specs if self.options.keep_model else None
        if state is not new_state:
            # The last build's tables are garbage now: let go before the cache is
            # written, their memory serves the writing (the peak of a build at 100k).
            state.pages, state.stamps, state.files = {}, None, None
        if not self.options.defer_cache_save:
            self.save_cache()
        report.seconds = time.perf_counter() - started
        return report

    def adopt_output(self, before: str, after: dict[str, str], manifest: Stamp | None) -> bool:
        """Take `after` as the output's manifest (the file's stamp `manifest`), written by the
        preview's background search indexer over the output this Builder last committed,
        whose manifest digest was `before`: the next edit keeps its fast path. False (and
        the next build looks at the output afresh) when the output was not that one."""
        if self._manifest is None or OutputWriter.digest_of(self._manifest[1]) != before:
            return False
        self._manifest = (manifest, after)
        return True

    def _check_site_paths(
        self, inputs: Inputs, site: Site, specs: list[PageSpec], assets: Assets
    ) -> None:
        """Find the site paths of records and data/ that lead nowhere, for a fresh plan;
        their warnings join the model's (kept in the state for the fast paths)."""
        found = find_site_paths(inputs, site, self._data or SiteData(), specs, assets)
        self._site_paths = found
        self._model_diagnostics = (*self._model_diagnostics, *found.diagnostics)

    def save_cache(self) -> None:
        """Write the state to the cache folder; the preview calls this when it stops rather
        than after every edit, so that saving 100,000 records never delays a reload.

        The site is built by then: a cache that cannot be written (a full disk, say)
        costs the next build time only, so it is reported and left out, whole.
        """
        if self.state is None or self.inputs is None or not self.options.use_cache:
            return
        held = self._held is not None  # by the build that calls this
        try:
            self._lock(self.inputs)
            self._save_cache()
        except OSError as exc:
            cache_dir = self.inputs.cache_dir
            log.warning(
                "%s: cannot write the build cache (%s); the next build starts without it",
                cache_dir,
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
            self._created_output = stack.enter_context(output_lock(inputs.output_dir))
            self._held = stack

    def _unlock(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()

    def _save_cache(self) -> None:
        assert self.state is not None and self.inputs is not None
        if not self.state.output and self._manifest is not None:
            self.state.output = OutputWriter.digest_of(self._manifest[1])
        cache_dir, state, files, saved = self.inputs.cache_dir, self.state, self.state.files, None
        if files is not None:
            records = partial(save_files, cache_dir, state.key, files, self._saved)
            # When there is a model to write too, the records are written beside it, in a
            # process of their own: on another core, a first build ends that much sooner.
            saved = beside(records) if self._model_pending is not None else records
        if self._model_pending is not None:
            site, specs = self._model_pending
            self._model_pending = None
            try:
                state.model = save_model(cache_dir, state.key, site, specs, state.pages)
            except OSError:
                raise  # a full disk, say: save_cache leaves the whole cache out
            except Exception as exc:  # the site is built: a cache that is not saved costs time only
                log.warning("%s: cannot write the build cache's model: %s", cache_dir, exc)
        try:
            held = saved() if saved is not None else None
        except WorkerDied as exc:  # the output is committed: write the records here instead
            log.warning("%s: %s; writing the build cache in this process", cache_dir, exc)
            held = records()
        if held is not None and files is not None:
            self._saved = Files(dict(files), *held)
        kill_point("cache")
        save_state(cache_dir, state)

    # phases -----------------------------------------------------------------

    def _key(self, inputs: Inputs) -> str:
        """What invalidates the whole cache: masthead, the config, the options, the folders."""
        parts = (
            __version__,
            config_digest(inputs.config),
            self.options.drafts,
            self.options.hash_assets,  # asset names are in every page
            str(inputs.content_dir.resolve()),
            str(inputs.output_dir.resolve()),
        )
        return digest_of(*parts)

    def _load_state(self, inputs: Inputs, key: str) -> BuildState:
        if self.state is not None and self.state.key == key:
            return self.state
        if not self.options.use_cache:
            return BuildState(key, files={})
        return load_state(inputs.cache_dir, key)

    def _load(
        self, inputs: Inputs, stamps: dict[str, Stamp], state: BuildState
    ) -> dict[str, ParsedFile]:
        """Parsed files by path: unchanged ones from the cache, the rest parsed (in parallel)."""
        if state.files is None:
            self._saved = load_files(inputs.cache_dir, state.key)
            state.files = self._saved.files
        files: dict[str, ParsedFile] = {}
        todo: list[tuple[str, Stamp]] = []
        for rel, current in stamps.items():
            cached = state.files.get(rel)
            if cached is not None and cached.stamp == current and not cached.held:
                files[rel] = cached
            else:
                todo.append((rel, current))
        config, root = inputs.config, inputs.content_dir

        def parse(chunk: Sequence[tuple[str, Stamp]]) -> list[tuple[str, ParsedFile]]:
            return [(rel, _parse_file(root / rel, rel, stamp, config)) for rel, stamp in chunk]

        for rel, parsed in run_chunks(
            parse,
            todo,
            self._jobs(),
            min_per_job=PARSE_MIN_PER_JOB,
            meanwhile=partial(self._prepare, inputs),
        ):
            last = state.files.get(rel)
            if parsed.record is None and self.options.hold_last_good and last and last.record:
                # Mid-edit breakage in the preview: keep the page as it was, show the error.
                parsed = ParsedFile(parsed.stamp, last.record, parsed.diagnostics, held=True)
            files[rel] = parsed
        return files

    def _prepare(self, inputs: Inputs) -> None:
        """Collect the assets, make the template environment and compile every template,
        while workers parse the records: rendering needs them, and they need no record.

        Anything that fails here is left for rendering to meet again, where it is
        reported as it always was: a template no page uses may even fail unnoticed.
        """
        try:
            assets = self._collect_assets(inputs)
            env = self._make_env(inputs, assets)
            for name in env.list_templates(extensions=("html", "xml")):
                with contextlib.suppress(Exception):
                    env.get_template(name)
        except Exception:
            return
        self._prepared = (assets, env)

    def _collect_assets(self, inputs: Inputs) -> Assets:
        return collect_assets(
            theme_dir() / "assets", inputs.site_dir / "static", hash_names=self.options.hash_assets
        )

    def _make_env(self, inputs: Inputs, assets: Assets) -> jinja2.Environment:
        return make_env(
            inputs.config,
            inputs.site_dir / "templates",
            inputs.cache_dir if self.options.use_cache else None,
            assets.urls,
        )

    def _pages(
        self,
        specs: list[PageSpec],
        inputs: Inputs,
        assets: Assets,
        state: BuildState,
        new_state: BuildState,
        writer: OutputWriter,
        report: BuildReport,
        affected: set[str] | None,
        output_checked: bool = False,
        env: jinja2.Environment | None = None,
    ) -> None:
        """Render the pages whose fingerprint changed; carry the others over untouched.

        `affected` (when only records changed, and kept their shape) names the only
        outputs that can have changed; the others keep their fingerprint without it being
        computed again. Files this Builder wrote itself are not looked for on disk. `env`
        is this build's template environment, if made already.
        """
        if affected is not None and self._env is not None:
            env, digests = self._env  # only records changed: same config, templates, assets
        else:
            env = env or self._make_env(inputs, assets)
            digests = TemplateDigests(env, state.template_references)
            if self.options.keep_model:
                self._env = (env, digests)
        clear_memos()  # what the last build made of its stories may be out of date
        # A build whose state is neither saved nor kept has no use for page fingerprints.
        remember = self.options.use_cache or self.options.keep_model
        # Asset names are in every page (hashed stylesheet links): a new name re-renders all.
        # So does a site path that leads nowhere, or somewhere again (rare: only when fixed).
        # So do the images' copies (images.py): a copy made or lost changes the pages.
        base = config_digest(inputs.config) + assets.digest + self._site_paths.digest
        base += self._images.digest
        set_missing_paths(env, self._site_paths.missing)
        set_images(env, self._images)
        index: dict[str, list[str]] | None = {} if remember and affected is None else None
        if index is not None:
            state.outputs_of = None  # replaced by this build's: no need to hold both
        trusted = output_checked or self._manifest is not None
        todo: list[tuple[PageSpec, str]] = []
        for spec in specs:
            rel = output_path(spec.url)
            unaffected = affected is not None and rel not in affected and rel in state.pages
            if unaffected and writer.keep(rel, check=not trusted):
                new_state.pages[rel] = state.pages[rel]
                continue
            todo.append((spec, rel))
        # Pages of neighbouring dates show the same stories: run in one worker, they make
        # each story's card and feed entries once there rather than once in every worker.
        todo.sort(key=_newest_first)
        for names in dict.fromkeys(spec.templates for spec, _ in todo if spec.templates):
            _precompile(env, names)  # once here, not once per forked worker
            if remember:
                digests.for_names(names)  # likewise; and what it looked up is saved
        # The workers fingerprint the pages too, each with its own memo of the objects
        # it has seen (they stay alive: the model outlives the loop). A memo lasts one
        # chunk: neighbouring pages share their stories, and a worker that kept every
        # object's digest grew by 50 MiB at 100,000 records, for no time saved.
        memo: dict[int, Any] = {}
        shown: dict[int, tuple[str, ...]] = {}

        def page(chunk: Sequence[tuple[PageSpec, str]]) -> list[_PageResult]:
            memo.clear()
            shown.clear()
            out: list[_PageResult] = []
            for spec, rel in chunk:
                paths = records_in(spec.context, shown) if index is not None else ()
                fp = (
                    page_fingerprint(spec.url, spec.templates, spec.context, base, digests, memo)
                    if remember
                    else None
                )
                if fp is not None and state.pages.get(rel) == fp and writer.still_there(rel):
                    out.append((rel, None, False, fp, paths))  # unchanged and still there
                else:
                    data = render_output(env, spec, inputs.config)
                    out.append((rel, *writer.stage(rel, data), fp, paths))
            return out

        progress = _Progress(len(todo)) if self.options.progress and len(todo) > 500 else None
        rendered = 0
        for rel, digest, staged, fp, paths in run_chunks(
            page,
            todo,
            self._jobs(),
            min_per_job=RENDER_MIN_PER_JOB,
            arrived=progress.step if progress else None,
        ):
            kill_point("render")
            if digest is None:
                writer.register(rel, (writer.previous or {})[rel], False)  # carried over
            else:
                writer.register(rel, digest, staged)
                report.written += staged
                rendered += 1
            if fp is not None:
                new_state.pages[rel] = fp
            if index is not None:
                for path in paths:
                    index.setdefault(path, []).append(rel)
        memo.clear()
        shown.clear()
        if progress:
            progress.done()
        clear_memos()  # let go of this build's stories
        new_state.outputs_of = index if index is not None else state.outputs_of
        new_state.template_references = {**state.template_references, **digests.references}
        report.rendered = rendered
        report.pages = sum(1 for s in specs if is_web_page(output_path(s.url)))
        report.files = len(specs)

    def _assets(
        self,
        assets: Assets,
        state: BuildState,
        new_state: BuildState,
        writer: OutputWriter,
        report: BuildReport,
    ) -> None:
        """Copy theme assets and the site's static/; unchanged ones by stamp are not even read."""
        for rel, source in sorted(assets.files.items()):
            source_stamp = stamp(source)
            new_state.assets[rel] = source_stamp
            report.files += 1
            if state.assets.get(rel) == source_stamp and writer.keep(rel):
                continue
            report.written += writer.write(rel, source.read_bytes())

    def _report_files(self, report: BuildReport, files: dict[str, ParsedFile]) -> None:
        report.records_read = len(files)
        for parsed in files.values():
            report.diagnostics.extend(parsed.diagnostics)
            if parsed.record is None or parsed.held:
                report.skipped += 1
            if parsed.record is None:
                continue
            if not parsed.record.published and not self.options.drafts:
                report.drafts.append(parsed.record.path)

    def _jobs(self) -> int:
        return self.options.jobs or default_jobs()


_PageResult = tuple[str, str | None, bool, str | None, tuple[str, ...]]
"""A page as a worker left it: output path, digest of what it staged (None: the file
is unchanged and stays), whether it staged it, fingerprint, records it shows."""


def _strict_stop(report: BuildReport, started: float) -> BuildReport:
    """The report of a `--strict` build that found a problem: failed before a byte is
    written, the previous output left as it was."""
    report.failed = True
    report.seconds = time.perf_counter() - started
    return report


def _newest_first(entry: tuple[PageSpec, str]) -> float:
    """The date of the newest story a page shows, negated. A page of a list shows its own
    stories: page 40 of a topic shares its lastmod (the topic's newest) with page 1, but
    its cards with the edition and month pages of its own dates."""
    spec = entry[0]
    pager = spec.context.get("pager")
    if pager is not None and pager.items:
        return -max(a.date for a in pager.items).timestamp()
    return -spec.lastmod.timestamp() if spec.lastmod is not None else math.inf


def _parse_file(path: Path, rel: str, stamp: Stamp, config: SiteConfig) -> ParsedFile:
    return ParsedFile(stamp, *read_record(path, rel, config))


def _stamp_or_none(path: Path) -> Stamp | None:
    try:
        return stamp(path)
    except OSError:
        return None


def _content_rel(path: Path, content_dir: Path) -> str | None:
    """`path` relative to the content folder if it is a record file there, else None."""
    try:
        rel = path.resolve().relative_to(content_dir.resolve())
    except (ValueError, OSError):
        return None
    parts = rel.parts
    if not parts or any(p.startswith(".") for p in parts) or not rel.name.endswith(RECORD_SUFFIXES):
        return None
    return rel.as_posix()


def _precompile(env: jinja2.Environment, names: tuple[str, ...]) -> None:
    with contextlib.suppress(jinja2.TemplateError):  # render_page reports it, with file and line
        env.select_template(list(names))


def _read_stored(
    inputs: Inputs,
    state: BuildState,
    store: ModelStore,
    changed: list[str],
    stamps: dict[str, Stamp],
) -> tuple[dict[str, ParsedFile], dict[str, Article], set[str], list[PageSpec]] | None:
    """The changed records, their patched articles, the outputs showing them and the
    plan with those outputs' specs read from `store` (stubs for the rest); None if a
    change does not keep its story's shape."""
    assert state.outputs_of is not None
    parsed: dict[str, ParsedFile] = {}
    patched: dict[str, Article] = {}
    for rel in changed:
        old = store.article(rel)
        if old is None:
            return None  # a draft, or a duplicate merged into another: not a page of its own
        new = _parse_file(inputs.content_dir / rel, rel, stamps[rel], inputs.config)
        if new.record is None or not keeps_place(old.record, new.record, store.merged):
            return None
        parsed[rel] = new
        patched[rel] = patched_article(old, new.record, store.by_identity)
    store.patched.update(patched)
    affected = _outputs_showing(state.outputs_of, changed)
    # Outputs without a fingerprint are rendered every time, as a full build would.
    specs = [
        store.spec(rel) if rel in affected or rel not in state.pages
        else PageSpec(url, (), {})
        for rel, url in store.outputs
    ]  # fmt: skip
    return parsed, patched, affected, specs


def _digest_others(inputs: Inputs) -> str:
    """Stamps of everything a build reads but the records: theme, templates, static, data
    and config."""
    others: list[tuple[str, Stamp]] = []
    folders = [
        theme_dir(),
        inputs.site_dir / "templates",
        inputs.site_dir / "static",
        inputs.site_dir / "data",
    ]
    for folder in folders:
        if folder.is_dir():
            others.extend((str(p), stamp(p)) for p in sorted(folder.rglob("*")) if p.is_file())
    config = inputs.site_dir / CONFIG_FILE
    if config.is_file():
        others.append((str(config), stamp(config)))
    return digest_of(others)


def _outputs_showing(index: dict[str, list[str]], paths: Iterable[str]) -> set[str]:
    """The outputs that show any of these records, by the record-to-output index."""
    return set().union(*(index.get(path, ()) for path in paths))


def _affected(
    state: BuildState,
    before: dict[str, ParsedFile],
    files: dict[str, ParsedFile],
    changed: Collection[str],
    site: Site,
    others: str,
) -> set[str] | None:
    """The outputs that can show what changed, if only records changed and kept their shape.

    Then every other output has the context it had, and keeps its fingerprint without it
    being computed again (the index comes from the last build). None when anything else
    changed, or a record appeared, vanished, broke or moved (site.same_shape).
    """
    index = state.outputs_of
    if index is None or not state.pages or state.others != others or files.keys() != before.keys():
        return None
    merged = {path for article in site.articles for path in article.merged}
    for rel in changed:
        parsed, old = files[rel], before[rel]
        if (
            parsed.record is None
            or old.record is None
            or parsed.held
            or old.held
            or not keeps_place(old.record, parsed.record, merged)
        ):
            return None
    return _outputs_showing(index, changed)


def _outputs_intact(writer: OutputWriter) -> bool:
    previous = writer.previous or {}
    return bool(previous) and all(writer.still_there(rel) for rel in previous)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


class _Progress:
    """A one-line progress counter for terminals."""

    def __init__(self, total: int) -> None:
        self.total, self.count, self.shown = total, 0, -1

    def step(self, pages: int) -> None:
        self.count += pages
        percent = self.count * 100 // self.total
        if percent != self.shown:
            self.shown = percent
            sys.stderr.write(f"\rRendering {self.count}/{self.total} pages ({percent}%)")
            sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
