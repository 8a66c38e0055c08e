"""Site paths (`/assets/images/x.jpg`) that records and data files give for images and
links, resolved against what the build writes: its planned pages and its static files.

Records exported from another site often name a logo by a path on that site. Without
the file under static/ the reader would see a broken image and the curator nothing; so
a path that leads nowhere is a warning (once per path, naming the first file using it,
its line, and how many files use it) that `--strict` and `check` fail on, and templates
leave such an image out (render.py's `is available` test reads `SitePaths.missing`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from masthead.diagnostics import Diagnostic, plural
from masthead.hashing import digest_of
from masthead.records.data import SiteData
from masthead.records.loader import Record
from masthead.urls import output_path

Use = tuple[str, str, bool]
"""(what the path is for, the URL as the file gives it, whether it is a link rather than
an image), e.g. ("provider logo", "/x.jpg", False)."""


@dataclass(frozen=True, slots=True)
class SitePaths:
    """The outcome of one build's check: what templates must leave out, and what to say."""

    missing: frozenset[str] = frozenset()
    """Site paths (as site_key gives them) that lead nowhere."""
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def digest(self) -> str:
        """Part of every page's fingerprint: a page showing a path renders differently
        once the path leads somewhere (a file added under static/)."""
        return digest_of(sorted(self.missing)) if self.missing else ""


def site_key(url: str) -> str | None:
    """The path a site-relative URL leads to (`/a%20b.jpg?x` -> `/a b.jpg`); None for
    anything else (`https://...`, `//host/x`, `#top`, relative links)."""
    if not url.startswith("/") or url.startswith("//"):
        return None
    return unquote(urlsplit(url).path) or "/"


def record_uses(record: Record) -> Iterator[Use]:
    """Every image and link `record` gives, with what it is for."""
    provider = record.provider
    for image in provider.images if provider else ():
        yield "provider logo", image.url, False
    for image in record.images:
        yield "image", image.url, False
    for item in record.related:
        if item.url:
            yield f"related story {item.title!r}", item.url, True
        for image in item.images:
            yield f"image of related story {item.title!r}", image.url, False
        for image in item.provider.images if item.provider else ():
            yield f"provider logo of related story {item.title!r}", image.url, False
    for url in record.body_images:
        yield "image in the body", url, False
    for url in record.body_links:
        yield "link in the body", url, True


def data_uses(data: SiteData) -> Iterator[tuple[str, Use]]:
    """(data file, use) for every logo a file under data/ names."""
    for kind, table in (("topic", data.topics), ("provider", data.providers)):
        for meta in dict.fromkeys(table.values()):  # a provider is there by name and domain
            if meta.logo is not None and meta.path:
                yield meta.path, (f"{kind} logo", meta.logo.url, False)


def names_site_path(record: Record) -> bool:
    """Does `record` name any site path? An edit to such a record never takes the fast
    paths that patch it in place (site.same_shape): what leads nowhere is decided by the
    whole site, and its warning names the first record's line."""
    return _may_name_site_path(record) and any(
        site_key(url) is not None for _, url, _ in record_uses(record)
    )


def _may_name_site_path(record: Record) -> bool:
    """False for a record whose every URL is a full one, as nearly all are. Written out
    as loops: through record_uses (tuples) or any() (generators), it cost seconds at
    100,000 records."""
    if record.body_images or record.body_links:
        return True
    provider = record.provider
    if provider is not None:
        for image in provider.images:
            if image.url[:1] == "/":
                return True
    for image in record.images:
        if image.url[:1] == "/":
            return True
    for item in record.related:
        if item.url and item.url[:1] == "/":
            return True
        for image in item.images:
            if image.url[:1] == "/":
                return True
        if item.provider is not None:
            for image in item.provider.images:
                if image.url[:1] == "/":
                    return True
    return False


_User = tuple[str, bool, Use]
"""(file, whether it is a data file rather than a record, use)."""


def check_site_paths(
    records: Iterable[Record],
    data: SiteData,
    files: Mapping[str, object],
    page_urls: Callable[[], Iterable[str]],
    roots: tuple[Path, Path],
) -> SitePaths:
    """Resolve every site path of `records` and `data` against `files` (output path ->
    anything: the static and theme files) and the planned pages (`page_urls`, asked only
    when a path is not a file). `roots`: the content folder and the site folder, where
    the warnings' files are read again for the line of the first use."""
    users: dict[str, list[_User]] = {}
    for record in records:
        if not _may_name_site_path(record):
            continue
        for use in record_uses(record):
            key = site_key(use[1])
            if key is not None:
                users.setdefault(key, []).append((record.path, False, use))
    for path, use in data_uses(data):
        key = site_key(use[1])
        if key is not None:
            users.setdefault(key, []).append((path, True, use))
    pages: set[str] | None = None
    missing: dict[str, list[_User]] = {}
    for key, used in users.items():
        if _leads_to(key, files):
            continue
        if pages is None:
            pages = {output_path(u) for u in page_urls()}
        if not _leads_to(key, pages):
            missing[key] = used
    diagnostics = [_warning(key, used, roots) for key, used in sorted(missing.items())]
    return SitePaths(frozenset(missing), tuple(diagnostics))


def _leads_to(key: str, files: Mapping[str, object] | set[str]) -> bool:
    try:
        rel = output_path(key)
    except ValueError:  # `/../x`, `/a//b`: no file of the output is there
        return False
    # `/topics/x` is served by `topics/x/index.html` (hosts redirect to the slash).
    return rel in files or (not key.endswith("/") and rel + "/index.html" in files)


def _warning(key: str, used: list[_User], roots: tuple[Path, Path]) -> Diagnostic:
    path, is_data, (what, url, is_link) = min(used)
    records = len({u[0] for u in used if not u[1]})
    data = len({u[0] for u in used if u[1]})
    users = " and ".join(
        plural(n, noun) for n, noun in ((records, "record"), (data, "data file")) if n
    )
    verb = "links to" if is_link else "is"
    return Diagnostic(
        path,
        _line_of(roots[1 if is_data else 0] / path, url),
        f"{what} {verb} {url}, which is no page or file of this site (used by {users})",
        _expected(key, is_link),
        "warning",
        strict=True,
    )


def _expected(key: str, is_link: bool) -> str:
    static = f"static{key}index.html" if key.endswith("/") else f"static{key}"
    page = "a page of this site there, " if is_link else ""
    return f"{page}a file at {static}, or a full https:// URL"


def _line_of(path: Path, url: str) -> int | None:
    """The first line of `path` naming `url`: found again for the message, not kept."""
    try:
        text = path.read_text("utf-8", "replace")
    except OSError:
        return None
    for needle in dict.fromkeys((url, unquote(url))):
        at = text.find(needle)
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return None
