"""The page plan: every page of the site as data (URL, templates, context, dependencies)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from masthead.site import Site, paginate


@dataclass(frozen=True, slots=True)
class PageSpec:
    url: str
    templates: tuple[str, ...]
    context: dict[str, Any] = field(hash=False)
    deps: frozenset[str] = frozenset()
    """Keys of what the page shows: `record:<path>`, `list:<name>`, `site`."""


def plan_pages(site: Site) -> Iterator[PageSpec]:
    """Yield every page in a stable order: front page, articles, taxonomies, extras."""
    config = site.config
    everything = frozenset({"list:all"})
    for pager in paginate(site.articles, config.page_size, "/", config):
        yield PageSpec(pager.url, ("index.html",), {"kind": "home", "pager": pager}, everything)
    for article in site.articles:
        deps = {f"record:{article.record.path}", *(f"record:{p}" for p in article.merged)}
        yield PageSpec(
            article.url, ("article.html",), {"kind": "article", "article": article}, frozenset(deps)
        )
    for taxonomy in site.taxonomies:
        key = frozenset({f"list:{taxonomy.name}"})
        yield PageSpec(
            taxonomy.url,
            (f"{taxonomy.name}.html", "terms.html"),
            {"kind": "terms", "taxonomy": taxonomy},
            key,
        )
        for term in taxonomy.terms:
            for pager in paginate(term.articles, config.page_size, term.url, config):
                yield PageSpec(
                    pager.url,
                    (f"{taxonomy.singular}.html", "term.html"),
                    {"kind": "term", "taxonomy": taxonomy, "term": term, "pager": pager},
                    frozenset({f"{taxonomy.singular}:{term.ref.slug}"}),
                )
    yield PageSpec("/404.html", ("404.html",), {"kind": "404"}, frozenset())
