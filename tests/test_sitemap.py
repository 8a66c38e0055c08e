"""sitemap.xml (and its index past the URL limit), robots.txt and 404.html."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from masthead.outputs import sitemap
from tests.htmlcheck import html_files, parse
from tests.newsroom import BASE_URL, STORIES, build_newsroom, page_file

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_newsroom(tmp_path_factory.mktemp("sitemap") / "site", search=False)


def _urlset(path: Path) -> dict[str, str | None]:
    """loc -> lastmod of a urlset file; fails on a loc listed twice."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{NS['sm']}}}urlset"
    entries = [
        (u.findtext("sm:loc", namespaces=NS), u.findtext("sm:lastmod", namespaces=NS))
        for u in root.findall("sm:url", NS)
    ]
    counts = Counter(loc for loc, _ in entries)
    assert [loc for loc, n in counts.items() if n > 1] == []
    return dict(entries)  # type: ignore[arg-type]


def _pages(output: Path) -> set[Path]:
    """Every HTML page a crawler should find: all but 404.html."""
    return {p for p in html_files(output) if p.name == "index.html"}


def test_the_sitemap_lists_every_page_once_and_only_pages(output: Path) -> None:
    listed = _urlset(output / "sitemap.xml")
    assert {page_file(output, loc) for loc in listed} == _pages(output)
    articles = {p for p in _pages(output) if p.relative_to(output).parts[0] == "news"}
    assert len(articles) == len(STORIES) + 1  # and the untagged notice
    assert articles <= {page_file(output, loc) for loc in listed}


def test_article_lastmod_is_the_story_date(output: Path) -> None:
    listed = _urlset(output / "sitemap.xml")
    published = {s.title: s.published for s in STORIES}
    checked = 0
    for loc, lastmod in listed.items():
        page = page_file(output, loc)
        if page.relative_to(output).parts[0] != "news":
            continue
        title = parse(page).h1.get_text()
        if title in published:
            assert lastmod is not None and datetime.fromisoformat(lastmod) == published[title]
            checked += 1
    assert checked == len(STORIES)


def test_robots_txt_names_the_sitemap(output: Path) -> None:
    lines = (output / "robots.txt").read_text().splitlines()
    assert "User-agent: *" in lines
    assert f"Sitemap: {BASE_URL}sitemap.xml" in lines


def test_the_404_page_exists_outside_the_sitemap(output: Path) -> None:
    page = parse(output / "404.html")
    assert page.h1.get_text(strip=True) == "Page not found"
    assert all(not loc.endswith("404.html") for loc in _urlset(output / "sitemap.xml"))


def test_past_the_limit_sitemap_xml_becomes_an_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 7
    monkeypatch.setattr(sitemap, "MAX_URLS", limit)
    output = build_newsroom(tmp_path / "site", search=False)
    root = ET.parse(output / "sitemap.xml").getroot()
    assert root.tag == f"{{{NS['sm']}}}sitemapindex"
    parts = [
        (s.findtext("sm:loc", namespaces=NS), s.findtext("sm:lastmod", namespaces=NS))
        for s in root.findall("sm:sitemap", NS)
    ]
    pages = _pages(output)
    assert len(parts) == -(-len(pages) // limit) > 1
    seen: list[Path] = []
    for loc, lastmod in parts:
        listed = _urlset(page_file(output, loc))
        assert 0 < len(listed) <= limit
        seen += [page_file(output, url) for url in listed]
        newest = max(datetime.fromisoformat(m) for m in listed.values() if m)
        assert lastmod is not None and datetime.fromisoformat(lastmod) == newest
    assert Counter(seen) == Counter(pages)
    assert f"Sitemap: {BASE_URL}sitemap.xml" in (output / "robots.txt").read_text()
