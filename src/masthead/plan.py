"""The page plan: every page of the site as data (URL, templates, context).

A page's context is the whole of its input besides templates and config: the page
fingerprint (fingerprint.py) is computed from it, which is what makes incremental
rebuilds exact. So contexts hold the smallest views that pages need (a term's name and
count rather than all its stories), and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from masthead.site import Site, paginate


@dataclass(frozen=True, slots=True)
class PageSpec:
    url: str
    templates: tuple[str, ...]
    """Candidates, most specific first: a site may add e.g. topic.html to override term.html."""
    context: dict[str, Any] = field(hash=False)


def plan_pages(site: Site) -> Iterator[PageSpec]:
    """Yield every page in a stable order: front page, articles, taxonomies, extras."""
    config = site.config
    for pager in paginate(site.articles, config.page_size, "/", config):
        yield PageSpec(pager.url, ("index.html",), {"kind": "home", "pager": pager})
    for article in site.articles:
        yield PageSpec(article.url, ("article.html",), {"kind": "article", "article": article})
    for taxonomy in site.taxonomies:
        info = taxonomy.info
        terms = tuple(t.info for t in taxonomy.terms)
        yield PageSpec(
            taxonomy.url,
            (f"{taxonomy.name}.html", "terms.html"),
            {"kind": "terms", "taxonomy": info, "terms": terms},
        )
        for term in taxonomy.terms:
            for pager in paginate(term.articles, config.page_size, term.url, config):
                yield PageSpec(
                    pager.url,
                    (f"{taxonomy.singular}.html", "term.html"),
                    {"kind": "term", "taxonomy": info, "term": term.info, "pager": pager},
                )
    yield PageSpec("/404.html", ("404.html",), {"kind": "404"})
