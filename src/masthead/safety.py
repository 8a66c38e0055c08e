"""Refusals that keep a build from writing over, or deleting, the user's own files."""

from __future__ import annotations

from pathlib import Path

from masthead.diagnostics import ConfigError

PROTECTED_SITE_FOLDERS = ("content", "templates", "static", "data", ".git")


def check_folders(site_dir: Path, content_dir: Path, output_dir: Path) -> None:
    """Raise ConfigError when the output folder would overlap something the user owns."""
    site, content, output = (p.resolve() for p in (site_dir, content_dir, output_dir))
    refuse = {
        site: "the site folder",
        content: "the content folder",
        Path.home().resolve(): "your home folder",
        Path(output.anchor): "the file system root",
    }
    refuse.update({site / name: f"the site's {name}/ folder" for name in PROTECTED_SITE_FOLDERS})
    if output in refuse:
        raise ConfigError(f"refusing to use {refuse[output]} ({output}) as the output folder")
    if output in site.parents:
        raise ConfigError(f"refusing output folder {output}: it contains the site folder {site}")
    if output.is_relative_to(content):
        raise ConfigError(f"refusing output folder {output} inside the content folder {content}")
    if content.is_relative_to(output):
        raise ConfigError(f"refusing content folder {content} inside the output folder {output}")
