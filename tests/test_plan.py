"""The page plan's dependency keys, which incremental rebuilds rely on, and new config keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from masthead.config import load_config
from masthead.diagnostics import ConfigError
from masthead.plan import PageSpec, membership_keys, plan_pages
from masthead.records import load_records
from masthead.site import Article, Site, build_site
from tests.conftest import Scratch
from tests.htmlcheck import parse
from tests.newsroom import write_newsroom


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    scratch = Scratch(tmp_path_factory.mktemp("plan") / "site")
    write_newsroom(scratch)
    config = load_config(scratch.root)
    return build_site(load_records(scratch.content, config).records, config)


def _shown(spec: PageSpec) -> Iterator[Article]:
    """Every article whose data a planned output shows."""
    context: dict[str, Any] = spec.context
    if context.get("pager") is not None:
        yield from context["pager"].items
    for key in ("edition", "month", "lead"):
        if context.get(key) is not None:
            yield from context[key].articles
    data = context.get("data")
    if data is not None and hasattr(data, "articles"):
        yield from data.articles  # a feed
    if data is not None and hasattr(data, "pager"):
        yield from data.pager.items  # an API page
    if "article" in context:
        yield context["article"]


def test_every_output_depends_on_the_stories_it_shows(site: Site) -> None:
    """A changed record touches its membership keys; each output showing it must hold one."""
    checked = 0
    for spec in plan_pages(site):
        for article in _shown(spec):
            keys = membership_keys(article) | {f"record:{article.record.path}"}
            assert keys & spec.deps, (spec.url, article.title)
            checked += 1
    assert checked > 100


def test_the_sitemap_depends_on_every_page(site: Site) -> None:
    specs = list(plan_pages(site))
    (sitemap,) = [s for s in specs if s.url == "/sitemap.xml"]
    pages = [s for s in specs if s.url.endswith("/")]
    assert frozenset().union(*(p.deps for p in pages)) <= sitemap.deps


def test_urls_are_unique(site: Site) -> None:
    urls = [s.url for s in plan_pages(site)]
    assert len(urls) == len(set(urls))


@pytest.mark.parametrize(
    "text", ["feed_size = 0", "api_page_size = 0", "lead_stories = -1", "search = 1"]
)
def test_bad_values_of_the_new_keys_stop_the_build(tmp_path: Path, text: str) -> None:
    (tmp_path / "site.toml").write_text(text + "\n")
    with pytest.raises(ConfigError, match=text.split()[0]):
        load_config(tmp_path)


def test_lead_stories_zero_leaves_the_lead_out(scratch: Scratch) -> None:
    scratch.config("lead_stories = 0\n")
    scratch.add("2026-01-01-a.md")
    assert not scratch.build(search=False).failed
    home = parse(scratch.output / "index.html")
    assert home.select("section.edition-lead") == []
    assert home.h1.get_text(strip=True) == "Latest news"
