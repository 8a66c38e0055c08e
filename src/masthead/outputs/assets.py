"""Theme and static files for the output; stylesheets and scripts get content-hashed names.

A hashed name (`assets/style.3f2a9c1b.css`) changes whenever the file's bytes change, so a
host can serve `assets/` with a one-year cache and a new build is still seen at once.
Templates reach these files through `asset('style.css')`, never by their hashed name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from masthead.hashing import bytes_digest, digest_of

ASSETS = "assets/"
HASHED_SUFFIXES = frozenset({".css", ".js"})
HASH_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Assets:
    files: dict[str, Path]
    """Output path -> source file, for every file copied into the output."""
    urls: dict[str, str]
    """Name under assets/ (`style.css`) -> site-relative URL of its output file."""

    @property
    def digest(self) -> str:
        """Changes whenever a hashed name does, so pages linking the old name are rebuilt."""
        return digest_of(sorted(self.urls.items()))


def collect_assets(theme_assets: Path, static: Path, hash_names: bool = True) -> Assets:
    """The theme's assets/ under `assets/`, then the site's static/ at the root (overriding)."""
    sources: dict[str, Path] = {}
    for prefix, folder in (("assets/", theme_assets), ("", static)):
        if folder.is_dir():
            for path in folder.rglob("*"):
                inner = path.relative_to(folder)
                if path.is_file() and not any(part.startswith(".") for part in inner.parts):
                    sources[prefix + inner.as_posix()] = path
    files: dict[str, Path] = {}
    urls: dict[str, str] = {}
    for rel, path in sorted(sources.items()):
        out = rel
        if rel.startswith(ASSETS):
            if hash_names and PurePosixPath(rel).suffix in HASHED_SUFFIXES:
                out = hashed_name(rel, path.read_bytes())
            urls[rel[len(ASSETS) :]] = "/" + out
        files[out] = path
    return Assets(files, urls)


def hashed_name(rel: str, data: bytes) -> str:
    """`assets/style.css` -> `assets/style.<first hex digits of sha256>.css`."""
    path = PurePosixPath(rel)
    digest = bytes_digest(data)[:HASH_LENGTH]
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))
