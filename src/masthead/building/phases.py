"""The phases of a build before rendering: scan, load, model and plan.

Each takes the build's context (`Run`) and what the phases before it returned, and
returns a typed value for the next; what changed (changes.py) decides how much each
does. Rendering, indexing, writing and remembering are in render_phases.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import jinja2

from masthead import __version__
from masthead.building.changes import (
    Changes,
    Everything,
    InPlace,
    Origin,
    Stored,
    digest_others,
    narrow,
    parse_file,
)
from masthead.building.context import BuildOptions, Inputs, Memory, Run, Scan
from masthead.building.fingerprint import config_digest, parsing_digest, substitute
from masthead.building.state import (
    BuildState,
    ParsedFile,
    load_files,
    load_state,
    template_cache,
)
from masthead.diagnostics import Diagnostic, fails_strict, rebased
from masthead.hashing import digest_of
from masthead.model.site import Article, Site, build_site, patch_site
from masthead.model.sitepaths import SitePaths, check_site_paths
from masthead.outputs.assets import Assets, collect_assets
from masthead.outputs.plan import PageSpec, plan_pages
from masthead.outputs.render import make_env, theme_dir
from masthead.outputs.writer import OutputWriter
from masthead.parallel import beside, default_jobs, run_chunks
from masthead.records.data import SiteData, load_data
from masthead.records.loader import READING, Stamp, scan_records
from masthead.urls import output_path

PARSE_MIN_PER_JOB = 400
"""Below this many records per worker process, one process parses faster than a pool."""


# scan -----------------------------------------------------------------------------


def scan(options: BuildOptions, memory: Memory, inputs: Inputs) -> Scan:
    """Find the cache state made for these inputs and stamp every input file."""
    key = cache_key(options, inputs)
    # A look at every input file, in a forked process while this one reads the cache's
    # state and the output's manifest.
    stamped = beside(partial(_stamped, options, inputs), again=True)
    try:
        state = _load_state(options, memory, inputs, key)
        writer = OutputWriter(inputs.output_dir, created_root=memory.created_output)
    finally:
        stamps, others, memory.ignored = stamped()
    # What the next build compares to find nothing changed: no use to a first build that
    # keeps no state (without the cache, and not the preview's).
    keeps_state = options.use_cache or options.keep_model or memory.state is not None
    digest = inputs_digest(stamps, others) if keeps_state else ""
    if not _output_matches(memory, state, writer):
        state.pages, state.assets, state.inputs = {}, {}, ""
    return Scan(inputs, key, state, writer, stamps, others, digest)


def stamp_inputs(
    options: BuildOptions, inputs: Inputs, ignored: list[str]
) -> tuple[dict[str, Stamp], str]:
    """Every record's stamp, and a digest of the other inputs' (`ignored`: the files
    under content/ that are not records, said once)."""
    stamps = scan_records(inputs.content_dir, ignored)
    return stamps, digest_others(inputs, settings_digest(options, inputs))


def _stamped(options: BuildOptions, inputs: Inputs) -> tuple[dict[str, Stamp], str, list[str]]:
    """stamp_inputs and the files it set aside, as one value a forked process sends back."""
    ignored: list[str] = []
    return (*stamp_inputs(options, inputs, ignored), ignored)


def inputs_digest(stamps: dict[str, Stamp], others: str) -> str:
    """What a build keeps to find, next time, that no input changed."""
    return digest_of(sorted(stamps.items()), others)


def cache_key(options: BuildOptions, inputs: Inputs) -> str:
    """What invalidates the whole cache: masthead, what of the config parsing depends on,
    how drafts are read, the folders. Not the rest of the config, nor the mode: `serve`
    and `build`, or another --base-url, share the parsed records (settings_digest tells
    them apart)."""
    parts = (
        __version__,
        READING,
        parsing_digest(inputs.config),
        options.drafts,
        skims_drafts(options),  # records.bin holds drafts as read
        str(inputs.content_dir.resolve()),
        str(inputs.output_dir.resolve()),
    )
    return digest_of(*parts)


def skims_drafts(options: BuildOptions) -> bool:
    """Whether drafts are read no further than their `published: false` (loader.says_draft):
    by a build that leaves them out, unless --strict, which fails on a broken draft exactly
    as `check` does."""
    return not options.drafts and not options.strict


def settings_digest(options: BuildOptions, inputs: Inputs) -> str:
    """What every page depends on but the files: the config (with --base-url and search
    as resolved) and how asset files are named. Part of `others`: when it changes, no
    fast path is taken (changes.py), and every page's fingerprint changes with it."""
    return digest_of(config_digest(inputs.config), options.hash_assets)


def _load_state(options: BuildOptions, memory: Memory, inputs: Inputs, key: str) -> BuildState:
    if memory.state is not None and memory.state.key == key:
        return memory.state
    if not options.use_cache:
        return BuildState(key, files={})
    return load_state(inputs.cache_dir, key)


def _output_matches(memory: Memory, state: BuildState, writer: OutputWriter) -> bool:
    """Does the output folder hold what `state`'s page fingerprints describe?"""
    if state is memory.state and memory.manifest is not None:
        return writer.previous == memory.manifest[1]
    return state.output == OutputWriter.digest_of(writer.previous)


# load -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loaded:
    """The content files as this build sees them."""

    files: dict[str, ParsedFile] | None
    """Every record file, parsed (None: only the edited ones were read, from the store)."""
    before: dict[str, ParsedFile]
    """The files as the last build left them (empty when it kept none in memory)."""
    changed: frozenset[str]


def load(run: Run, changes: Changes) -> Loaded:
    """Parse what changed; take the rest from the last build (memory or cache)."""
    state = run.state
    if isinstance(changes, InPlace) and changes.origin is Origin.STORE:
        _report_stored(run, changes)
        return Loaded(None, {}, frozenset(changes.edited))
    if isinstance(changes, InPlace):  # the preview's model in memory
        assert state.files is not None
        files = {**state.files, **changes.edited}
        _report_files(run, files)
        run.report.parsed = len(changes.edited)
        return Loaded(files, state.files, frozenset(changes.edited))
    assert run.scan.stamps is not None
    files = _parse_all(run, run.scan.stamps)
    before = state.files or {}
    _report_files(run, files)
    changed = frozenset(rel for rel, f in files.items() if before.get(rel) is not f)
    run.report.parsed = len(changed)
    return Loaded(files, before, changed)


def _parse_all(run: Run, stamps: dict[str, Stamp]) -> dict[str, ParsedFile]:
    """Parsed files by path: unchanged ones from the cache, the rest parsed (in parallel)."""
    inputs, state, options = run.inputs, run.state, run.options
    if state.files is None:
        run.memory.saved = load_files(inputs.cache_dir, state.key)
        state.files = run.memory.saved.files
    files: dict[str, ParsedFile] = {}
    todo: list[tuple[str, Stamp]] = []
    for rel, current in stamps.items():
        cached = state.files.get(rel)
        if cached is not None and cached.stamp == current and not cached.held:
            files[rel] = cached
        else:
            todo.append((rel, current))
    config, root = inputs.config, inputs.content_dir

    skim = skims_drafts(options)

    def parse(chunk: Sequence[tuple[str, Stamp]]) -> list[tuple[str, ParsedFile]]:
        return [(rel, parse_file(root / rel, rel, stamp, config, skim)) for rel, stamp in chunk]

    for rel, parsed in run_chunks(
        parse,
        todo,
        options.jobs or default_jobs(),
        min_per_job=PARSE_MIN_PER_JOB,
        meanwhile=partial(prepare, run),
    ):
        last = state.files.get(rel)
        broken = parsed.record is None and not parsed.draft
        if broken and options.hold_last_good and last and last.record:
            # Mid-edit breakage in the preview: keep the page as it was, show the error.
            parsed = ParsedFile(parsed.stamp, last.record, parsed.diagnostics, held=True)
        files[rel] = parsed
    return files


def _report_files(run: Run, files: dict[str, ParsedFile]) -> None:
    report = run.report
    report.records_read = len(files)
    for rel, parsed in files.items():
        report.diagnostics.extend(parsed.diagnostics)
        if parsed.draft:
            report.drafts.append(rel)
            continue
        if parsed.record is None or parsed.held:
            report.skipped += 1
        if parsed.record is None:
            continue
        if not parsed.record.published and not run.options.drafts:
            report.drafts.append(parsed.record.path)


def _report_stored(run: Run, changes: InPlace) -> None:
    """The counts and diagnostics of the last build, the edited files' as they are now."""
    state, report, stamps = run.state, run.report, run.scan.stamps
    assert stamps is not None
    report.records_read, report.skipped, report.merged = state.counts
    report.drafts = list(state.drafts)
    report.parsed = len(changes.edited)
    # The files' own diagnostics, in file order, the changed files' as they are now.
    model = len(state.model_diagnostics)
    by_file: dict[str, list[Diagnostic]] = {}
    for diagnostic in state.diagnostics[: len(state.diagnostics) - model]:
        by_file.setdefault(diagnostic.path, []).append(diagnostic)
    by_file.update((rel, list(p.diagnostics)) for rel, p in changes.edited.items())
    report.diagnostics.extend(d for rel in stamps for d in by_file.get(rel, ()))


def prepare(run: Run) -> None:
    """Collect the assets, make the template environment and compile every template,
    while workers parse the records: rendering needs them, and they need no record.

    Anything that fails here is left for rendering to meet again, where it is
    reported as it always was: a template no page uses may even fail unnoticed.
    """
    try:
        assets = collect_theme_assets(run.options, run.inputs)
        env = make_environment(run.options, run.inputs, assets)
        for name in env.list_templates(extensions=("html", "xml")):
            with contextlib.suppress(Exception):
                env.get_template(name)
    except Exception:
        return
    run.memory.prepared = (assets, env)


def collect_theme_assets(options: BuildOptions, inputs: Inputs) -> Assets:
    return collect_assets(
        theme_dir() / "assets", inputs.site_dir / "static", hash_names=options.hash_assets
    )


def make_environment(options: BuildOptions, inputs: Inputs, assets: Assets) -> jinja2.Environment:
    """The templates, compiled ones kept in the cache folder of this config.

    Jinja computes a filter of a constant when it compiles (`{{ '/' | url }}` becomes
    the site's path then), and names compiled code by the template's source only: code
    compiled for another base_url must not be loaded, so each config has its own folder.
    """
    cache = (
        template_cache(inputs.cache_dir, config_digest(inputs.config))
        if options.use_cache
        else None
    )
    return make_env(inputs.config, inputs.site_dir / "templates", cache, assets.urls)


# model ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Model:
    """The site as this build models it."""

    site: Site | None
    """None when the stored model stands for it (only `patched` was read)."""
    patched: dict[str, Article] | None
    """The articles that changed in place (None: `site` is modelled afresh)."""
    changes: Changes
    """What changed, narrowed once the whole site is modelled (changes.narrow)."""


def model(run: Run, loaded: Loaded, changes: Changes, stored: Stored | None) -> Model | None:
    """Model the site (None: a `--strict` build stops at a data file's problem)."""
    memory = run.memory
    if stored is not None:  # the stored model stands for the site
        memory.model_diagnostics = run.state.model_diagnostics
        memory.site_paths = SitePaths(run.state.missing_paths)
        return Model(None, stored.patched, changes)
    assert loaded.files is not None
    if isinstance(changes, InPlace):  # the preview's model in memory, patched
        assert memory.site is not None
        site = patch_site(memory.site, [p.record for p in changes.edited.values() if p.record])
        assert site is not None, "changes.from_watcher checked every record keeps its place"
        return Model(site, _articles_of(site, changes.edited), changes)
    site, data_diagnostics = _model_afresh(run, loaded.files)
    if run.options.strict and fails_strict(data_diagnostics):  # a data file was skipped
        run.report.diagnostics.extend(memory.model_diagnostics)
        return None
    return Model(site, None, changes)


def _articles_of(site: Site, paths: Any) -> dict[str, Article]:
    return {a.record.path: a for a in site.articles if a.record.path in paths}


def _model_afresh(run: Run, files: dict[str, ParsedFile]) -> tuple[Site, tuple[Diagnostic, ...]]:
    """The site built from every record and data/; and data/'s problems."""
    inputs, options, memory = run.inputs, run.options, run.memory
    data = load_data(inputs.site_dir)
    site = build_site(
        [f.record for _, f in sorted(files.items()) if f.record],
        inputs.config,
        options.drafts,
        data,
        digests=options.use_cache or options.keep_model,
    )
    data_diagnostics = rebased(data.diagnostics, inputs.site_dir)
    memory.model_diagnostics = (*data_diagnostics, *site.diagnostics)
    memory.data = data
    return site, data_diagnostics


def narrowed(run: Run, loaded: Loaded, model: Model) -> Model:
    """The model with what changed narrowed to the records edited in place, if so."""
    if model.patched is not None or model.site is None or loaded.files is None:
        return model
    changes = narrow(run.scan, loaded.before, loaded.files, loaded.changed, model.site)
    if not isinstance(changes, InPlace):
        return replace(model, changes=Everything())
    return Model(model.site, _articles_of(model.site, loaded.changed), changes)


# plan -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """Every output this build writes, and what it needs to render them."""

    specs: list[PageSpec]
    assets: Assets
    env: jinja2.Environment | None
    """The templates, when made while the records were parsed."""
    affected: frozenset[str] | None
    """The only outputs that can have changed (None: any can)."""
    output_checked: bool = False
    """Every output the last build wrote was found on disk (no need to look again)."""


def plan(run: Run, model: Model, stored: Stored | None) -> Plan | None:
    """Plan the outputs (None: a `--strict` build stops at the model's problems)."""
    memory, changes = run.memory, model.changes
    prepared, memory.prepared = memory.prepared, None
    assets = prepared[0] if prepared else collect_theme_assets(run.options, run.inputs)
    affected = changes.affected if isinstance(changes, InPlace) else None
    if stored is not None:
        specs = stored.specs
    elif affected is not None and changes.origin is Origin.MEMORY:  # type: ignore[union-attr]
        assert model.site is not None and memory.site is not None
        specs = _respec(memory, memory.site, model.site, affected)
    else:
        assert model.site is not None
        with run.timed("model"):
            specs = list(plan_pages(model.site, run.options.jobs or default_jobs()))
            _check_site_paths(run, model.site, specs, assets)
    run.report.diagnostics.extend(memory.model_diagnostics)
    if run.options.strict and any(d.strict for d in memory.model_diagnostics):
        return None
    env = prepared[1] if prepared else None
    return Plan(specs, assets, env, affected, output_checked=stored is not None)


def _respec(memory: Memory, old: Site, new: Site, affected: frozenset[str]) -> list[PageSpec]:
    """The last plan with the patched articles put into the affected outputs' contexts.

    The site kept its shape, so planning it again would give the same outputs with the
    same contexts, but for the replaced articles (and the lists holding them).
    """
    assert memory.specs is not None
    fresh = {a.record.path: a for a in new.articles}
    swap = {id(a): fresh[a.record.path] for a in old.articles if fresh[a.record.path] is not a}
    memo: dict[int, Any] = {}
    return [
        replace(spec, context=substitute(spec.context, swap, memo))
        if output_path(spec.url) in affected
        else spec
        for spec in memory.specs
    ]


def _check_site_paths(run: Run, site: Site, specs: list[PageSpec], assets: Assets) -> None:
    """Find the site paths of records and data/ that lead nowhere, for a fresh plan;
    their warnings join the model's (kept in the state for the fast paths)."""
    memory = run.memory
    found = find_site_paths(run.inputs, site, memory.data or SiteData(), specs, assets)
    memory.site_paths = found
    memory.model_diagnostics = (*memory.model_diagnostics, *found.diagnostics)


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
