"""The page plan (fingerprintable contexts, the sitemap's pages) and the new config keys."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from masthead.building.fingerprint import Unknown, value_key
from masthead.building.rendering import _newest_first
from masthead.config import load_config
from masthead.diagnostics import ConfigError
from masthead.model import coverage
from masthead.model.archives import build_archive
from masthead.model.site import Site, build_site
from masthead.outputs.plan import plan_pages
from masthead.records.loader import load_records
from tests.conftest import Scratch
from tests.htmlcheck import parse
from tests.newsroom import write_newsroom


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    scratch = Scratch(tmp_path_factory.mktemp("plan") / "site")
    write_newsroom(scratch)
    config = load_config(scratch.root)
    return build_site(load_records(scratch.content, config).records, config)


def test_every_output_can_be_fingerprinted(site: Site) -> None:
    """An unknown context value would re-render its page on every build; none may be."""
    unknown = []
    for spec in plan_pages(site):
        try:
            value_key(spec.context)
        except Unknown:
            unknown.append(spec.url)
    assert unknown == []


def test_sitemap_context_lists_every_page(site: Site) -> None:
    specs = list(plan_pages(site))
    (sitemap,) = [s for s in specs if s.url == "/sitemap.xml"]
    listed = [entry.url for entry in sitemap.context["data"]]
    assert listed == [s.url for s in specs if s.url.endswith("/")]


def test_urls_are_unique(site: Site) -> None:
    urls = [s.url for s in plan_pages(site)]
    assert len(urls) == len(set(urls))


def test_pages_are_rendered_in_order_of_the_newest_story_they_show(site: Site) -> None:
    """A page of a list is scheduled by its own stories, next to the other pages that
    show them (so a worker makes their cards once), not by the whole list's newest."""
    specs = list(plan_pages(site))
    lists = [s for s in specs if "pager" in s.context and s.context["pager"].number > 1]
    assert lists  # the newsroom has lists of more than one page
    for spec in lists:
        shown = max(a.date for a in spec.context["pager"].items)
        assert shown < spec.lastmod
        assert _newest_first((spec, "")) == -shown.timestamp()
    article = next(s for s in specs if s.context["kind"] == "article")
    assert _newest_first((article, "")) == -article.context["article"].date.timestamp()


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


def test_a_list_in_the_site_s_order_has_its_newest_story_first(site: Site) -> None:
    """The plan takes a topic's (the site's, a month's) newest date from its first story
    rather than looking through all of them: that holds only while the lists are newest
    first."""
    lists = [site.articles, *(t.articles for tax in site.taxonomies for t in tax.terms)]
    lists += [month.articles for year in build_archive(site) for month in year.months]
    assert len(lists) > 3
    for articles in lists:
        assert articles[0].date == max(a.date for a in articles)
        assert [a.date for a in articles] == sorted((a.date for a in articles), reverse=True)


def test_surroundings_worked_out_in_processes_are_the_same(
    site: Site, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a big site, forked processes work out each story's related stories and the
    rest; what they send back must come to the same contexts, holding the site's own
    story and topic objects."""
    alone = [s.context for s in plan_pages(site) if s.context["kind"] == "article"]
    parent, packed = os.getpid(), coverage.Surroundings._packed

    def in_a_fork(self: coverage.Surroundings, indexes: Sequence[int]) -> list[Any]:
        (tmp_path / str(os.getpid())).touch()
        return packed(self, indexes)

    monkeypatch.setattr(coverage, "AROUND_MIN", 2)
    monkeypatch.setattr(coverage.Surroundings, "_packed", in_a_fork)
    shared = [s.context for s in plan_pages(site, jobs=2) if s.context["kind"] == "article"]
    workers = {int(p.name) for p in tmp_path.iterdir()}
    assert workers and parent not in workers  # forked processes did the work
    assert [value_key(c) for c in shared] == [value_key(c) for c in alone]
    stories = {id(a) for a in site.articles}
    terms = {id(t.ref) for tax in site.taxonomies for t in tax.terms}
    for context in shared:
        shown = [context["newer"], context["older"], *context["coverage"]]
        shown += [*context["more_topic"], *context["more_provider"]]
        assert all(id(a) in stories for a in shown if a is not None)
        assert context["topic"] is None or id(context["topic"]) in terms
