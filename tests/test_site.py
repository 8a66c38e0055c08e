"""The site model: ordering, pagination, taxonomies, related links, duplicates, slugs, drafts."""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from masthead.config import SiteConfig, UrlPatterns
from masthead.model.site import Site, build_site, paginate
from masthead.outputs.plan import plan_pages
from masthead.records.loader import Image, Provider, Record, Related
from masthead.urls import slug_from_filename
from tests.conftest import Scratch
from tests.htmlcheck import parse

CONFIG = SiteConfig()


def story(path: str, when: str = "2026-11-18T09:00:00+00:00", **fields: Any) -> Record:
    """A record as the loader would give it; the title defaults to the file's slug."""
    stem = PurePosixPath(path).stem
    fields.setdefault("title", stem)
    fields.setdefault("web_url", f"https://news.example/{path.removesuffix('.md')}")
    return Record(
        path=path,
        published_at=datetime.fromisoformat(when),
        slug_hint=slug_from_filename(stem),
        **fields,
    )


def shuffled(records: list[Record], seed: int) -> list[Record]:
    copy = list(records)
    random.Random(seed).shuffle(copy)
    return copy


def paths(site: Site) -> list[str]:
    return [a.record.path for a in site.articles]


# Ordering and dates ------------------------------------------------------------------


def test_newest_first_then_quality_then_slug() -> None:
    records = [
        story("2026-11-18-older-low.md", "2026-11-18T10:00:00+00:00", quality=5),
        story("2026-11-18-newest.md", "2026-11-18T12:00:00+00:00", quality=1),
        story("2026-11-18-zebra.md", "2026-11-18T10:00:00+00:00", quality=9),
        story("2026-11-18-aardvark.md", "2026-11-18T11:00:00+01:00", quality=9),  # same instant
        story("2026-11-18-middle.md", "2026-11-18T10:00:00+00:00", quality=9),
    ]
    expected = [
        "2026-11-18-newest.md",
        "2026-11-18-aardvark.md",
        "2026-11-18-middle.md",
        "2026-11-18-zebra.md",
        "2026-11-18-older-low.md",
    ]
    for seed in range(5):
        assert paths(build_site(shuffled(records, seed), CONFIG)) == expected


def test_article_dates_and_urls_use_the_site_timezone() -> None:
    """23:30 UTC on the 18th is already the 19th in Auckland: the URL follows the site's day."""
    config = SiteConfig(timezone="Pacific/Auckland")
    record = story("2026-11-18-late-night-vote.md", "2026-11-18T23:30:00+00:00")
    [article] = build_site([record], config).articles
    assert article.date.tzinfo == ZoneInfo("Pacific/Auckland")
    assert (article.date.day, article.date.hour) == (19, 12)
    assert article.url == "/news/2026/11/19/late-night-vote/"
    [utc_article] = build_site([record], CONFIG).articles
    assert utc_article.url == "/news/2026/11/18/late-night-vote/"


def test_article_url_pattern_comes_from_config() -> None:
    config = SiteConfig(urls=UrlPatterns(article="/stories/{year}/{slug}/"))
    [article] = build_site([story("2026-11-18-tide.md")], config).articles
    assert article.url == "/stories/2026/tide/"


def test_slug_falls_back_to_the_title() -> None:
    [article] = build_site([story("2026-11-18.md", title="Ferry fares frozen")], CONFIG).articles
    assert article.slug == "ferry-fares-frozen"


# Pagination --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "pages"),
    [
        (0, [[]]),
        (1, [[0]]),
        (3, [[0, 1, 2]]),
        (4, [[0, 1, 2], [3]]),
        (7, [[0, 1, 2], [3, 4, 5], [6]]),
    ],
)
def test_pagination_edges(count: int, pages: list[list[int]]) -> None:
    pagers = paginate(list(range(count)), 3, "/topics/rail/", CONFIG)
    assert [list(p.items) for p in pagers] == pages
    urls = ["/topics/rail/"] + [f"/topics/rail/page/{n}/" for n in range(2, len(pages) + 1)]
    assert [p.url for p in pagers] == urls
    assert [p.number for p in pagers] == list(range(1, len(pages) + 1))
    assert {(p.count, p.total, p.first_url) for p in pagers} == {
        (len(pages), count, "/topics/rail/")
    }
    assert [p.prev_url for p in pagers] == [None, *urls[:-1]]
    assert [p.next_url for p in pagers] == [*urls[1:], None]


def test_page_url_pattern_comes_from_config() -> None:
    config = SiteConfig(urls=UrlPatterns(page="p{n}/"))
    assert [p.url for p in paginate([1, 2, 3], 2, "/", config)] == ["/", "/p2/"]


def test_front_page_is_paginated_by_page_size_after_its_top_stories() -> None:
    config = SiteConfig(page_size=2, lead_stories=1)
    records = [
        story(f"2026-11-{day:02d}-story-{day}.md", f"2026-11-{day:02d}T09:00:00+00:00")
        for day in range(1, 8)
    ]
    site = build_site(records, config)
    home = [spec for spec in plan_pages(site) if spec.context["kind"] == "home"]
    assert [spec.url for spec in home] == ["/", "/page/2/", "/page/3/"]
    top = [a.record.path for a in home[0].context["top"]]
    assert len(top) == 1 and [spec.context["top"] for spec in home[1:]] == [(), ()]
    listed = [a.record.path for spec in home for a in spec.context["pager"].items]
    assert listed == [p for p in paths(site) if p not in top]  # each story once, in order


# Taxonomies --------------------------------------------------------------------------


def test_case_variants_of_a_topic_are_one_topic() -> None:
    records = [
        story("2026-11-18-a.md", topics=("Climate",)),
        story("2026-11-18-b.md", topics=("climate",)),
        story("2026-11-18-c.md", topics=("Climate", "CLIMATE")),
        story("2026-11-18-d.md", topics=("Rail",)),
    ]
    site = build_site(records, CONFIG)
    climate, rail = site.taxonomy("topics").terms
    assert (climate.name, climate.ref.slug, climate.url) == (
        "Climate",
        "climate",
        "/topics/climate/",
    )
    assert sorted(a.record.path for a in climate.articles) == [r.path for r in records[:3]]
    assert [a.record.path for a in rail.articles] == ["2026-11-18-d.md"]
    by_path = {a.record.path: a for a in site.articles}
    assert by_path["2026-11-18-c.md"].topics == (climate.ref,)  # listed once
    assert by_path["2026-11-18-b.md"].topics == (climate.ref,)


def test_the_most_used_spelling_names_a_topic() -> None:
    records = [
        story(f"2026-11-18-{n}.md", topics=(name,)) for n, name in enumerate(["ai", "AI", "AI"])
    ]
    [term] = build_site(records, CONFIG).taxonomy("topics").terms
    assert term.name == "AI"


def test_terms_are_sorted_by_name_and_list_newest_first() -> None:
    records = [
        story("2026-11-18-old.md", "2026-11-18T08:00:00+00:00", topics=("rail", "Zoning")),
        story("2026-11-18-new.md", "2026-11-18T18:00:00+00:00", topics=("Rail",)),
        story("2026-11-18-mid.md", "2026-11-18T12:00:00+00:00", topics=("Budget",)),
    ]
    topics = build_site(records, CONFIG).taxonomy("topics")
    assert [t.name.casefold() for t in topics.terms] == ["budget", "rail", "zoning"]
    rail = topics.terms[1]
    assert [a.record.path for a in rail.articles] == ["2026-11-18-new.md", "2026-11-18-old.md"]


def test_provider_terms_carry_logo_and_domain_from_the_newest_record() -> None:
    old_logo = Image("https://ledger.example/old-logo.png", 32, 32)
    new_logo = Image("https://ledger.example/logo.png", 64, 64)
    records = [
        story(
            "2026-11-16-a.md",
            "2026-11-16T09:00:00+00:00",
            provider=Provider("Harbour Ledger", "old.example", (old_logo,)),
        ),
        story(
            "2026-11-17-b.md",
            "2026-11-17T09:00:00+00:00",
            provider=Provider("harbour ledger", "ledger.example", (new_logo,)),
        ),
        story("2026-11-18-c.md", "2026-11-18T09:00:00+00:00", provider=Provider("Harbour Ledger")),
        story("2026-11-18-d.md", provider=Provider("Civic Lantern")),
    ]
    site = build_site(records, CONFIG)
    providers = site.taxonomy("providers")
    assert providers.url == "/providers/"
    lantern, ledger = providers.terms
    assert (ledger.name, ledger.url) == ("Harbour Ledger", "/providers/harbour-ledger/")
    assert ledger.logo == new_logo
    assert ledger.domain == "ledger.example"
    assert len(ledger.articles) == 3
    assert (lantern.logo, lantern.domain) == (None, None)
    assert {a.provider for a in site.articles if a.record.path != "2026-11-18-d.md"} == {ledger.ref}


def test_taxonomy_urls_come_from_config() -> None:
    config = SiteConfig(urls=UrlPatterns(topics="/subjects/", providers="/sources/"))
    site = build_site(
        [story("2026-11-18-a.md", topics=("Rail",), provider=Provider("Civic Lantern"))], config
    )
    assert site.taxonomy("topics").terms[0].url == "/subjects/rail/"
    assert site.taxonomy("providers").terms[0].url == "/sources/civic-lantern/"


# Related stories ---------------------------------------------------------------------


def test_related_links_point_inside_when_the_site_has_the_story() -> None:
    here = story("2026-11-17-flood-wall-funded.md", original_url="https://ledger.example/orig/wall")
    other = story("2026-11-16-flood-wall-study.md")
    draft = story("2026-11-16-unpublished.md", published=False)
    main = story(
        "2026-11-18-flood-wall-works-begin.md",
        related=(
            Related("Funding approved", "https://ledger.example/orig/wall"),  # by originalUrl
            Related("The study", other.web_url),
            Related("Elsewhere", "https://elsewhere.example/x"),
            Related("Itself", "https://news.example/2026-11-18-flood-wall-works-begin"),
            Related("Not yet out", draft.web_url),
            Related("No link", None),
        ),
    )
    site = build_site([main, here, other, draft], CONFIG)
    by_path = {a.record.path: a for a in site.articles}
    links = by_path[main.path].related
    assert [(link.title, link.url, link.internal) for link in links] == [
        ("Funding approved", by_path[here.path].url, True),
        ("The study", by_path[other.path].url, True),
        ("Elsewhere", "https://elsewhere.example/x", False),
        ("Not yet out", draft.web_url, False),
        ("No link", None, False),
    ]


def test_related_link_to_a_draft_is_internal_with_drafts() -> None:
    draft = story("2026-11-16-unpublished.md", published=False)
    main = story("2026-11-18-main.md", related=(Related("Draft", draft.web_url),))
    site = build_site([main, draft], CONFIG, drafts=True)
    [link] = next(a for a in site.articles if a.record.path == main.path).related
    assert link.internal and link.url.startswith("/news/")


# Duplicates --------------------------------------------------------------------------

SAME = "https://ledger.example/news/one-story"


def test_duplicates_merge_published_first_then_best_quality() -> None:
    records = [
        story("2026-11-18-a-draft.md", web_url=SAME, quality=99, published=False),
        story("2026-11-18-b-weak.md", web_url=SAME, quality=10),
        story("2026-11-18-c-strong.md", web_url=SAME, quality=50),
        story("2026-11-18-d-other.md"),
    ]
    for seed in range(3):
        site = build_site(shuffled(records, seed), CONFIG, drafts=True)
        assert sorted(paths(site)) == ["2026-11-18-c-strong.md", "2026-11-18-d-other.md"]
        kept = next(a for a in site.articles if a.record.web_url == SAME)
        assert sorted(kept.merged) == ["2026-11-18-a-draft.md", "2026-11-18-b-weak.md"]
        warnings = {d.path: d for d in site.diagnostics}
        assert warnings.keys() == {"2026-11-18-a-draft.md", "2026-11-18-b-weak.md"}
        assert all(d.severity == "warning" and "c-strong" in str(d) for d in warnings.values())


def test_without_drafts_a_draft_duplicate_is_simply_left_out() -> None:
    records = [
        story("2026-11-18-a-draft.md", web_url=SAME, quality=99, published=False),
        story("2026-11-18-b-live.md", web_url=SAME, quality=10),
    ]
    site = build_site(records, CONFIG)
    assert paths(site) == ["2026-11-18-b-live.md"]
    assert site.articles[0].merged == ()
    assert site.diagnostics == ()


def test_duplicates_of_equal_quality_keep_the_first_path() -> None:
    records = [story("2026-11-18-b.md", web_url=SAME), story("2026-11-18-a.md", web_url=SAME)]
    assert paths(build_site(records, CONFIG)) == ["2026-11-18-a.md"]


def test_original_url_identifies_a_story_without_web_url() -> None:
    records = [
        story("2026-11-18-a.md", web_url=None, original_url=SAME, quality=1),
        story("2026-11-18-b.md", web_url=None, original_url=SAME, quality=2),
        story("2026-11-18-c.md", web_url=None, original_url=None),
        story("2026-11-18-d.md", web_url=None, original_url=None),
    ]
    assert sorted(paths(build_site(records, CONFIG))) == [
        "2026-11-18-b.md",
        "2026-11-18-c.md",
        "2026-11-18-d.md",
    ]


# Slug collisions ---------------------------------------------------------------------


def test_slug_collisions_get_deterministic_suffixes_and_are_reported() -> None:
    records = [
        story("b/2026-11-18-storm-update.md"),
        story("a/2026-11-18-storm-update.md"),
        story("c/2026-11-18-storm-update.md"),
        story("2026-11-19-storm-update.md", "2026-11-19T09:00:00+00:00"),  # another day: no clash
    ]
    results = set()
    for order in itertools.permutations(records):
        site = build_site(list(order), CONFIG)
        urls = {a.record.path: a.url for a in site.articles}
        results.add(tuple(sorted(urls.items())))
        assert urls == {
            "a/2026-11-18-storm-update.md": "/news/2026/11/18/storm-update/",
            "b/2026-11-18-storm-update.md": "/news/2026/11/18/storm-update-2/",
            "c/2026-11-18-storm-update.md": "/news/2026/11/18/storm-update-3/",
            "2026-11-19-storm-update.md": "/news/2026/11/19/storm-update/",
        }
        reported = {d.path: d for d in site.diagnostics}
        assert reported.keys() == {"b/2026-11-18-storm-update.md", "c/2026-11-18-storm-update.md"}
        assert all(d.severity == "warning" for d in reported.values())
        assert "storm-update-3" in reported["c/2026-11-18-storm-update.md"].message
    assert len(results) == 1


def test_a_suffix_never_takes_an_existing_slug() -> None:
    records = [
        story("2026-11-18-vote.md"),
        story("x/2026-11-18-vote.md"),
        story("2026-11-18-vote-2.md"),
    ]
    urls = [a.url for a in build_site(records, CONFIG).articles]
    assert len(set(urls)) == 3


# Drafts ------------------------------------------------------------------------------


def test_drafts_only_with_drafts_and_marked() -> None:
    records = [story("2026-11-18-live.md"), story("2026-11-18-draft.md", published=False)]
    assert paths(build_site(records, CONFIG)) == ["2026-11-18-live.md"]
    with_drafts = build_site(records, CONFIG, drafts=True)
    assert {a.record.path: a.draft for a in with_drafts.articles} == {
        "2026-11-18-live.md": False,
        "2026-11-18-draft.md": True,
    }


def test_drafts_are_left_out_of_taxonomies_without_drafts() -> None:
    records = [
        story("2026-11-18-live.md", topics=("Rail",)),
        story(
            "2026-11-18-draft.md",
            published=False,
            topics=("Secret plans",),
            provider=Provider("Hidden Desk"),
        ),
    ]
    site = build_site(records, CONFIG)
    assert [t.name for t in site.taxonomy("topics").terms] == ["Rail"]
    assert site.taxonomy("providers").terms == ()


def test_draft_page_is_marked_as_a_draft(scratch: Scratch) -> None:
    scratch.add("2026-11-18-live.md", title="Live story")
    scratch.add("2026-11-18-draft.md", title="Draft story", published=False)
    scratch.build()
    assert not (scratch.output / "news/2026/11/18/draft").exists()
    scratch.build(drafts=True)
    draft = parse(scratch.output / "news/2026/11/18/draft/index.html")
    live = parse(scratch.output / "news/2026/11/18/live/index.html")
    assert draft.select(".badge-draft") and "Draft" in draft.select_one(".badge-draft").get_text()
    assert not live.select(".badge-draft")
    home = parse(scratch.output / "index.html")
    cards = {
        c.select_one(".card-title").get_text(strip=True): c
        for c in home.select("article.card, article.top")
    }
    assert cards["Draft story"].select(".badge-draft") and not cards["Live story"].select(
        ".badge-draft"
    )
