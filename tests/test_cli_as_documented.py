"""The installed `masthead` command, run as the README runs it: from inside the site
folder with no options, and from elsewhere with relative and with absolute folders.

Every way gives the same bytes, search index included (Pagefind runs in a folder of its
own, where a relative path handed to it meant another place). The search index is
proved searchable once, in Chromium: the outputs are byte-identical, so once is enough.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import masthead
from tests.crawl import serve_under

WELCOME = "Welcome to your news digest"
"""The title of one of the records `masthead init` writes."""


def masthead_in(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the installed command in `cwd`, as a user would type it there; it must succeed."""
    done = masthead(*args, cwd=cwd, env={**os.environ, "NO_COLOR": "1"}, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".masthead")
    }


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One site built every documented way; the output folder of each, by how."""
    home = tmp_path_factory.mktemp("first-hour")
    masthead_in(home, "init", "mysite")
    site = home / "mysite"
    elsewhere = home / "elsewhere"
    elsewhere.mkdir()
    masthead_in(site, "build")
    masthead_in(home, "build", "--site", "mysite", "--output", "out-site")
    masthead_in(
        elsewhere,
        "build",
        "--site",
        "../mysite",
        "--content",
        "../mysite/content",
        "--output",
        "../out-relative",
    )
    masthead_in(
        elsewhere,
        "build",
        "--site",
        site,
        "--content",
        site / "content",
        "--output",
        home / "out-absolute",
    )
    return {
        "inside the site folder": site / "public",
        "--site mysite --output out-site": home / "out-site",
        "relative --site, --content, --output": home / "out-relative",
        "absolute --site, --content, --output": home / "out-absolute",
    }


def test_every_way_of_naming_the_folders_builds_the_same_bytes(outputs: dict[str, Path]) -> None:
    built = {how: files(folder) for how, folder in outputs.items()}
    first = built["inside the site folder"]
    assert "pagefind/pagefind-entry.json" in first and "search/index.html" in first
    for how, found in built.items():
        assert "pagefind/pagefind-entry.json" in found, how
        assert found.keys() == first.keys(), how
        assert [rel for rel in found if found[rel] != first[rel]] == [], how


def test_a_relative_publish_target_gets_search_too(
    outputs: dict[str, Path], tmp_path: Path
) -> None:
    site = outputs["inside the site folder"].parent
    target = tmp_path / "www"
    relative = os.path.relpath(target, site)
    done = masthead_in(site, "publish", "--to", relative, "--base-url", "https://news.example/")
    assert "Synced" in done.stdout
    assert (target / "pagefind" / "pagefind-entry.json").is_file()
    assert (target / "pagefind" / "pagefind-ui.js").is_file()


@pytest.fixture
def served(outputs: dict[str, Path]) -> Iterator[str]:
    with serve_under(outputs["inside the site folder"], "/") as url:
        yield url


def test_the_search_page_finds_a_story_by_a_word_of_its_title(served: str) -> None:
    from tests.browser import chromium, expect  # skips this test alone without Chromium

    with chromium() as browser:
        page = browser.new_page()
        page.goto(served + "search/?q=welcome")
        results = page.locator(".pagefind-ui__result-title")
        expect(results).to_have_count(1)
        assert results.all_inner_texts() == [WELCOME]
