"""schema.org data for search engines: NewsArticle on article pages, ItemList on lists.

The functions return plain dicts. Templates serialise them with Jinja's `tojson`, which
writes `<`, `>`, `&` and `'` as `\\u003c`-style escapes, so a title holding `</script>`
cannot end the `<script type="application/ld+json">` element early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from masthead.config import SiteConfig
from masthead.model.site import Article
from masthead.records.loader import Provider
from masthead.records.safeurl import safe_url
from masthead.urls import absolute_link, absolute_url

SCHEMA = "https://schema.org"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")


def provider_home(provider: Provider | None) -> str | None:
    """The provider's site from its domain, if the domain is a plain host name."""
    if provider is None or not provider.domain or not _HOST.match(provider.domain):
        return None
    return safe_url(f"https://{provider.domain.lower()}/")


def news_article(config: SiteConfig, article: Article) -> dict[str, Any]:
    url = absolute_url(config, article.url)
    data: dict[str, Any] = {
        "@context": SCHEMA,
        "@type": "NewsArticle",
        "headline": article.title,
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": article.date.isoformat(),
        "inLanguage": config.language,
    }
    if article.excerpt:
        data["description"] = article.excerpt
    if article.record.images:
        data["image"] = [absolute_link(config, i.url) for i in article.record.images]
    if article.topics:
        data["articleSection"] = [t.name for t in article.topics]
    if article.original_url:
        data["isBasedOn"] = absolute_link(config, article.original_url)
    provider = article.record.provider
    if provider is not None:
        org: dict[str, Any] = {"@type": "Organization", "name": provider.name}
        if home := provider_home(provider):
            org["url"] = home
        if provider.logo:
            org["logo"] = absolute_link(config, provider.logo.url)
        data["author"] = org
        data["publisher"] = org
    return data


def item_list(config: SiteConfig, items: Iterable[Any], start: int = 1) -> dict[str, Any]:
    """An ItemList of anything with a site-relative `url` and a `title` (or a `name`).

    `start` is the position of the first item, so page 3 of a list goes on counting.
    """
    return {
        "@context": SCHEMA,
        "@type": "ItemList",
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "url": absolute_url(config, item.url),
                "name": getattr(item, "title", None) or item.name,
            }
            for position, item in enumerate(items, start)
        ],
    }
