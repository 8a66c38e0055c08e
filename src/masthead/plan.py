"""The page plan: every output of the site as data (URL, how to render it, dependencies)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from masthead import feeds, sitemap
from masthead.api import ApiPage, api_page, file_url
from masthead.archives import build_archive
from masthead.config import SiteConfig
from masthead.editions import Edition, build_editions, editions_by_month
from masthead.feeds import Feed
from masthead.site import Article, Site, paginate
from masthead.sitemap import SitemapEntry
from masthead.urls import api_url

Serializer = Callable[[Any, SiteConfig], bytes]


@dataclass(frozen=True, slots=True)
class PageSpec:
    url: str
    templates: tuple[str, ...]
    context: dict[str, Any] = field(hash=False)
    deps: frozenset[str] = frozenset()
    """Keys of what the page shows: `record:<path>`, `list:<name>`, `topic:<slug>`,
    `provider:<slug>`, `edition:<YYYY-MM-DD>`, `year:<YYYY>`, `month:<YYYY-MM>`."""
    serializer: Serializer | None = None
    """For outputs that are not HTML (feeds, sitemap, JSON): renders `context["data"]`
    with the site's config, in place of a template."""
    lastmod: datetime | None = None
    """When what the page shows last changed (its newest story), for the sitemap."""


def membership_keys(article: Article) -> frozenset[str]:
    """Keys of every list, feed and edition an article appears on.

    An incremental build touches these for a changed record before and after the edit,
    so a story that moves (to another topic, another day) rebuilds both places.
    """
    day = article.date
    return frozenset(
        {
            "list:all",
            "list:editions",
            "list:archive",
            *(f"list:{t.taxonomy}" for t in (*article.topics, article.provider) if t),
            *(f"topic:{t.slug}" for t in article.topics),
            *([f"provider:{article.provider.slug}"] if article.provider else []),
            f"edition:{day.date().isoformat()}",
            f"year:{day.year:04d}",
            f"month:{day.year:04d}-{day.month:02d}",
        }
    )


def plan_pages(site: Site) -> Iterator[PageSpec]:
    """Yield every output in a stable order: HTML pages, feeds, the API, then site files."""
    editions = build_editions(site)
    pages = [
        *_core_pages(site, editions),
        *_editions(site, editions),
        *_archives(site),
        *_search(site),
    ]
    yield from pages
    yield from _feeds(site)
    yield from _api(site)
    yield PageSpec("/404.html", ("404.html",), {"kind": "404"}, frozenset())
    yield from _sitemap(pages)
    yield PageSpec("/robots.txt", (), {"kind": "robots", "data": None}, serializer=sitemap.robots)


def _newest(articles: Sequence[Article]) -> datetime | None:
    return max((a.date for a in articles), default=None)


def _core_pages(site: Site, editions: Sequence[Edition]) -> Iterator[PageSpec]:
    """Front page (led by the latest edition), articles, taxonomies."""
    config = site.config
    everything = frozenset({"list:all"})
    lead = editions[0] if editions and config.lead_stories else None
    for pager in paginate(site.articles, config.page_size, "/", config):
        context = {"kind": "home", "pager": pager, "lead": lead if pager.number == 1 else None}
        yield PageSpec(
            pager.url, ("index.html",), context, everything, lastmod=_newest(site.articles)
        )
    for article in site.articles:
        deps = {f"record:{article.record.path}", *(f"record:{p}" for p in article.merged)}
        yield PageSpec(
            article.url,
            ("article.html",),
            {"kind": "article", "article": article},
            frozenset(deps),
            lastmod=article.date,
        )
    for taxonomy in site.taxonomies:
        key = frozenset({f"list:{taxonomy.name}"})
        yield PageSpec(
            taxonomy.url,
            (f"{taxonomy.name}.html", "terms.html"),
            {"kind": "terms", "taxonomy": taxonomy},
            key,
            lastmod=_newest([t.articles[0] for t in taxonomy.terms]),
        )
        for term in taxonomy.terms:
            for pager in paginate(term.articles, config.page_size, term.url, config):
                yield PageSpec(
                    pager.url,
                    (f"{taxonomy.singular}.html", "term.html"),
                    {"kind": "term", "taxonomy": taxonomy, "term": term, "pager": pager},
                    frozenset({f"{taxonomy.singular}:{term.ref.slug}"}),
                    lastmod=_newest(term.articles),
                )


def _editions(site: Site, editions: Sequence[Edition]) -> Iterator[PageSpec]:
    yield PageSpec(
        site.config.urls.editions,
        ("editions.html",),
        {"kind": "editions", "months": editions_by_month(editions)},
        frozenset({"list:editions"}),
        lastmod=_newest(site.articles),
    )
    for edition in editions:
        # Its links to the days before and after depend on which days have editions.
        deps = frozenset({f"edition:{edition.day.isoformat()}", "list:editions"})
        yield PageSpec(
            edition.url,
            ("edition.html",),
            {"kind": "edition", "edition": edition},
            deps,
            lastmod=_newest(edition.articles),
        )


def _archives(site: Site) -> Iterator[PageSpec]:
    config = site.config
    years = build_archive(site)
    yield PageSpec(
        config.urls.archive,
        ("archive.html",),
        {"kind": "archive", "years": years},
        frozenset({"list:archive"}),
        lastmod=_newest(site.articles),
    )
    for year in years:
        yield PageSpec(
            year.url,
            ("year.html",),
            {"kind": "year", "year": year},
            frozenset({f"year:{year.year:04d}"}),
            lastmod=_newest(year.months[0].articles),
        )
        for month in year.months:
            key = frozenset({f"month:{month.year:04d}-{month.month:02d}"})
            for pager in paginate(month.articles, config.page_size, month.url, config):
                yield PageSpec(
                    pager.url,
                    ("month.html",),
                    {"kind": "month", "year": year, "month": month, "pager": pager},
                    key,
                    lastmod=_newest(month.articles),
                )


def _search(site: Site) -> Iterator[PageSpec]:
    if site.config.search:
        yield PageSpec(site.config.urls.search, ("search.html",), {"kind": "search"})


def _feeds(site: Site) -> Iterator[PageSpec]:
    """Atom, RSS and JSON feeds of the whole site and of each topic and provider."""
    config = site.config
    size = config.feed_size
    sources = [(Feed(config.title, config.description, "/", site.articles[:size]), "list:all")]
    for taxonomy in site.taxonomies:
        about = "from" if taxonomy.name == "providers" else "about"
        for term in taxonomy.terms:
            feed = Feed(
                f"{term.name} · {config.title}",
                f"Stories {about} {term.name} in {config.title}.",
                term.url,
                term.articles[:size],
            )
            sources.append((feed, f"{taxonomy.singular}:{term.ref.slug}"))
    kinds: tuple[tuple[str, Serializer], ...] = (
        ("atom", feeds.atom),
        ("rss", feeds.rss),
        ("json", feeds.json_feed),
    )
    for feed, key in sources:
        for kind, serializer in kinds:
            yield PageSpec(
                feed.url(kind),
                (),
                {"kind": f"feed-{kind}", "data": feed},
                frozenset({key}),
                serializer,
                lastmod=_newest(feed.articles),
            )


def _api(site: Site) -> Iterator[PageSpec]:
    config = site.config
    lists: list[tuple[str, str, Sequence[Article], str]] = [
        (f"{config.title}: all news", api_url(config), site.articles, "list:all")
    ]
    for taxonomy in site.taxonomies:
        for term in taxonomy.terms:
            lists.append(
                (
                    f"{config.title}: {term.name}",
                    api_url(config, taxonomy.name, term.ref.slug),
                    term.articles,
                    f"{taxonomy.singular}:{term.ref.slug}",
                )
            )
    for title, folder, articles, key in lists:
        for pager in paginate(articles, config.api_page_size, folder, config):
            yield PageSpec(
                file_url(pager.url),
                (),
                {"kind": "api", "data": ApiPage(title, pager)},
                frozenset({key}),
                api_page,
                lastmod=_newest(pager.items),
            )


def _sitemap(pages: Iterable[PageSpec]) -> Iterator[PageSpec]:
    """Every HTML page once; the sitemap shows them all, so it depends on all their keys."""
    listed = [p for p in pages if p.url.endswith("/")]
    entries = [SitemapEntry(p.url, p.lastmod) for p in listed]
    deps = frozenset().union(*(p.deps for p in listed))
    parts = sitemap.split(entries)
    for url, part in parts:
        yield PageSpec(url, (), {"kind": "sitemap", "data": part}, deps, sitemap.urlset)
    if len(parts) > 1:
        index = sitemap.index_entries(parts)
        yield PageSpec(
            sitemap.SITEMAP_URL,
            (),
            {"kind": "sitemap-index", "data": index},
            deps,
            sitemap.sitemap_index,
        )
