"""What Pagefind is given for each story: a small page made from the model, and its shard.

The search index used to be made from the built article pages, whole (navigation,
related stories, footer), after they were written. It is now made from the stories
themselves, without reading a page back: each article becomes a page of a few lines
holding what its page marks for search (the headline, the excerpt and body, the picture
and date shown in results, the type, provider and topic filters), plus the provider's
and topics' names as text so that a story is found by them too. The headline weighs
more than the text, as on the real page, and the filters get the escaping
pagefind_labels gives them. A story without a body is given to Pagefind as a custom
record that indexes exactly as that page would (pagefind_service), which spares it
parsing HTML; one with a body, whose HTML can hold anything, as the page. A site with
its own article template decides what its pages mark for search: then the pages as
built are indexed.

The stories are split into shards by year, or by month in a year of more than
SHARD_MAX stories, each indexed on its own, so that an edit indexes one shard again.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from masthead.config import SiteConfig
from masthead.hashing import digest_of
from masthead.outputs.pagefind_labels import safe_filters
from masthead.outputs.pagefind_service import Record, heading, sentence
from masthead.outputs.plan import PageSpec
from masthead.outputs.render import MissingPaths, human_date
from masthead.urls import under_base

SHARD_MAX = 500
"""Stories a year may hold and still be one shard: beyond it, its months are shards."""


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """One story as Pagefind is given it: its page's URL and a page made for the index
    (when asked for: a shard whose stories are all as they were is not indexed again),
    with its date (year and month for its shard, the time to order the shard by)."""

    url: str
    year: int
    month: int
    time: float
    key: str
    """A hash of everything the page is made of ('' when not known): the same key, the
    same page, which the last build indexed."""
    make: Callable[[], str | Record]

    @property
    def document(self) -> str | Record:
        """The page's HTML, or the custom record standing for it."""
        return self.make()

    @classmethod
    def given(
        cls, url: str, year: int, month: int, time: float, key: str, document: str | Record
    ) -> SearchDoc:
        """A story whose document is at hand (a page as built, one sent by the preview)."""
        return cls(url, year, month, time, key, partial(_same, document))


def _same(document: str | Record) -> str | Record:
    return document


@dataclass(frozen=True, slots=True)
class SearchInput:
    """This build's stories for the index: those whose documents were made (`docs`), and
    the URLs of outputs the build did not plan afresh (`unplanned`: a fast path over the
    stored model left them as stubs), which the last build's documents stand for."""

    docs: list[SearchDoc]
    unplanned: list[str]


def search_docs(
    config: SiteConfig,
    specs: Iterable[PageSpec],
    missing: frozenset[str],
    built: Callable[[str], str | None] | None = None,
) -> SearchInput:
    """The documents of the article pages among `specs`. `built`: the page as built for
    a URL (None: not marked for search), to index in place of the page made here, for a
    site whose own article template decides what its pages mark for search."""
    body = MissingPaths(missing)
    # What every page is made of besides its story (a site's own template: not known).
    common = digest_of(config.language, config.base_path, sorted(missing)) if built is None else ""
    docs = []
    unplanned = []
    for spec in specs:
        context = spec.context
        if not context:
            unplanned.append(spec.url)
        elif context.get("kind") == "article":
            article = context["article"]
            date = article.date
            when = (spec.url, date.year, date.month, date.timestamp())
            if built is None:
                key = digest_of(common, article.digest) if article.digest else ""
                docs.append(SearchDoc(*when, key, partial(_document, config, article, body)))
            elif (page := built(spec.url)) is not None:
                docs.append(SearchDoc.given(*when, "", page))  # the page as built
    return SearchInput(docs, unplanned)


def shard_labels(dates: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The shard of each (year, month): the year, or year-month in a year of more than
    SHARD_MAX stories (`dates` has one item per story)."""
    by_year: dict[int, int] = {}
    months = set()
    for year, month in dates:
        by_year[year] = by_year.get(year, 0) + 1
        months.add((year, month))
    return {
        (year, month): f"{year}" if by_year[year] <= SHARD_MAX else f"{year}-{month:02}"
        for year, month in months
    }


def _document(config: SiteConfig, article: Any, body: MissingPaths) -> str | Record:
    """What Pagefind is given for `article`: its record, or the page when it has a body."""
    if article.record.body_html:
        return _page(config, article, body)
    return _record(config, article, body)


def _record(config: SiteConfig, article: Any, body: MissingPaths) -> Record:
    """The custom record that indexes as `_page` would for a story without a body:
    content, meta and filters as Pagefind makes them of that page (the filter values
    escaped once, as pagefind_labels leaves them for the interface)."""
    meta = {"title": article.title, "date": human_date(article.date)}
    src = _image_src(config, article, body)
    if src is not None:
        meta["image"] = src
    filters = {"type": [_kind(article)]}
    names = []
    if article.provider:
        names.append(article.provider.name)
        filters["provider"] = [_label(article.provider.name)]
    if article.topics:
        names += [t.name for t in article.topics]
        filters["topic"] = [_label(t.name) for t in article.topics]
    content = [heading(article.title)]
    if article.excerpt:
        content.append(sentence(article.excerpt))
    if names:
        content.append(sentence(" · ".join(names)))
    return {"content": " ".join(content), "meta": meta, "filters": filters}


def _label(name: str) -> str:
    return html.escape(name, quote=False)


def _kind(article: Any) -> str:
    return "Video" if article.record.type == "video" else "Article"


def _image_src(config: SiteConfig, article: Any, body: MissingPaths) -> str | None:
    """The picture search results show, if the story has one that is there."""
    image = article.image
    if not body.available(image):
        return None
    url: str = image.url
    return under_base(config.base_path, url) if url.startswith("/") else url


def _page(config: SiteConfig, article: Any, body: MissingPaths) -> str:
    """The page Pagefind indexes for `article` (see the module's docstring)."""
    e = html.escape
    record = article.record
    parts = [
        f'<html lang="{e(config.language)}"><body><h1>{e(article.title)}</h1>',
        f'<p data-pagefind-ignore data-pagefind-filter="type:{_kind(article)}"'
        f' data-pagefind-meta="date:{e(human_date(article.date))}"></p>',
    ]
    src = _image_src(config, article, body)
    if src is not None:
        parts.append(f'<img src="{e(src)}" alt="" data-pagefind-meta="image[src]">')
    if article.excerpt:
        parts.append(f"<p>{e(article.excerpt)}</p>")
    if record.body_html:
        parts.append(f"<div>{body.body_html(config.base_path, record)}</div>")
    names = []
    if article.provider:
        names.append(f'<span data-pagefind-filter="provider">{e(article.provider.name)}</span>')
    names += [f'<span data-pagefind-filter="topic">{e(t.name)}</span>' for t in article.topics]
    if names:
        parts.append(f"<p>{' · '.join(names)}</p>")
    parts.append("</body></html>")
    page = "".join(parts)
    safe = safe_filters(page)
    return page if safe is None else safe
