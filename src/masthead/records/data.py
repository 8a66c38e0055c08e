"""Optional metadata for topics and providers: `data/topics/*.yaml`, `data/providers/*.(md|yaml)`.

A curator describes a topic or names a provider's logo once here instead of in every
record. Files are YAML (or a `.md` file whose front matter is YAML); a bad file is
reported like a bad record and ignored, never fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from masthead.diagnostics import Diagnostic, RecordError
from masthead.records.loader import Image, decode_text, link_problem, split_front_matter
from masthead.records.safeurl import safe_url
from masthead.records.yamlload import YamlError, load_yaml
from masthead.urls import term_key, term_slug

DATA_DIR = "data"
MAX_DATA_BYTES = 262_144


@dataclass(frozen=True, slots=True)
class TermMeta:
    """What the site's own data says about one topic or provider."""

    name: str
    description: str = ""
    domain: str | None = None
    logo: Image | None = None
    path: str = ""
    """The data file, relative to the site folder (for messages about its logo)."""


@dataclass(frozen=True, slots=True)
class SiteData:
    topics: dict[str, TermMeta] = field(default_factory=dict)
    """By slug of the name."""
    providers: dict[str, TermMeta] = field(default_factory=dict)
    """By slug of the name, and by domain."""
    diagnostics: tuple[Diagnostic, ...] = ()
    names: dict[tuple[str, str], TermMeta] = field(default_factory=dict)
    """By taxonomy and term_key of the name: the exact name wins over a shared slug."""

    def meta(self, taxonomy: str, slug: str, domain: str | None = None) -> TermMeta | None:
        table = self.topics if taxonomy == "topics" else self.providers
        return table.get(slug) or (table.get(domain.lower()) if domain else None)

    def named(self, taxonomy: str, key: str) -> TermMeta | None:
        """The data of the term whose name has this term_key, if a data file names it."""
        return self.names.get((taxonomy, key))


def load_data(site_dir: Path) -> SiteData:
    root = site_dir / DATA_DIR
    topics: dict[str, TermMeta] = {}
    providers: dict[str, TermMeta] = {}
    names: dict[tuple[str, str], TermMeta] = {}
    diagnostics: list[Diagnostic] = []
    for kind, table in zip(TERM_FOLDERS, (topics, providers), strict=True):
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not _read_there(path.name):
                continue
            rel = path.relative_to(site_dir).as_posix()
            if path.is_symlink() or folder.is_symlink():
                problem = link_problem(str(path), str(root))
                if problem is not None:
                    expected = "a file, or a link to a file inside data/"
                    diagnostics.append(Diagnostic(rel, None, problem, expected, "warning"))
                    continue
            try:
                meta = _read(path, rel)
            except OSError as exc:
                diagnostics.append(Diagnostic(rel, None, f"cannot read file: {exc.strerror}"))
                continue
            except _Bad as exc:
                diagnostics.append(Diagnostic(rel, exc.line, exc.message, exc.expected))
                continue
            except RecordError as exc:  # undecodable, or broken front matter in a .md
                diagnostics.append(exc.diagnostic)
                continue
            table.setdefault(term_slug(meta.name), meta)
            names.setdefault((kind, term_key(meta.name)), meta)
            if kind == "providers" and meta.domain:
                table.setdefault(meta.domain.lower(), meta)
    diagnostics.extend(_not_read(site_dir))
    return SiteData(topics, providers, tuple(diagnostics), names)


TERM_FOLDERS = ("topics", "providers")
DATA_SUFFIXES = (".yaml", ".yml", ".md")
NOT_READ_MAX = 20
"""Files under data/ named one by one as not read; more are counted in one line."""


def _not_read(site_dir: Path) -> list[Diagnostic]:
    """A warning for each file under data/ that no build reads (`data/topics.yaml`, a
    `.json`, a folder below data/topics/): it describes nothing, and would otherwise be
    ignored without a word."""
    root = site_dir / DATA_DIR
    found: list[str] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        where = Path(folder)
        read = where.parent == root and where.name in TERM_FOLDERS
        found.extend(
            (where / name).relative_to(site_dir).as_posix()
            for name in sorted(files)
            if not name.startswith(".") and not (read and _read_there(name))
        )
    expected = "a file in data/topics/ or data/providers/ ending .yaml, .yml or .md"
    message = "not read: no topic or provider is described there"
    said = [Diagnostic(rel, None, message, expected, "warning") for rel in found[:NOT_READ_MAX]]
    if len(found) > NOT_READ_MAX:
        more = f"not read either: {len(found) - NOT_READ_MAX} more files under data/"
        said.append(Diagnostic(DATA_DIR, None, more, expected, "warning"))
    return said


def _read_there(name: str) -> bool:
    """Whether load_data reads a file of this name in one of TERM_FOLDERS."""
    return not name.startswith(".") and name.endswith(DATA_SUFFIXES)


class _Bad(Exception):
    def __init__(self, message: str, line: int | None = None, expected: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.expected = message, line, expected


def _read(path: Path, rel: str) -> TermMeta:
    if path.stat().st_size > MAX_DATA_BYTES:
        raise _Bad("file too large", None, f"at most {MAX_DATA_BYTES} bytes")
    text = decode_text(path.read_bytes(), rel)
    offset = 0
    if path.suffix == ".md":
        text, _, offset = split_front_matter(text, rel)
    try:
        data = load_yaml(text)
    except YamlError as exc:
        raise _Bad(exc.message, offset + (exc.line or 0) or None) from exc
    if not isinstance(data, dict):
        raise _Bad("not a mapping", offset + 1, "a mapping with a name")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Bad("missing name", offset + 1, "a non-empty string")
    description = data.get("description", "")
    domain = data.get("domain")
    return TermMeta(
        name=" ".join(name.split()),
        description=description.strip() if isinstance(description, str) else "",
        domain=domain.strip() if isinstance(domain, str) and domain.strip() else None,
        logo=_logo(data.get("images")),
        path=rel,
    )


def _logo(images: Any) -> Image | None:
    """The first image with a safe URL; the largest is not needed for a list icon."""
    if not isinstance(images, list):
        return None
    for item in images:
        if (
            isinstance(item, dict)
            and isinstance(item.get("url"), str)
            and (url := safe_url(item["url"]))
        ):
            width, height = item.get("width"), item.get("height")
            return Image(
                url,
                width if isinstance(width, int) and not isinstance(width, bool) else None,
                height if isinstance(height, int) and not isinstance(height, bool) else None,
            )
    return None
