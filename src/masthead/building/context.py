"""What one build is given, what it reports, and the context every phase of it receives.

`BuildOptions` come from the caller, `Inputs` are the folders and config they resolve
to, `Memory` is what a Builder keeps from one build to the next, and `Run` is one build:
the phases (pipeline.py) take it and the values the phases before them returned.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from masthead.building.state import CACHE_DIR, BuildState, Files
from masthead.config import CONFIG_FILE, SiteConfig, load_config
from masthead.diagnostics import ConfigError, Diagnostic, one_line_a_file, plural, shown_path
from masthead.model.sitepaths import SitePaths
from masthead.outputs.images import ImageMap
from masthead.outputs.search import resolve_search
from masthead.outputs.writer import OutputWriter, check_cache_folder, check_folders
from masthead.records.loader import RECORD_SUFFIXES, Stamp

if TYPE_CHECKING:
    import jinja2

    from masthead.building.fingerprint import TemplateDigests
    from masthead.model.site import Site
    from masthead.outputs.assets import Assets
    from masthead.outputs.plan import PageSpec
    from masthead.records.data import SiteData


class Mode(Enum):
    """What a Builder is for: one value where the preview once set four flags."""

    BUILD = "build"
    """`masthead build` and `publish`: content-hashed asset names, the cache saved after
    every build."""
    WATCH = "watch"
    """The output of BUILD, from a Builder that lives on and is told which files changed
    (a program embedding masthead): the site model is kept in memory, for edits that
    keep every story's place to patch it."""
    PREVIEW = "preview"
    """`masthead serve`: WATCH, with plain asset names (a CSS edit rewrites one file,
    which the browser swaps in without a reload), a broken record shown at its last
    good version, the search index left to the preview's background indexer, and the
    cache saved when the preview stops (save_cache), so that neither Pagefind nor
    saving 100,000 records ever delays a reload."""


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
    mode: Mode = Mode.BUILD
    """How the output is made and the Builder kept between builds (see Mode)."""
    search: bool = True
    """Build the Pagefind search index (when site.toml's `search` is on too)."""

    @property
    def hash_assets(self) -> bool:
        """Content-hashed stylesheet and script names."""
        return self.mode is not Mode.PREVIEW

    @property
    def keep_model(self) -> bool:
        """Always build the site model, even when nothing changed, so that the next build
        can patch it (the fast path for the watcher's edits)."""
        return self.mode is not Mode.BUILD

    @property
    def hold_last_good(self) -> bool:
        """Keep showing a record's last good version while its file has errors."""
        return self.mode is Mode.PREVIEW

    @property
    def defer_search(self) -> bool:
        """Carry the last search index over instead of running Pagefind: serve_search
        indexes again in the background, so a reload never waits for it."""
        return self.mode is Mode.PREVIEW

    @property
    def defer_cache_save(self) -> bool:
        """Leave writing the cache to an explicit save_cache() call."""
        return self.mode is Mode.PREVIEW


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

    @property
    def files_root(self) -> Path:
        """The folder the report's file paths are relative to, for naming them."""
        return self.content_dir or Path(".")

    def problem_lines(self) -> Iterator[str]:
        """What `build` and the preview's terminal say of the inputs (one_line_a_file)."""
        return one_line_a_file(self.diagnostics, self.files_root)

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
                f"Drafts left out (published: false; --drafts builds them): {a_few(self.drafts, self.files_root)}"
            )
        if self.ignored:
            lines.append(not_read(self.ignored, self.files_root))
        return "\n".join(lines)


def a_few(paths: Sequence[str], root: Path, shown: int = 3) -> str:
    """A few of `paths` (relative to `root`) as the working folder sees them, then a count."""
    names = ", ".join(shown_path(root / rel) for rel in paths[:shown])
    return names + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def not_read(ignored: Sequence[str], root: Path) -> str:
    """The line `build` and `check` give the files under content/ that are not records."""
    suffixes = " or ".join(RECORD_SUFFIXES)
    return (
        f"Not read: {plural(len(ignored), 'file')} in the content folder without "
        f"a record's extension ({suffixes}): {a_few(ignored, root)}"
    )


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
        raise ConfigError(_no_content(options, site_dir, content_dir))
    check_folders(site_dir, content_dir, output_dir)
    cache_dir = (options.cache_dir or site_dir / CACHE_DIR).absolute()
    check_cache_folder(site_dir, content_dir, output_dir, cache_dir)
    return Inputs(site_dir, content_dir, output_dir, cache_dir, config)


def _no_content(options: BuildOptions, site_dir: Path, content_dir: Path) -> str:
    """What to say of a content folder that is not there, by where its name came from:
    no site.toml either most likely means the command ran in the wrong folder."""
    if options.content_dir is not None:
        why = "given by --content"
    elif (site_dir / CONFIG_FILE).is_file():
        why = f"records go there; content_dir in {CONFIG_FILE} names another folder"
    else:
        where = "here" if shown_path(site_dir) == "." else f"in {shown_path(site_dir)}"
        why = f"and no {CONFIG_FILE} {where}: is this a site? `masthead init DIR` makes one"
    return f"no content folder: {shown_path(content_dir)} does not exist ({why})"


@dataclass(slots=True)
class Memory:
    """What a Builder keeps from one build to the next, in this process: the preview's
    in-memory model, and what saves the next build from reading it all again."""

    state: BuildState | None = None
    """The cache state the last build left (what it read and wrote)."""
    inputs: Inputs | None = None
    """Folders and config of the latest build, for callers such as the preview."""
    saved: Files | None = None
    """The parsed records as the cache folder holds them, once read or written."""
    site: Site | None = None
    env: tuple[jinja2.Environment, TemplateDigests] | None = None
    specs: list[PageSpec] | None = None
    manifest: tuple[Stamp | None, dict[str, str]] | None = None
    """The manifest as this Builder last committed it, with the file's stamp then."""
    model_diagnostics: tuple[Diagnostic, ...] = ()
    model_pending: tuple[Site, list[PageSpec]] | None = None
    """A full plan not yet written to model.bin (save_cache writes it)."""
    ignored: list[str] = field(default_factory=list)
    """Files under the content folder that are not records, as the last scan found."""
    prepared: tuple[Assets, jinja2.Environment] | None = None
    """The assets and templates of this build, when made while its records were parsed."""
    created_output: bool = False
    images: ImageMap = field(default_factory=ImageMap)
    """This build's resized images (images.py), for its templates and its output."""
    data: SiteData | None = None
    """data/ as the site model was last built from it, for the site path check."""
    site_paths: SitePaths = field(default_factory=SitePaths)
    """Site paths of records and data/ that lead nowhere (sitepaths.py), as of the
    last full plan: the fast paths keep what it found (site.same_shape)."""

    def forget(self) -> None:
        """After a failed build: the output may not match any state we know of."""
        self.state = self.site = self.env = self.specs = None
        self.manifest = self.model_pending = None


@dataclass(frozen=True, slots=True)
class Scan:
    """What a build found before reading any record: where, the cache state made for
    it, and (unless the preview's watcher said what changed) every input's stamp."""

    inputs: Inputs
    key: str
    state: BuildState
    """The last build's state, the one this build starts from."""
    writer: OutputWriter
    stamps: dict[str, Stamp] | None = None
    """Record path -> stamp; None when not looked at."""
    others: str = ""
    """Digest of the stamps of every input but the records ("" when not looked at)."""
    digest: str = ""
    """Digest of every input's stamp ("" when not looked at, or of no use: see scan)."""


@dataclass(slots=True, eq=False)
class Run:
    """One build: its options and memory, what the scan found, and its report."""

    options: BuildOptions
    memory: Memory
    scan: Scan
    report: BuildReport
    started: float

    @property
    def inputs(self) -> Inputs:
        return self.scan.inputs

    @property
    def state(self) -> BuildState:
        return self.scan.state

    @property
    def writer(self) -> OutputWriter:
        return self.scan.writer

    def timed(self, phase: str) -> AbstractContextManager[None]:
        """Add the time the block takes to the phase's in the report (--profile)."""
        return timed(self.report.timings, phase)

    def stop(self) -> BuildReport:
        """The report of a `--strict` build that found a problem: failed before a byte is
        written, the previous output left as it was."""
        self.report.failed = True
        self.report.seconds = time.perf_counter() - self.started
        return self.report


@contextmanager
def timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = timings.get(phase, 0.0) + time.perf_counter() - start
