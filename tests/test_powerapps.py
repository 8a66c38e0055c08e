"""The real corpus (../shared/corpus/powerapps): counts, well-formed pages, links, determinism."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from masthead.building.build import BuildOptions, build
from tests.conftest import SHARED
from tests.htmlcheck import broken_links, html_files, parse

CORPUS = SHARED / "corpus" / "powerapps"

if not CORPUS.is_dir():
    if os.environ.get("MASTHEAD_REQUIRE_CORPUS"):
        raise RuntimeError(f"MASTHEAD_REQUIRE_CORPUS is set but {CORPUS} is missing")
    pytest.skip("../shared/corpus/powerapps is not available", allow_module_level=True)


def _build(tmp_path: Path, name: str, drafts: bool = False) -> Path:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "site.toml").write_text(
        'title = "Power Apps news"\nbase_url = "https://example.org/digest/"\n'
    )
    out = tmp_path / name
    report = build(BuildOptions(site_dir=site, content_dir=CORPUS, output_dir=out, drafts=drafts))
    assert report.skipped == 0
    assert report.records_read == 674
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("pa"), "out")


def _articles(out: Path) -> list[Path]:
    return sorted((out / "news").rglob("index.html"))


def test_one_page_per_distinct_published_story(published: Path) -> None:
    assert len(_articles(published)) == 428 - 3


def test_drafts_add_every_distinct_story(tmp_path: Path) -> None:
    out = _build(tmp_path, "drafts", drafts=True)
    assert len(_articles(out)) == 674 - 5  # 669 distinct stories among all records


def test_topic_and_provider_pages(published: Path) -> None:
    topics = [p for p in (published / "topics").iterdir() if p.is_dir()]
    providers = [p for p in (published / "providers").iterdir() if p.is_dir()]
    assert len(topics) == 7
    assert len(providers) == 15
    index = parse(published / "topics" / "index.html")
    assert len(index.select("ul.term-list > li")) == 7


def test_every_page_parses_with_a_title(published: Path) -> None:
    pages = html_files(published)
    assert len(pages) > 425
    for page in pages:
        soup = parse(page)
        assert soup.title is not None and soup.title.string.strip(), page
        assert len(soup.find_all("h1")) == 1, page


def test_no_broken_internal_links_under_a_sub_path(published: Path) -> None:
    assert broken_links(published, "/digest/") == []


def test_two_builds_are_byte_identical(published: Path, tmp_path: Path) -> None:
    again = _build(tmp_path, "again")
    first = {p.relative_to(published): p.read_bytes() for p in published.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
