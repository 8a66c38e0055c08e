"""sitemap.xml (split under a sitemap index past the protocol's limit) and robots.txt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from masthead.config import SiteConfig
from masthead.outputs.memo import Memos
from masthead.outputs.xmltree import SITEMAP_NS, element, sub, to_bytes
from masthead.urls import absolute_url

MAX_URLS = 50_000
"""The sitemap protocol's limit of URLs per file; past it, sitemap.xml becomes an index."""
SITEMAP_URL = "/sitemap.xml"


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    url: str
    """Site-relative URL of a page, or of one sitemap file in an index."""
    lastmod: datetime | None = None


def split(entries: Sequence[SitemapEntry]) -> list[tuple[str, tuple[SitemapEntry, ...]]]:
    """The URL sets to write as (file URL, entries): all in sitemap.xml while they fit.

    Past MAX_URLS they go to sitemap-1.xml, sitemap-2.xml, ..., and sitemap.xml becomes
    the index of those (see `index_entries`).
    """
    if len(entries) <= MAX_URLS:
        return [(SITEMAP_URL, tuple(entries))]
    return [
        (f"/sitemap-{n}.xml", tuple(entries[start : start + MAX_URLS]))
        for n, start in enumerate(range(0, len(entries), MAX_URLS), 1)
    ]


def index_entries(parts: Sequence[tuple[str, Sequence[SitemapEntry]]]) -> tuple[SitemapEntry, ...]:
    """One index entry per sitemap file, dated by the newest page it lists."""
    return tuple(
        SitemapEntry(url, max((e.lastmod for e in part if e.lastmod), default=None))
        for url, part in parts
    )


def urlset(entries: Sequence[SitemapEntry], config: SiteConfig, memos: Memos) -> bytes:
    return _document("urlset", "url", entries, config)


def sitemap_index(entries: Sequence[SitemapEntry], config: SiteConfig, memos: Memos) -> bytes:
    return _document("sitemapindex", "sitemap", entries, config)


def _document(
    root_tag: str, item_tag: str, entries: Sequence[SitemapEntry], config: SiteConfig
) -> bytes:
    root = element(root_tag)
    for entry in entries:
        item = sub(root, item_tag)
        sub(item, "loc", absolute_url(config, entry.url))
        if entry.lastmod is not None:
            sub(item, "lastmod", entry.lastmod.isoformat())
    return to_bytes(root, default_namespace=SITEMAP_NS)


def robots(_: object, config: SiteConfig, memos: Memos) -> bytes:
    """Allow everything and name the sitemap, by its absolute URL as the protocol asks."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {absolute_url(config, SITEMAP_URL)}\n".encode()
