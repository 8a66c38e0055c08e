"""The JSON API: /api/news/index.json and one per topic and provider, paginated."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.htmlcheck import parse
from tests.newsroom import (
    API_PAGE_SIZE,
    BASE_PATH,
    BASE_URL,
    STORIES,
    UNTAGGED_TITLE,
    all_titles,
    build_newsroom,
    by_newest,
    page_file,
)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_newsroom(tmp_path_factory.mktemp("api") / "site", search=False)


def _walk(output: Path, first: str) -> list[dict[str, Any]]:
    """Every page of one API list, following `next` and checking `prev` on the way."""
    pages: list[dict[str, Any]] = []
    url: str | None = first
    while url:
        page = json.loads(page_file(output, url).read_text(encoding="utf-8"))
        assert page["url"] == url
        assert page["prev"] == (pages[-1]["url"] if pages else None)
        assert page["page"] == len(pages) + 1
        pages.append(page)
        url = page["next"]
    assert {p["pages"] for p in pages} == {len(pages)}
    assert all(0 < len(p["items"]) <= API_PAGE_SIZE for p in pages)
    assert sum(len(p["items"]) for p in pages) == pages[0]["total"]
    return [item for p in pages for item in p["items"]]


def test_the_news_index_pages_through_every_story_newest_first(output: Path) -> None:
    items = _walk(output, BASE_URL + "api/news/index.json")
    assert [i["title"] for i in items] == all_titles()


def test_items_carry_the_record_fields(output: Path) -> None:
    items = {i["title"]: i for i in _walk(output, BASE_URL + "api/news/index.json")}
    for story in STORIES:
        item = items[story.title]
        assert parse(page_file(output, item["url"])).h1.get_text() == story.title
        assert item["original_url"] == story.original_url
        assert item["excerpt"] == story.excerpt
        assert datetime.fromisoformat(item["date_published"]) == story.published
        assert item["provider"]["name"] == story.provider
        assert page_file(output, item["provider"]["url"]).is_file()
        assert [t["name"] for t in item["topics"]] == list(story.topics)
        assert all(page_file(output, t["url"]).is_file() for t in item["topics"])
        assert [i["url"].rsplit("/", 1)[-1] for i in item["images"]] == (
            [story.image.rsplit("/", 1)[-1]] if story.image else []
        )
        assert item["quality"] == story.quality
        assert item["heat"] == (story.heat if story.heat >= 0 else None)
        assert item["type"] == story.story_type
    assert items[UNTAGGED_TITLE]["provider"] is None and items[UNTAGGED_TITLE]["topics"] == []


@pytest.mark.parametrize("taxonomy", ["topics", "providers"])
def test_each_topic_and_provider_has_its_own_list(output: Path, taxonomy: str) -> None:
    index = parse(output / taxonomy / "index.html")
    links = index.select("ul.term-list a")
    assert len(links) == 5
    for link in links:
        name = link.select_one(".term-name").get_text(strip=True)
        # /digest/topics/<slug>/ has its API list at /digest/api/news/topics/<slug>/.
        folder = link["href"][len(BASE_PATH) :]
        items = _walk(output, f"{BASE_URL}api/news/{folder}index.json")
        if taxonomy == "topics":
            expected = [s.title for s in by_newest() if name in s.topics]
        else:
            expected = [s.title for s in by_newest() if s.provider == name]
        assert [i["title"] for i in items] == expected, name
