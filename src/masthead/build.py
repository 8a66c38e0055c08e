"""One build from site folder to output folder; the only module that imports every stage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from masthead.config import SiteConfig, load_config
from masthead.diagnostics import ConfigError, Diagnostic
from masthead.output import OutputWriter
from masthead.plan import plan_pages
from masthead.records import LoadResult, load_records
from masthead.render import make_env, render_page, theme_dir
from masthead.safety import check_folders
from masthead.search import SearchIndexer, find_pagefind, resolve_search
from masthead.site import Site, build_site
from masthead.urls import output_path


@dataclass(frozen=True, slots=True)
class BuildOptions:
    site_dir: Path = Path(".")
    content_dir: Path | None = None
    output_dir: Path | None = None
    drafts: bool = False
    base_url: str | None = None
    strict: bool = False
    search: bool = True
    """Build the Pagefind search index (when site.toml's `search` is on too)."""


@dataclass(slots=True)
class BuildReport:
    output_dir: Path
    records_read: int = 0
    skipped: int = 0
    merged: int = 0
    drafts_left_out: int = 0
    pages: int = 0
    files: int = 0
    written: int = 0
    removed: int = 0
    seconds: float = 0.0
    failed: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def summary(self) -> str:
        state = "Build failed" if self.failed else "Built"
        drafts = f", {self.drafts_left_out} drafts left out" if self.drafts_left_out else ""
        merged = f", {self.merged} duplicates merged" if self.merged else ""
        return (
            f"{state}: read {self.records_read} records ({self.skipped} skipped{merged}{drafts}); "
            f"{self.pages} pages, wrote {self.written} of {self.files} files, removed {self.removed}, "
            f"in {self.seconds:.2f} s -> {self.output_dir}"
        )


@dataclass(frozen=True, slots=True)
class Inputs:
    """Where a build reads and writes, resolved from options and site.toml."""

    site_dir: Path
    content_dir: Path
    output_dir: Path
    config: SiteConfig


def resolve_inputs(options: BuildOptions) -> Inputs:
    site_dir = options.site_dir
    config = load_config(site_dir, {"base_url": options.base_url})
    content_dir = options.content_dir or site_dir / config.content_dir
    output_dir = options.output_dir or site_dir / config.output_dir
    if not content_dir.is_dir():
        raise ConfigError(f"content folder {content_dir} does not exist")
    check_folders(site_dir, content_dir, output_dir)
    return Inputs(site_dir, content_dir, output_dir, config)


def build(options: BuildOptions) -> BuildReport:
    """Load, model, render and write; a failure before commit leaves the old output as it was."""
    started = time.perf_counter()
    inputs = resolve_inputs(options)
    report = BuildReport(inputs.output_dir)
    loaded = load_records(inputs.content_dir, inputs.config)
    _count_records(report, loaded, options.drafts)
    if options.strict and loaded.errors:
        report.failed = True
        report.seconds = time.perf_counter() - started
        return report
    config = resolve_search(inputs.config, options.search)
    site = build_site(loaded.records, config, drafts=options.drafts)
    report.diagnostics.extend(site.diagnostics)
    report.merged = sum(len(a.merged) for a in site.articles)
    writer = OutputWriter(inputs.output_dir)
    try:
        for rel, data, is_page in _render_all(site, inputs):
            report.written += writer.write(rel, data)
            report.files += 1
            report.pages += is_page
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    report.removed = len(writer.removed)
    report.seconds = time.perf_counter() - started
    return report


def _count_records(report: BuildReport, loaded: LoadResult, drafts: bool) -> None:
    report.records_read = loaded.files
    report.skipped = len(loaded.errors)
    report.diagnostics.extend(loaded.diagnostics)
    if not drafts:
        report.drafts_left_out = sum(1 for r in loaded.records if not r.published)


def _render_all(site: Site, inputs: Inputs) -> Iterator[tuple[str, bytes, bool]]:
    """Every output file as (path, bytes, is_html_page): pages first, then assets."""
    env = make_env(site.config, inputs.site_dir / "templates")
    binary = find_pagefind() if site.config.search else None
    indexer = SearchIndexer(binary) if binary else None
    for spec in plan_pages(site):
        if spec.serializer is not None:
            data = spec.serializer(spec.context["data"], site.config)
        else:
            data = render_page(env, spec.templates, {**spec.context, "site": site}).encode()
        path = output_path(spec.url)
        if indexer:
            indexer.add(path, data)
        yield path, data, path.endswith(".html")
    if indexer:
        for rel, data in indexer.files():
            yield rel, data, False
    for rel, source in sorted(_assets(inputs).items()):
        yield rel, source.read_bytes(), False


def _assets(inputs: Inputs) -> dict[str, Path]:
    """Theme assets under assets/, then the site's static/ at the root (overriding by path)."""
    files: dict[str, Path] = {}
    for prefix, folder in (("assets/", theme_dir() / "assets"), ("", inputs.site_dir / "static")):
        if folder.is_dir():
            for path in folder.rglob("*"):
                rel = path.relative_to(folder)
                if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                    files[prefix + rel.as_posix()] = path
    return files
