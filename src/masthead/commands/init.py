"""`masthead init`: a new site folder that builds at once."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from masthead.diagnostics import MastheadError

GITIGNORE = "# Build products of masthead\n/public/\n/.masthead-cache/\n"


def init_site(target: Path) -> None:
    """Copy the skeleton site into `target`, which must be missing or empty."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise MastheadError(f"{target} already exists and is not empty; nothing was written")
    skeleton = resources.files("masthead") / "skeleton"
    with resources.as_file(skeleton) as source:
        shutil.copytree(source, target, dirs_exist_ok=True)
    (target / "templates").mkdir(exist_ok=True)
    (target / "static").mkdir(exist_ok=True)
    # The output and the build cache are build products: not for the site's repository.
    (target / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
