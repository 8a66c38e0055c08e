"""The search page in a real browser: Chromium, driven by Playwright, over plain HTTP.

The site is built under a sub-path (/digest/) and served by a threaded http.server on
a free port, as a static host would serve it: no masthead code runs while searching.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import Page, chromium, expect
from tests.crawl import serve_under
from tests.newsroom import STORIES, build_newsroom


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("served")
    with serve_under(root, "/") as served:
        url = served + "digest/"
        build_newsroom(root / "site", output_dir=root / "digest", base_url=url)
        yield url


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium() as browser:
        yield browser.new_page()


TITLES = ".pagefind-ui__result-title:not(.pagefind-ui__loading)"
"""Result titles once loaded (each index's results show placeholders until then)."""


def _title(file: str) -> str:
    return next(s.title for s in STORIES if s.file == file)


def test_search_finds_a_story_by_a_word_of_its_excerpt_and_narrows_by_topic(
    site_url: str, page: Page
) -> None:
    page.goto(site_url + "search/")
    # "salinity" is in two excerpts and in neither title.
    page.fill(".pagefind-ui__search-input", "salinity")
    results = page.locator(TITLES)
    expect(results).to_have_count(2)
    found = set(results.all_inner_texts())
    assert found == {_title("2026-03-09-tidal-gauges.md"), _title("2026-03-09-night-ferry.md")}

    page.check("input[name=topic][value=Transport]")
    expect(results).to_have_count(1)
    assert results.all_inner_texts() == [_title("2026-03-09-night-ferry.md")]

    # The result links to the story's page under the sub-path, and that page is there.
    page.locator(".pagefind-ui__result-link").click()
    expect(page.locator("h1")).to_have_text(_title("2026-03-09-night-ferry.md"))
    assert page.url.startswith(site_url + "news/2026/03/09/")


def test_a_query_in_the_address_starts_the_search(site_url: str, page: Page) -> None:
    page.goto(site_url + "search/?q=drawings")
    results = page.locator(TITLES)
    expect(results).to_have_count(1)
    assert results.all_inner_texts() == [_title("2026-03-10-cartoon-archive.md")]


def test_one_search_spans_the_shards_and_their_filters(site_url: str, page: Page) -> None:
    """The 2025 story is in the primary index, the 2026 ones in a shard merged in."""
    page.goto(site_url + "search/")
    shards = page.evaluate("fetch('../pagefind/shards.json').then(r => r.json())")
    assert shards["primary"].startswith("2025-") and len(shards["merge"]) == 1
    # "harbour": a title word in 2025, the provider's name in 2026.
    page.fill(".pagefind-ui__search-input", "harbour")
    results = page.locator(TITLES)
    expect(results).to_have_count(3)
    files = ("2025-12-31-year-review.md", "2026-03-09-tidal-gauges.md", "2026-03-10-hostile.md")
    assert set(results.all_inner_texts()) == {_title(f) for f in files}
    # Filter counts add up over both indexes; a filter narrows both.
    provider = page.locator(".pagefind-ui__filter-label", has_text="Harbour Ledger")
    expect(provider).to_have_text("Harbour Ledger (3)")
    page.check("input[name=topic][value='Local Government']")
    expect(results).to_have_count(1)
    assert results.all_inner_texts() == [_title("2025-12-31-year-review.md")]
    page.uncheck("input[name=topic][value='Local Government']")
    page.check("input[name=topic][value=Science]")
    expect(results).to_have_count(2)
    assert set(results.all_inner_texts()) == {_title(f) for f in files[1:]}
