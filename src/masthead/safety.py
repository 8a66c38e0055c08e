"""Refusals that keep a build from writing over, or deleting, the user's own files."""

from __future__ import annotations

from pathlib import Path

from masthead.diagnostics import ConfigError

PROTECTED_SITE_FOLDERS = ("content", "templates", "static", "data", ".git")


def check_folders(
    site_dir: Path, content_dir: Path, output_dir: Path, role: str = "output folder"
) -> None:
    """Raise ConfigError when the folder masthead writes (`role`) would overlap the user's own."""
    site, content, output = (p.resolve() for p in (site_dir, content_dir, output_dir))
    refuse = {
        site: "the site folder",
        content: "the content folder",
        Path.home().resolve(): "your home folder",
        Path(output.anchor): "the file system root",
    }
    protected = {site / name: f"the site's {name}/ folder" for name in PROTECTED_SITE_FOLDERS}
    refuse.update(protected)
    if output in refuse:
        raise ConfigError(f"refusing to use {refuse[output]} ({output}) as the {role}")
    if output in site.parents:
        raise ConfigError(f"refusing {role} {output}: it contains the site folder {site}")
    for folder, name in (*protected.items(), (content, "the content folder")):
        if output.is_relative_to(folder):
            raise ConfigError(f"refusing {role} {output} inside {name} {folder}")
    if content.is_relative_to(output):
        raise ConfigError(f"refusing content folder {content} inside the {role} {output}")


def check_cache_folder(
    site_dir: Path, content_dir: Path, output_dir: Path, cache_dir: Path
) -> None:
    """Raise ConfigError for a cache folder among the user's folders or overlapping the
    output: the cache holds every record, unpublished ones too, and must not be served."""
    check_folders(site_dir, content_dir, cache_dir, role="cache folder")
    cache, output = cache_dir.resolve(), output_dir.resolve()
    if cache.is_relative_to(output) or output.is_relative_to(cache):
        raise ConfigError(f"refusing cache folder {cache}: it overlaps the output folder {output}")
