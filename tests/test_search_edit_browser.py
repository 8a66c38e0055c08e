"""Search finds a story by a word of its title, and after the title is edited finds it by
the new word and no longer by the old one: in a real browser, over the site that
`masthead build` wrote (run from inside the site, no options) and over `masthead serve`,
whose index is made again in the background and reloads an open search page."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.browser import Browser, Page, chromium, expect
from tests.conftest import Scratch, masthead
from tests.crawl import serve_under
from tests.test_live_reload import Serve

OLD_TITLE = "Walrus spotted near the pier"
NEW_TITLE = "Narwhal spotted near the pier"
STORY = "2026-11-18-pier.md"
URL = "https://news.example/pier"
TIMEOUT_MS = 20_000


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    scratch.config('title = "Search after an edit"\n')
    scratch.add(STORY, title=OLD_TITLE, url=URL)
    scratch.add("2026-11-17-tide.md", title="Tide gauge replaced", when="2026-11-17T08:00:00Z")
    return scratch


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()  # a cache of its own
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def search(page: Page, site_url: str, word: str) -> None:
    """Open the search page with `word` in the address, which starts the search."""
    page.goto(f"{site_url}search/?q={word}")
    expect(page.locator(".pagefind-ui__message")).to_contain_text(word)


def found(page: Page, title: str) -> None:
    expect(page.locator(".pagefind-ui__result-title", has_text=title)).to_have_count(1)


def nothing(page: Page) -> None:
    expect(page.locator(".pagefind-ui__message")).to_contain_text("No results")


def indexed(served: Serve, timeout: float = 20) -> None:
    """Wait for the preview's first search index (its line may come before or after the
    one with the address)."""
    deadline = time.monotonic() + timeout
    while not any("Search index updated" in line for line in served.stdout):
        assert time.monotonic() < deadline, (served.stdout, served.stderr)
        time.sleep(0.05)


def test_build_finds_the_new_title_word_and_not_the_old(site: Scratch, page: Page) -> None:
    done = masthead("build", cwd=site.root)
    assert done.returncode == 0, done.stderr
    with serve_under(site.output, "/") as url:
        search(page, url, "walrus")
        found(page, OLD_TITLE)
        site.add(STORY, title=NEW_TITLE, url=URL)
        done = masthead("build", cwd=site.root)
        assert done.returncode == 0, done.stderr
        search(page, url, "narwhal")
        found(page, NEW_TITLE)
        search(page, url, "walrus")
        nothing(page)


def test_serve_indexes_again_and_reloads_the_open_search_page(site: Scratch, page: Page) -> None:
    served = Serve(site.root, inside=True)
    try:
        indexed(served)
        search(page, served.url, "walrus")
        found(page, OLD_TITLE)
        search(page, served.url, "narwhal")
        nothing(page)
        page.evaluate("window.__untouched = true")
        time.sleep(0.3)  # let the page's event stream connect
        edited = time.monotonic()
        site.add(STORY, title=NEW_TITLE, url=URL)
        # The rebuild leaves the search page as it was; the new index reloads it.
        found(page, NEW_TITLE)
        assert page.evaluate("window.__untouched === undefined"), "the page should have reloaded"
        assert time.monotonic() - edited < 10
        search(page, served.url, "walrus")
        nothing(page)
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err
