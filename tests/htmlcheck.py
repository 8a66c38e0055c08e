"""Helpers that read built output the way a browser or crawler would."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup


def parse(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_bytes(), "html5lib")


def html_files(root: Path) -> list[Path]:
    """The web pages of a build; the email editions (`email.html`) are mail, not pages,
    and tests/test_newsletter.py holds them to mail's rules instead."""
    return sorted(
        p
        for p in root.rglob("*.html")
        if ".masthead" not in p.as_posix() and p.name != "email.html"
    )


def resolve(root: Path, base_path: str, link: str, page_url: str) -> Path | None:
    """The output file an internal link points at, or None for external links."""
    absolute = urljoin(page_url, link)
    parts = urlsplit(absolute)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != "site.test"):
        return None
    path = unquote(parts.path)
    assert path.startswith(base_path), f"link {link!r} on {page_url} escapes base path {base_path}"
    rel = path[len(base_path) :]
    target = root / rel
    return target / "index.html" if rel == "" or rel.endswith("/") else target


def broken_links(root: Path, base_path: str = "/") -> list[str]:
    """Every internal href/src on every page whose target file is missing."""
    return [link for page in html_files(root) for link in broken_links_on(page, root, base_path)]


def broken_links_on(page: Path, root: Path, base_path: str = "/") -> list[str]:
    """Every internal href/src on one page whose target file is missing."""
    rel = page.relative_to(root).as_posix()
    page_url = (
        "http://site.test"
        + base_path
        + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)
    )
    soup = parse(page)
    broken = []
    for tag in soup.find_all(href=True) + soup.find_all(src=True):
        link = tag.get("href") or tag.get("src")
        target = resolve(root, base_path, link, page_url)
        if target is not None and not target.is_file():
            broken.append(f"{rel}: {link}")
    return broken
