"""Canonical URLs, Open Graph and Twitter tags, and schema.org JSON-LD on every page."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from tests.htmlcheck import html_files, parse
from tests.newsroom import BASE_URL, HOSTILE, STORIES, build_newsroom, page_file

LISTS = {"", "page", "topics", "providers", "editions", "archive"}
"""First path parts of list pages (the front page is "")."""


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_newsroom(tmp_path_factory.mktemp("meta") / "site")


@pytest.fixture(scope="module")
def pages(output: Path) -> dict[Path, BeautifulSoup]:
    return {p: parse(p) for p in html_files(output) if p.name == "index.html"}


def _meta(soup: BeautifulSoup, key: str) -> str:
    tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key})
    assert tag is not None, key
    return str(tag["content"])


def _json_ld(soup: BeautifulSoup) -> list[Any]:
    return [json.loads(s.string) for s in soup.find_all("script", type="application/ld+json")]


def _section(output: Path, page: Path) -> str:
    rel = page.relative_to(output).parts
    return rel[0] if len(rel) > 1 else ""


def test_canonical_and_social_tags_point_at_the_page_itself(
    output: Path, pages: dict[Path, BeautifulSoup]
) -> None:
    for page, soup in pages.items():
        canonical = soup.find("link", rel="canonical")["href"]
        assert canonical.startswith(BASE_URL), page
        assert page_file(output, canonical) == page
        assert _meta(soup, "og:url") == canonical
        assert _meta(soup, "og:title") and _meta(soup, "twitter:title")
        assert _meta(soup, "description") == _meta(soup, "og:description")
        assert _meta(soup, "twitter:card") in ("summary", "summary_large_image")


def test_articles_carry_news_article_json_ld(
    output: Path, pages: dict[Path, BeautifulSoup]
) -> None:
    stories = {s.title: s for s in STORIES}
    seen = 0
    for page, soup in pages.items():
        if _section(output, page) != "news":
            continue
        (data,) = _json_ld(soup)
        assert data["@context"] == "https://schema.org" and data["@type"] == "NewsArticle"
        assert data["headline"] == soup.h1.get_text()
        assert data["url"] == data["mainEntityOfPage"] == soup.find("link", rel="canonical")["href"]
        story = stories.get(data["headline"])
        if story is None:
            continue  # the untagged notice, which has no provider
        seen += 1
        assert datetime.fromisoformat(data["datePublished"]) == story.published
        assert data["isBasedOn"] == story.original_url
        assert data["author"]["name"] == data["publisher"]["name"] == story.provider
        assert data["articleSection"] == list(story.topics)
        if story.image:
            assert _meta(soup, "twitter:card") == "summary_large_image"
            assert data["image"] == [_meta(soup, "og:image")]
            assert _meta(soup, "og:image").startswith(("https://", BASE_URL))
    assert seen == len(STORIES)


def test_lists_carry_item_list_json_ld(output: Path, pages: dict[Path, BeautifulSoup]) -> None:
    kinds = set()
    for page, soup in pages.items():
        section = _section(output, page)
        if section not in LISTS:
            continue
        (data,) = _json_ld(soup)
        assert data["@type"] == "ItemList", page
        items = data["itemListElement"]
        assert items, page
        first = items[0]["position"]
        assert [i["position"] for i in items] == list(range(first, first + len(items)))
        for item in items:
            assert item["@type"] == "ListItem" and item["name"]
            assert page_file(output, item["url"]).is_file(), item
        kinds.add(section)
    assert kinds == LISTS


def test_no_title_breaks_out_of_its_script_element(pages: dict[Path, BeautifulSoup]) -> None:
    hostile = [soup for soup in pages.values() if soup.h1 and soup.h1.get_text() == HOSTILE]
    assert len(hostile) == 1
    soup = hostile[0]
    assert [s.get("type") for s in soup.find_all("script", src=False)] == ["application/ld+json"]
    assert _json_ld(soup)[0]["headline"] == HOSTILE
    assert _meta(soup, "og:title") == HOSTILE
    # Every list page that shows the story still has exactly one JSON-LD script.
    for soup in pages.values():
        assert all((s.string or "").strip() != "alert(1)" for s in soup.find_all("script"))
