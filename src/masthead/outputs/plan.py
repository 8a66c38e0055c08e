"""The page plan: every output of the site as data (URL, how to render it, context).

A page's context is the whole of its input besides templates and config: the page
fingerprint (fingerprint.py) is computed from it, which is what makes incremental
rebuilds exact. So contexts hold the smallest views that pages need (a term's name and
count rather than all its stories), and nothing else. Outputs that are not HTML (feeds,
the sitemap, robots.txt, the JSON API) are planned the same way, with a serializer in
place of templates and their input in `context["data"]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from masthead.config import SiteConfig
from masthead.model.archives import build_archive
from masthead.model.coverage import Surroundings, top_stories
from masthead.model.editions import Edition, build_editions, editions_by_month
from masthead.model.site import Article, Site, paginate
from masthead.outputs import feeds, newsletter, sitemap
from masthead.outputs.api import ApiPage, api_page, file_url
from masthead.outputs.feeds import Feed
from masthead.outputs.memo import Memos
from masthead.outputs.sitemap import SitemapEntry
from masthead.urls import api_url

Serializer = Callable[[Any, SiteConfig, Memos], bytes]


@dataclass(frozen=True, slots=True)
class PageSpec:
    url: str
    templates: tuple[str, ...]
    """Candidates, most specific first: a site may add e.g. topic.html to override term.html."""
    context: dict[str, Any] = field(hash=False)
    serializer: Serializer | None = None
    """For outputs that are not HTML: renders `context["data"]` with the site's config
    (and the build's memos, for what it makes once per story), in place of a template. Its output depends on nothing else, so the fingerprint holds."""
    lastmod: datetime | None = None
    """When what the page shows last changed (its newest story), for the sitemap."""
    finish: Callable[[str], str] | None = None
    """Turns the template's output into the file's text (the email inlines its CSS); a
    module-level function, as specs are pickled into the build cache."""


def plan_pages(site: Site, jobs: int = 1) -> Iterator[PageSpec]:
    """Yield every output in a stable order: HTML pages, feeds, the API, then site files.
    `jobs`: processes that may work out the stories' surroundings on a big site."""
    editions = build_editions(site)
    pages = [
        *_core_pages(site, jobs),
        *_editions(site, editions),
        *_archives(site),
        *_search(site),
    ]
    yield from pages
    yield from _newsletters(site, editions)
    yield from _feeds(site)
    yield from _api(site)
    yield PageSpec("/404.html", ("404.html",), {"kind": "404"})
    yield from _sitemap(pages)
    yield PageSpec("/robots.txt", (), {"kind": "robots", "data": None}, sitemap.robots)


def _newest(articles: Sequence[Article]) -> datetime | None:
    return max((a.date for a in articles), default=None)


def _first_date(articles: Sequence[Article]) -> datetime | None:
    """What _newest finds in a list in the site's order (newest first): its first story's
    date, without a walk through every story of a topic (at 100,000 records, half a second)."""
    return articles[0].date if articles else None


def _core_pages(site: Site, jobs: int) -> Iterator[PageSpec]:
    """Front page (led by the top stories, see coverage.top_stories), articles, taxonomies."""
    config = site.config
    newest = _first_date(site.articles)
    around = Surroundings(site)
    top = top_stories(site)
    # Each story once on the front page: the list goes on with the stories not on top.
    picked = {a.record.path for a in top}
    rest = [a for a in site.articles if a.record.path not in picked] if top else site.articles
    for pager in paginate(rest, config.page_size, "/", config):
        context: dict[str, Any] = {"kind": "home", "pager": pager, "top": ()}
        context.update(coverage=(), coverage_links=())
        if pager.number == 1 and top:
            shown = {a.url for a in (*top, *pager.items)}
            lead = top[0]
            context["top"] = top
            if lead.related:
                context["coverage_links"] = tuple(r for r in lead.related if r.url not in shown)
            else:
                context["coverage"] = around.related(lead, shown, 4)
        yield PageSpec(pager.url, ("index.html",), context, lastmod=newest)
    for article, near in zip(site.articles, around.everywhere(jobs), strict=True):
        yield PageSpec(
            article.url,
            ("article.html",),
            {"kind": "article", "article": article, **near},
            lastmod=article.date,
        )
    for taxonomy in site.taxonomies:
        info = taxonomy.info
        terms = tuple(t.info for t in taxonomy.terms)
        yield PageSpec(
            taxonomy.url,
            (f"{taxonomy.name}.html", "terms.html"),
            {"kind": "terms", "taxonomy": info, "terms": terms},
            lastmod=_newest([t.articles[0] for t in taxonomy.terms]),
        )
        for term in taxonomy.terms:
            term_info, newest = term.info, _first_date(term.articles)
            for pager in paginate(term.articles, config.page_size, term.url, config):
                yield PageSpec(
                    pager.url,
                    (f"{taxonomy.singular}.html", "term.html"),
                    {"kind": "term", "taxonomy": info, "term": term_info, "pager": pager},
                    lastmod=newest,
                )


def _editions(site: Site, editions: Sequence[Edition]) -> Iterator[PageSpec]:
    yield PageSpec(
        site.config.urls.editions,
        ("editions.html",),
        {"kind": "editions", "months": editions_by_month(editions)},
        lastmod=_first_date(site.articles),
    )
    for edition in editions:
        yield PageSpec(
            edition.url,
            ("edition.html",),
            {"kind": "edition", "edition": edition},
            lastmod=_newest(edition.articles),
        )


def _newsletters(site: Site, editions: Sequence[Edition]) -> Iterator[PageSpec]:
    if site.config.newsletter.enabled:
        for edition in editions:
            yield from email_specs(site.config, edition)


def email_specs(config: SiteConfig, edition: Edition) -> tuple[PageSpec, PageSpec]:
    """The edition as an email, HTML and plain text, beside its web page."""
    letter = newsletter.of_edition(edition, config.newsletter.stories)
    context = newsletter.email_context(config, letter)
    newest = _newest(letter.articles)
    html, text = (
        PageSpec(edition.url + name, (name,), context, lastmod=newest, finish=finish)
        for name, finish in (
            (newsletter.HTML_FILE, newsletter.inline_css),
            (newsletter.TEXT_FILE, newsletter.tidy_text),
        )
    )
    return html, text


def _archives(site: Site) -> Iterator[PageSpec]:
    config = site.config
    years = build_archive(site)
    yield PageSpec(
        config.urls.archive,
        ("archive.html",),
        {"kind": "archive", "years": tuple(y.info for y in years)},
        lastmod=_first_date(site.articles),
    )
    for year in years:
        info = year.info
        yield PageSpec(
            year.url,
            ("year.html",),
            {"kind": "year", "year": info},
            lastmod=_first_date(year.months[0].articles),
        )
        for month in year.months:
            for pager in paginate(month.articles, config.page_size, month.url, config):
                yield PageSpec(
                    pager.url,
                    ("month.html",),
                    {"kind": "month", "year": info, "month": month.info, "pager": pager},
                    lastmod=_first_date(month.articles),
                )


def _search(site: Site) -> Iterator[PageSpec]:
    if site.config.search:
        yield PageSpec(site.config.urls.search, ("search.html",), {"kind": "search"})


def _feeds(site: Site) -> Iterator[PageSpec]:
    """Atom, RSS and JSON feeds of the whole site and of each topic and provider."""
    config = site.config
    size = config.feed_size
    sources = [Feed(config.title, config.description, "/", site.articles[:size])]
    for taxonomy in site.taxonomies:
        about = "from" if taxonomy.name == "providers" else "about"
        for term in taxonomy.terms:
            sources.append(
                Feed(
                    f"{term.name} · {config.title}",
                    f"Stories {about} {term.name} in {config.title}.",
                    term.url,
                    term.articles[:size],
                )
            )
    kinds: tuple[tuple[str, Serializer], ...] = (
        ("atom", feeds.atom),
        ("rss", feeds.rss),
        ("json", feeds.json_feed),
    )
    for feed in sources:
        for kind, serializer in kinds:
            yield PageSpec(
                feed.url(kind),
                (),
                {"kind": f"feed-{kind}", "data": feed},
                serializer,
                lastmod=_newest(feed.articles),
            )


def _api(site: Site) -> Iterator[PageSpec]:
    config = site.config
    lists: list[tuple[str, str, Sequence[Article]]] = [
        (f"{config.title}: all news", api_url(config), site.articles)
    ]
    for taxonomy in site.taxonomies:
        for term in taxonomy.terms:
            folder = api_url(config, taxonomy.name, term.ref.slug)
            lists.append((f"{config.title}: {term.name}", folder, term.articles))
    for title, folder, articles in lists:
        for pager in paginate(articles, config.api_page_size, folder, config):
            yield PageSpec(
                file_url(pager.url),
                (),
                {"kind": "api", "data": ApiPage(title, pager)},
                api_page,
                lastmod=_newest(pager.items),
            )


def _sitemap(pages: Sequence[PageSpec]) -> Iterator[PageSpec]:
    """Every HTML page once, dated by its newest story; an index past the URL limit."""
    entries = [SitemapEntry(p.url, p.lastmod) for p in pages if p.url.endswith("/")]
    parts = sitemap.split(entries)
    for url, part in parts:
        yield PageSpec(url, (), {"kind": "sitemap", "data": part}, sitemap.urlset)
    if len(parts) > 1:
        index = sitemap.index_entries(parts)
        yield PageSpec(
            sitemap.SITEMAP_URL,
            (),
            {"kind": "sitemap-index", "data": index},
            sitemap.sitemap_index,
        )
