"""Client-side search with Pagefind: the site's stories are indexed into `/pagefind/`.

Pagefind is a separate binary (PyPI `pagefind[bin]` ships it). Each story goes to it as
the record its page would make (search_records), from the plan rather than the page, in
shards made again only where their stories changed (search_shards). The pages as built
are indexed instead (copied into a temporary folder that Pagefind reads) for a site
whose own article template decides what is indexed, or when the last build's documents
are not at hand. Either way the bundle comes back as ordinary output files, which the
writer stages, swaps and cleans up like any other page. Without the binary the site is
built without search and the build says so; when Pagefind runs and fails, the build
fails (SearchError) and the previous output stays, since every page links to a search
page that would not work.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path

from masthead.config import SiteConfig
from masthead.diagnostics import MastheadError
from masthead.hashing import digest_of
from masthead.killpoint import kill_point
from masthead.outputs.pagefind_bundle import stabilise
from masthead.outputs.pagefind_labels import safe_filters
from masthead.outputs.plan import PageSpec
from masthead.outputs.search_records import search_docs
from masthead.outputs.writer import SEARCH_WORK, OutputWriter, clear_work_folder, make_work_folder
from masthead.urls import output_path

log = logging.getLogger(__name__)

BUNDLE = "pagefind"
"""Output folder of the search bundle; the search page loads its scripts from there."""
MARKER = b"data-pagefind-body"
"""Only pages that mark their indexable part (the article pages) go into the index."""
TIMEOUT = 600
NOTHING_TO_INDEX = "not able to build an index"
"""What Pagefind 1.x says when no page it was given has anything to index."""
UI_FILES = ("pagefind-ui.js", "pagefind-ui.css")
"""The bundle's files that the search page links to."""
UNUSED_UI = ("pagefind-component-ui.", "pagefind-modular-ui.", "pagefind-highlight.")
"""Pagefind's other interfaces, which no page loads: not shipped (about 280 KB)."""
WORK_DIR = SEARCH_WORK


class SearchError(MastheadError):
    """The search index was wanted and Pagefind could not build it."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(
            f"the search index could not be built: {why}; the output folder was left as it "
            "was (--no-search builds the site without search)"
        )

    def __reduce__(self) -> tuple[type[SearchError], tuple[str]]:
        return SearchError, (self.why,)  # from a forked process, said once


def find_pagefind() -> Path | None:
    """The Pagefind binary: $PAGEFIND_BINARY_PATH, the pagefind_bin package, or the PATH.

    Looked for in the order pagefind.service.get_executable looks, without importing
    that module: it brings asyncio and ssl, which cost every command a fiftieth of a
    second to start, and masthead speaks to the service itself (pagefind_service).
    """
    named = os.environ.get("PAGEFIND_BINARY_PATH")
    found = Path(named) if named is not None else None
    for package in ("pagefind_bin_extended", "pagefind_bin"):
        if found is not None:
            break
        try:
            found = importlib.import_module(package).get_executable()
        except (ImportError, FileNotFoundError):
            continue
    if found is None:
        on_path = shutil.which("pagefind_extended") or shutil.which("pagefind")
        found = Path(on_path) if on_path else None
    return found if found is not None and found.is_file() else None


def resolve_search(config: SiteConfig, wanted: bool = True) -> SiteConfig:
    """The config with `search` off unless it is wanted and Pagefind is there to build it."""
    if not (config.search and wanted):
        return dataclasses.replace(config, search=False)
    if find_pagefind() is None:
        log.warning(
            "search is off: the Pagefind binary was not found "
            "(install it with: pip install 'pagefind[bin]'); building the site without search"
        )
        return dataclasses.replace(config, search=False)
    return config


def search_bundle_urls(config: SiteConfig) -> set[str]:
    """Site paths of the bundle files pages link to, which exist only once Pagefind ran."""
    return {f"/{BUNDLE}/{name}" for name in UI_FILES} if config.search else set()


def update_search_index(
    config: SiteConfig,
    outputs: Iterable[str],
    writer: OutputWriter,
    *,
    specs: Iterable[PageSpec] | None = None,
    missing: frozenset[str] = frozenset(),
    site_dir: Path | None = None,
    cache_dir: Path | None = None,
    defer: bool = False,
    processes: int = 1,
) -> tuple[int, int]:
    """Bring the search bundle in line with this build's pages; return (files, written).

    With `specs` (this build's plan; `missing`: the site paths that lead nowhere,
    `site_dir`: where a site's own templates are): one index per shard of stories,
    made again only for the shards whose documents changed (search_shards). Without:
    one index made from the article pages as built, again whenever any page changed;
    carried over as it is when none did. Call it after the pages are staged or kept,
    before `writer.commit()`. `defer`: carry the last bundle over whatever changed (the
    preview's builds: serve_search indexes the committed pages again in the background,
    through reindex()). `processes`: Pagefind processes that may index side by side.
    """
    binary = find_pagefind() if config.search else None
    if binary is None:
        return 0, 0
    previous = writer.previous or {}
    old_bundle = [rel for rel in previous if rel.startswith(BUNDLE + "/")]
    if defer:
        return sum(writer.keep(rel) for rel in old_bundle), 0
    if specs is not None:
        own = site_dir is not None and own_article_template(site_dir)
        built = partial(_built_page, writer) if own else None
        done = index_planned(binary, config, specs, writer, missing, cache_dir, processes, built)
        if done is not None:
            return done
        log.info("search: the last build's index is not at hand; indexing the pages as built")
    pages = sorted(rel for rel in outputs if rel.endswith(".html"))
    old_pages = [rel for rel in previous if rel.endswith(".html")]
    if (
        old_bundle
        and _pages_key(pages, writer.current) == _pages_key(old_pages, previous)
        and all((writer.root / rel).is_file() for rel in old_bundle)
    ):
        for rel in old_bundle:
            writer.keep(rel)
        return len(old_bundle), 0
    return _index_pages(binary, pages, writer)


def index_planned(
    binary: Path,
    config: SiteConfig,
    specs: Iterable[PageSpec],
    writer: OutputWriter,
    missing: frozenset[str],
    cache_dir: Path | None,
    processes: int,
    built: Callable[[str], str | None] | None = None,
) -> tuple[int, int] | None:
    """The index of the stories in `specs` by Pagefind's `binary`, in shards (search_shards),
    made from the plan (`built`: the page at a URL, for a site's own article template);
    (files, written), or None when only the pages as built can be indexed: the build
    planned only some pages, and the last build's documents are not at hand."""
    from masthead.outputs.search_shards import update_shards

    docs = search_docs(config, specs, missing, built)
    return update_shards(binary, config.language, docs, writer, cache_dir, processes)


def own_article_template(site_dir: Path) -> bool:
    """Whether the site has its own article template, which then decides what its pages
    mark for search: the pages as built are indexed, not the documents made from the model."""
    return (site_dir / "templates" / "article.html").is_file()


def reindex(writer: OutputWriter) -> tuple[int, int]:
    """Make the search bundle afresh from the pages `writer` carries over; return (files,
    written). The preview's background indexer (serve_search) calls it, holding the output
    lock, with every file but the old bundle kept. SearchError when Pagefind fails."""
    binary = find_pagefind()
    if binary is None:
        raise SearchError("the Pagefind binary was not found")
    pages = sorted(rel for rel in writer.current if rel.endswith(".html"))
    return _index_pages(binary, pages, writer)


def _index_pages(binary: Path, pages: Iterable[str], writer: OutputWriter) -> tuple[int, int]:
    indexer = SearchIndexer(binary, writer.root)
    staged = set(writer.staged)
    for rel in pages:
        indexer.add(rel, writer.staging / rel if rel in staged else writer.root / rel)
    files = written = 0
    for rel, data in indexer.files():
        files += 1
        written += writer.write(rel, data)
    return files, written


def _built_page(writer: OutputWriter, url: str) -> str | None:
    """The page at `url` as this build staged or kept it, if it marks an indexable part,
    its filters escaped (pagefind_labels)."""
    rel = output_path(url)
    staged = writer.staging / rel
    try:
        data = (staged if staged.is_file() else writer.root / rel).read_bytes()
    except OSError as exc:
        raise SearchError(f"cannot read {rel}: {exc}") from exc
    if MARKER not in data:
        return None
    page = data.decode("utf-8", "surrogateescape")
    safe = safe_filters(page)
    return (
        (page if safe is None else safe)
        .encode("utf-8", "surrogateescape")
        .decode("utf-8", "replace")
    )


def _pages_key(pages: Iterable[str], digests: Mapping[str, str]) -> str:
    """What the index is made from: every HTML page and the hash of its bytes."""
    return digest_of(sorted((rel, digests.get(rel)) for rel in pages))


class SearchIndexer:
    """Collects the pages to index, then runs Pagefind over them once.

    Its work folder is `<output>/.masthead-search`: on the output's own file system, so
    pages go in as hard links rather than copies, and nothing is written outside the
    output folder. It is made afresh (whatever was planted at its name is removed, not
    followed), removed when the bundle has been read, and removed by the next build's
    writer if a kill left it. A page whose filters need escaping goes in as a
    rewritten copy (pagefind_labels).
    """

    def __init__(self, binary: Path, output: Path) -> None:
        self.binary = binary
        # Absolute: Pagefind runs in the work folder, where a relative path means another place.
        self.root = output.absolute() / WORK_DIR
        make_work_folder(self.root)
        (self.root / "site").mkdir()
        self.pages = 0

    def add(self, rel: str, source: Path) -> None:
        if not rel.endswith(".html"):
            return
        data = source.read_bytes()
        if MARKER not in data:
            return
        path = self.root / "site" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        safe = safe_filters(data.decode("utf-8", "surrogateescape"))
        if safe is not None:
            path.write_bytes(safe.encode("utf-8", "surrogateescape"))
        else:
            try:
                os.link(source, path)
            except OSError:  # a file system without hard links
                shutil.copyfile(source, path)
        self.pages += 1

    def files(self) -> Iterator[tuple[str, bytes]]:
        """The bundle as (output path, bytes) in a stable order; SearchError if Pagefind fails."""
        try:
            if not self.pages:  # Pagefind refuses an empty site; there is nothing to find
                log.warning("no search index: no page has anything to index yet")
                return
            bundle = self._run()
            if bundle is None:
                return
            for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
                if path.parent == bundle and path.name.startswith(UNUSED_UI):
                    continue
                yield f"{BUNDLE}/{path.relative_to(bundle).as_posix()}", path.read_bytes()
        finally:
            clear_work_folder(self.root)

    def _run(self) -> Path | None:
        """The bundle Pagefind made, or None when it found nothing to index."""
        (self.root / "site").mkdir(exist_ok=True)
        bundle = self.root / "bundle"
        command = [str(self.binary.absolute()), "--site", "site", "--output-path", "bundle"]
        try:
            with subprocess.Popen(
                command,
                cwd=self.root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=die_with_parent(),  # no other thread runs meanwhile
            ) as process:
                kill_point("search")
                try:
                    stdout, stderr = process.communicate(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    raise
            done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SearchError(f"Pagefind could not run: {exc}") from exc
        if done.returncode != 0 and NOTHING_TO_INDEX in done.stdout + done.stderr:
            # The marked pages hold nothing Pagefind indexes (a site's own templates).
            log.warning("no search index: Pagefind found nothing to index in the article pages")
            return None
        if done.returncode != 0:
            tail = " ".join((done.stderr or done.stdout).split()[-40:])
            raise SearchError(f"Pagefind failed (exit {done.returncode}): {tail}")
        for name in ("pagefind-entry.json", *UI_FILES):
            if not (bundle / name).is_file():
                raise SearchError(f"Pagefind wrote no {name}")
        stabilise(bundle)
        return bundle


def die_with_parent() -> Callable[[], None] | None:
    """What Pagefind's process runs before it starts, to be killed when the build is.

    A build killed while Pagefind ran would leave it writing into a work folder that
    the next build has made anew. Linux only (prctl PR_SET_PDEATHSIG); elsewhere None.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here: only a build that indexes pays for the import

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return partial(prctl, _PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1
