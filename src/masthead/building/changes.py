"""What changed since the last build: one value, which the phases of a build follow.

`Nothing` changed; `InPlace`: these records changed and each kept its place (same
story, same page, same lists, site.keeps_place), so only the outputs showing them can
change; or `Everything` else. The fast paths of a build are ways of finding an `InPlace`
change: from the preview watcher's paths and the model in memory (`from_watcher`),
from the files' stamps and the model stored in the cache (`from_store`), or, once every
record is loaded and modelled, from the records parsed again (`narrow`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import partial
from pathlib import Path

from masthead.building.context import BuildOptions, Inputs, Memory, Scan
from masthead.building.modelstore import MODEL, ModelStore
from masthead.building.state import ParsedFile
from masthead.config import CONFIG_FILE, SiteConfig
from masthead.diagnostics import fails_strict, shown_path
from masthead.hashing import digest_of
from masthead.model.site import Article, Site, keeps_place, patched_article
from masthead.outputs.plan import PageSpec
from masthead.outputs.render import theme_dir
from masthead.outputs.search import BUNDLE, find_pagefind
from masthead.outputs.writer import MANIFEST, OutputWriter
from masthead.parallel import beside
from masthead.records.loader import RECORD_SUFFIXES, Stamp, read_record, stamp

log = logging.getLogger(__name__)

PATCH_MAX = 64
"""Records changed at once beyond which a build does not try the stored model."""


class Origin(Enum):
    """Where the rest of the site comes from when only some records changed in place."""

    MEMORY = "memory"
    """The preview's site model and plan, kept in memory since its last build."""
    STORE = "store"
    """The last full plan, stored in the cache's model.bin (modelstore)."""
    FILES = "files"
    """Every record, loaded and modelled again (the cache saved their parsing)."""


@dataclass(frozen=True, slots=True)
class Nothing:
    """No input changed since the last build, by the stamps of every input file."""


@dataclass(frozen=True, slots=True)
class InPlace:
    """These records changed, and each kept its place."""

    edited: Mapping[str, ParsedFile]
    """The changed records' files, parsed as they are now."""
    affected: frozenset[str] | None
    """The outputs showing them (by the record-to-output index; None without one)."""
    origin: Origin


@dataclass(frozen=True, slots=True)
class Everything:
    """Anything else: every page is planned afresh and its fingerprint computed again."""


Changes = Nothing | InPlace | Everything


def parse_file(
    path: Path, rel: str, stamp: Stamp, config: SiteConfig, skim_drafts: bool = False
) -> ParsedFile:
    read = read_record(path, rel, config, skim_drafts)
    return ParsedFile(stamp, read.record, read.diagnostics, draft=read.draft)


def from_watcher(memory: Memory, paths: Collection[Path]) -> InPlace | None:
    """The preview's edits, if every path is a known record that still parses and keeps
    its place in the model in memory; None for anything else (a full build follows)."""
    inputs, state, site = memory.inputs, memory.state, memory.site
    if inputs is None or state is None or state.files is None or site is None:
        return None
    by_path = {a.record.path: a for a in site.articles}
    merged = {path for a in site.articles for path in a.merged}
    edited: dict[str, ParsedFile] = {}
    for path in paths:
        rel = content_rel(path, inputs.content_dir)
        old = state.files.get(rel) if rel else None
        if rel is None or old is None or old.record is None or old.held:
            return None
        try:
            parsed = parse_file(
                inputs.content_dir / rel, rel, stamp(inputs.content_dir / rel), inputs.config
            )
        except OSError:
            return None
        article = by_path.get(rel)
        if parsed.record is None or article is None:
            return None
        if not keeps_place(article.record, parsed.record, merged):
            return None
        edited[rel] = parsed
    affected = None
    if state.outputs_of is not None and memory.specs is not None:
        affected = frozenset(outputs_showing(state.outputs_of, edited))
    return InPlace(edited, affected, Origin.MEMORY)


def output_unchanged(memory: Memory, inputs: Inputs) -> OutputWriter | None:
    """A writer over the output as this Builder last committed it; None if anything else
    wrote there since."""
    manifest = memory.manifest
    if manifest is None or stamp_or_none(inputs.output_dir / MANIFEST) != manifest[0]:
        return None
    return OutputWriter(inputs.output_dir, previous=dict(manifest[1]))


def nothing_changed(scan: Scan, memory: Memory, options: BuildOptions) -> bool:
    """Every input has the stamp it had at the end of the last build, and its output is
    all there (and the preview, which needs a model, has one)."""
    needs_model = options.keep_model and memory.site is None
    unchanged = bool(scan.digest) and scan.state.inputs == scan.digest
    return unchanged and not needs_model and outputs_intact(scan.writer)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the stored model gives a build after edits in place: the changed records'
    articles and the plan, with the specs of the outputs showing them read from
    model.bin and stubs for the rest."""

    patched: dict[str, Article]
    specs: list[PageSpec]


def from_store(scan: Scan, options: BuildOptions) -> tuple[InPlace, Stored] | None:
    """`masthead build` after edits that keep every story's place, by the stamps and the
    model stored in the cache; None when the stored model cannot tell (a full build
    follows).

    The last full build's plan is in model.bin, page by page: only the changed records,
    the specs of the outputs showing them (the record-to-output index) and the articles
    on those pages are read; no other record, and no site model is built.
    """
    changed = _changed_by_stamps(scan, options)
    if not changed:
        return None
    # The stored plan trusts every output file to be there: a look per file, which a
    # forked process takes while this one reads the store. The search bundle is left to
    # the search step, which runs on this path.
    intact = beside(partial(outputs_intact, scan.writer, BUNDLE), again=True)
    try:
        found = _from_store(scan, changed)
    finally:
        whole = intact()
    return found if whole else None


def _from_store(scan: Scan, changed: list[str]) -> tuple[InPlace, Stored] | None:
    inputs, state = scan.inputs, scan.state
    try:
        store = ModelStore.open(inputs.cache_dir, state.key, state.model, state.patched)
        if store is None:
            return None
        with store:
            return _read_stored(scan, store, changed)
    except Exception as exc:  # damaged, or from another build of masthead: never trusted
        log.warning("%s: %s; building without it", shown_path(inputs.cache_dir / MODEL), exc)
        return None


def _changed_by_stamps(scan: Scan, options: BuildOptions) -> list[str]:
    """The records whose stamp changed, if the stored model may be enough for them."""
    state, stamps = scan.state, scan.stamps
    before = state.stamps
    if (
        options.keep_model  # the preview needs the whole model in memory
        or (options.strict and fails_strict(state.diagnostics))  # it fails the build
        or state.files is not None  # the records are in memory already
        or not state.model
        or before is None
        or stamps is None
        or state.outputs_of is None
        or not state.pages
        or state.others != scan.others
        or before.keys() != stamps.keys()
    ):
        return []
    changed = [rel for rel, current in stamps.items() if before[rel] != current]
    if len(changed) > PATCH_MAX:
        return []
    previous = scan.writer.previous or {}
    if not all(rel in previous for rel in state.pages):
        return []
    return changed


def _read_stored(
    scan: Scan, store: ModelStore, changed: list[str]
) -> tuple[InPlace, Stored] | None:
    """The changed records, their patched articles and the plan, read from `store`;
    None if a change does not keep its story's place."""
    inputs, state, stamps = scan.inputs, scan.state, scan.stamps
    assert state.outputs_of is not None and stamps is not None
    edited: dict[str, ParsedFile] = {}
    patched: dict[str, Article] = {}
    for rel in changed:
        old = store.article(rel)
        if old is None:
            return None  # a draft, or a duplicate merged into another: not a page of its own
        new = parse_file(inputs.content_dir / rel, rel, stamps[rel], inputs.config)
        if new.record is None or not keeps_place(old.record, new.record, store.merged):
            return None
        edited[rel] = new
        patched[rel] = patched_article(old, new.record, store.by_identity)
    store.patched.update(patched)
    affected = outputs_showing(state.outputs_of, changed)
    # Outputs without a fingerprint are rendered every time, as a full build would.
    specs = [
        store.spec(rel) if rel in affected or rel not in state.pages
        else PageSpec(url, (), {})
        for rel, url in store.outputs
    ]  # fmt: skip
    return InPlace(edited, frozenset(affected), Origin.STORE), Stored(patched, specs)


def narrow(
    scan: Scan,
    before: Mapping[str, ParsedFile],
    files: Mapping[str, ParsedFile],
    changed: Collection[str],
    site: Site,
) -> Changes:
    """After a full load and model: InPlace if only records changed and kept their place.

    Then every other output has the context it had, and keeps its fingerprint without it
    being computed again (the index comes from the last build). Everything when anything
    else changed, or a record appeared, vanished, broke or moved (site.same_shape).
    """
    state, index = scan.state, scan.state.outputs_of
    if (
        index is None
        or not state.pages
        or state.others != scan.others
        or files.keys() != before.keys()
    ):
        return Everything()
    merged = {path for article in site.articles for path in article.merged}
    for rel in changed:
        parsed, old = files[rel], before[rel]
        if parsed.draft and old.draft:
            continue  # a draft still: no page shows it
        if (
            parsed.record is None
            or old.record is None
            or parsed.held
            or old.held
            or not keeps_place(old.record, parsed.record, merged)
        ):
            return Everything()
    edited = {rel: files[rel] for rel in changed}
    return InPlace(edited, frozenset(outputs_showing(index, changed)), Origin.FILES)


def digest_others(inputs: Inputs, settings: str) -> str:
    """Stamps of everything a build reads but the records: theme, templates, static, data,
    config and the Pagefind binary (another one makes another index); and the `settings`
    the files do not say (phases.settings_digest)."""
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
    binary = find_pagefind() if inputs.config.search else None
    if binary is not None:
        others.append((str(binary), stamp(binary)))
    return digest_of(others, settings)


def outputs_showing(index: Mapping[str, list[str]], paths: Iterable[str]) -> set[str]:
    """The outputs that show any of these records, by the record-to-output index."""
    return set().union(*(index.get(path, ()) for path in paths))


def outputs_intact(writer: OutputWriter, but: str | None = None) -> bool:
    """Whether every file the last build wrote is still there, but for those under the
    folder `but` (one the build looks at itself: the search step carries a shard over
    only if all its files are there). A look per file: 85 ms at 10,000 records."""
    previous = writer.previous or {}
    skipped = f"{but}/" if but else None
    return bool(previous) and all(
        writer.still_there(rel)
        for rel in previous
        if skipped is None or not rel.startswith(skipped)
    )


def content_rel(path: Path, content_dir: Path) -> str | None:
    """`path` relative to the content folder if it is a record file there, else None."""
    try:
        rel = path.resolve().relative_to(content_dir.resolve())
    except (ValueError, OSError):
        return None
    parts = rel.parts
    if not parts or any(p.startswith(".") for p in parts) or not rel.name.endswith(RECORD_SUFFIXES):
        return None
    return rel.as_posix()


def stamp_or_none(path: Path) -> Stamp | None:
    try:
        return stamp(path)
    except OSError:
        return None
