"""The example site at the repository root builds cleanly into accessible, well-linked pages."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from masthead.building.build import BuildOptions, BuildReport, build
from masthead.config import SiteConfig, load_config
from masthead.model.site import Site, build_site
from masthead.records.loader import LoadResult, load_records
from masthead.urls import output_path
from tests.conftest import REPO
from tests.htmlcheck import broken_links, html_files, parse


@pytest.fixture(scope="module")
def config() -> SiteConfig:
    return load_config(REPO)


@pytest.fixture(scope="module")
def loaded(config: SiteConfig) -> LoadResult:
    return load_records(REPO / config.content_dir, config)


@pytest.fixture(scope="module")
def with_drafts(loaded: LoadResult, config: SiteConfig) -> Site:
    return build_site(loaded.records, config, drafts=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildReport, Path]:
    folder = tmp_path_factory.mktemp("example")
    out = folder / "public"
    return build(BuildOptions(site_dir=REPO, output_dir=out, cache_dir=folder / "cache")), out


@pytest.fixture(scope="module")
def pages(built: tuple[BuildReport, Path]) -> dict[str, BeautifulSoup]:
    _, out = built
    return {p.relative_to(out).as_posix(): parse(p) for p in html_files(out)}


def test_builds_without_errors(built: tuple[BuildReport, Path], loaded: LoadResult) -> None:
    report, _ = built
    assert report.skipped == 0
    assert [str(d) for d in report.diagnostics if d.severity == "error"] == []
    assert report.records_read == len(loaded.records) >= 40


def test_every_page_has_the_accessible_skeleton(pages: dict[str, BeautifulSoup]) -> None:
    assert len(pages) > 50
    for name, soup in pages.items():
        assert len(soup.find_all("h1")) == 1, name
        assert soup.title is not None and soup.title.get_text(strip=True), name
        assert soup.html.get("lang"), name
        skip = soup.find("a", href="#main")
        assert skip is not None and skip.get_text(strip=True), name
        [main] = soup.find_all("main")
        assert main.get("id") == "main", name


def test_every_image_has_alt_and_dimensions(pages: dict[str, BeautifulSoup]) -> None:
    images = [(name, img) for name, soup in pages.items() for img in soup.find_all("img")]
    assert images
    for name, img in images:
        assert img.has_attr("alt"), (name, img)
        assert img.get("width", "").isdigit() and img.get("height", "").isdigit(), (name, img)


def test_the_two_videos_have_an_allowlisted_youtube_embed(
    with_drafts: Site, pages: dict[str, BeautifulSoup], config: SiteConfig
) -> None:
    videos = [a for a in with_drafts.articles if a.record.type == "video" and not a.draft]
    assert len(videos) == 2
    for video in videos:
        soup = pages[output_path(video.url)]
        [frame] = soup.find_all("iframe")
        src = urlsplit(frame["src"])
        assert src.scheme == "https" and src.hostname in config.iframe_hosts
        assert "youtube" in (src.hostname or "")
        assert frame.get("title")
    others = [name for name, soup in pages.items() if soup.find("iframe")]
    assert sorted(others) == sorted(output_path(v.url) for v in videos)


def test_drafts_are_absent(
    with_drafts: Site, built: tuple[BuildReport, Path], pages: dict[str, BeautifulSoup]
) -> None:
    _, out = built
    drafts = [a for a in with_drafts.articles if a.draft]
    assert drafts
    text = "\n".join(soup.get_text(" ") for soup in pages.values())
    for draft in drafts:
        assert not (out / output_path(draft.url)).exists(), draft.url
        assert draft.title not in text


def test_the_duplicate_pair_is_merged(
    loaded: LoadResult, built: tuple[BuildReport, Path], pages: dict[str, BeautifulSoup]
) -> None:
    report, _ = built
    stories: dict[str, list[str]] = defaultdict(list)
    for record in loaded.records:
        if record.published:
            stories[record.url or record.path].append(record.path)
    duplicates = [paths for paths in stories.values() if len(paths) > 1]
    assert len(duplicates) >= 1
    assert report.merged == sum(len(paths) - 1 for paths in duplicates)
    articles = [name for name in pages if name.startswith("news/")]
    assert len(articles) == len(stories)
    merged = {d.path for d in report.diagnostics if "whose record is shown" in d.message}
    assert merged and all(any(path in paths for paths in duplicates) for path in merged)


def test_related_stories_link_inside_the_site(pages: dict[str, BeautifulSoup]) -> None:
    internal = [
        a["href"]
        for soup in pages.values()
        for a in soup.select(".related-item a")
        if a["href"].startswith("/")
    ]
    assert internal


def test_no_broken_internal_links(built: tuple[BuildReport, Path]) -> None:
    _, out = built
    assert broken_links(out) == []


def test_no_broken_internal_links_under_a_sub_path(tmp_path: Path) -> None:
    out = tmp_path / "public"
    base_url = "https://example.org/digest/"
    build(BuildOptions(REPO, output_dir=out, base_url=base_url, cache_dir=tmp_path / "cache"))
    assert broken_links(out, "/digest/") == []
