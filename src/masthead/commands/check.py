"""`masthead check`: every validation of a build, and a few more, without writing a byte.

Every planned page is rendered into memory with the build's own environment and
templates; nothing goes near the output folder or the build cache.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from masthead.building.build import BuildOptions, SiteInMemory, site_in_memory
from masthead.building.context import not_read
from masthead.config import base_path_of
from masthead.diagnostics import plural, rebased
from masthead.outputs.render import TemplateError, build_memos, render_output
from masthead.outputs.search import search_bundle_urls
from masthead.urls import output_path, url_for_output


@dataclass(slots=True)
class CheckReport:
    """What `check` found, as the lines it prints. Problems are what fails `build --strict`
    (records or data files that would be skipped, templates that fail, two pages at one
    file); everything else found (duplicate stories, links that lead nowhere) is a
    warning, printed but not failing, exactly as a build treats it."""

    records: int = 0
    files: int = 0
    not_read_line: str = ""
    """The files under content/ that are not records, named as `build` names them."""
    problems: list[str] = field(default_factory=list)
    """Everything that makes the check (and `build --strict`) fail, one line each."""
    warnings: list[str] = field(default_factory=list)
    """Worth a look, but a build would go ahead."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        warned = f", {plural(len(self.warnings), 'warning')}" if self.warnings else ""
        if self.ok:
            line = f"OK: {plural(self.records, 'record')}, {plural(self.files, 'file')} checked{warned}"
        else:
            line = f"Check failed: {plural(len(self.problems), 'problem')}{warned}"
        return line + (f"\n{self.not_read_line}" if self.not_read_line else "")


def check(options: BuildOptions) -> CheckReport:
    """Validate config, records, templates and links; raise ConfigError for a bad site.toml."""
    memory = site_in_memory(options)
    inputs = memory.inputs
    report = CheckReport(records=memory.loaded.files)
    if memory.loaded.ignored:
        report.not_read_line = not_read(memory.loaded.ignored, inputs.content_dir)
    diagnostics = (
        *memory.loaded.diagnostics,
        *rebased(memory.data.diagnostics, inputs.site_dir),
        *memory.site.diagnostics,
        *memory.site_paths.diagnostics,
    )
    for d in diagnostics:
        # A strict warning is a problem here (as under `build --strict`), and says so.
        line = (replace(d, severity="error") if d.strict else d).shown(inputs.content_dir)
        (report.problems if d.fails else report.warnings).append(line)
    files, unrendered = _render_in_memory(report, memory)
    # What is already reported (a site path leading nowhere, a page whose template
    # failed) is not repeated by every link that leads to it.
    known = memory.site_paths.missing | unrendered | search_bundle_urls(inputs.config)
    report.warnings.extend(_broken_links(files, inputs.config.base_url, known))
    return report


def _render_in_memory(
    report: CheckReport, memory: SiteInMemory
) -> tuple[dict[str, bytes | None], set[str]]:
    """Every output file by path (page bytes, None for assets), and URLs of failed pages."""
    env = memory.environment()
    config = memory.inputs.config
    errors: Counter[str] = Counter()
    files: dict[str, bytes | None] = dict.fromkeys(memory.assets.files)
    unrendered: set[str] = set()
    with build_memos(env) as memos:
        for spec in memory.specs:
            rel = output_path(spec.url)
            if rel in files:
                report.problems.append(f"{rel}: two pages want the same output file")
            try:
                files[rel] = render_output(env, spec, config, memos)
            except TemplateError as exc:
                errors[str(exc)] += 1
                unrendered.add(spec.url)
    report.files = len(files)
    report.problems.extend(f"{m} ({n} pages)" if n > 1 else m for m, n in sorted(errors.items()))
    return files, unrendered


def _target(path: str) -> str | None:
    try:
        return output_path(unquote(path) or "/")
    except ValueError:
        return None


def _broken_links(
    files: Mapping[str, bytes | None], base_url: str, known: set[str]
) -> Iterator[str]:
    """Internal href/src on HTML pages that lead to no file; one line per page and link.

    `known` holds site paths already reported another way, which are not repeated here.
    """
    origin = urlsplit(base_url)
    base_path = base_path_of(base_url)
    for rel, data in sorted(files.items()):
        if data is None or not rel.endswith(".html"):
            continue
        page_url = urljoin(base_url, url_for_output(rel).lstrip("/"))
        for link in dict.fromkeys(_links(data.decode("utf-8", "replace"))):
            parts = urlsplit(urljoin(page_url, link))
            if parts.scheme not in ("http", "https") or parts.netloc != origin.netloc:
                continue  # external
            if not parts.path.startswith(base_path):
                yield f"{rel}: warning: link {link!r} leaves the site's base path {base_path}"
                continue
            site_path = "/" + parts.path[len(base_path) :]
            if site_path in known or unquote(site_path) in known:
                continue
            if _target(site_path) not in files:
                yield f"{rel}: warning: broken link {link!r}"


def _links(html: str) -> list[str]:
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    return collector.links


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value and not value.startswith("#"):
                self.links.append(value.strip())
