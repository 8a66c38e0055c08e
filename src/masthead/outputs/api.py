"""The JSON API: the news as paginated JSON documents, for the site and for each term.

Each page lives at `<folder>index.json`, where the folder follows the same pagination
pattern as the HTML lists (`/api/news/`, `/api/news/page/2/`, ...), and links to its
neighbours with absolute `next` and `prev` URLs. Its compact JSON writer serves the
JSON feeds too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from masthead.config import SiteConfig
from masthead.model.site import Article, Pager
from masthead.outputs.memo import Memos
from masthead.urls import API_FILE, absolute_link, absolute_url


def encode(value: Any) -> str:
    """`value` as compact JSON, non-ASCII characters as they are."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def with_items(head: dict[str, Any], items: Iterable[str]) -> bytes:
    """`head` plus a last field `"items"`, the already encoded `items`, as one document.

    A story is an item of several API pages and JSON feeds; its text is made once (per
    build: Memos) and spliced into each document, giving the bytes `json.dumps` gives
    for the whole.
    """
    text = encode({**head, "items": []})
    return f"{text[:-3]}[{','.join(items)}]}}\n".encode()


@dataclass(frozen=True, slots=True)
class ApiPage:
    title: str
    pager: Pager[Article]


def file_url(folder_url: str) -> str:
    return folder_url + API_FILE


def api_page(page: ApiPage, config: SiteConfig, memos: Memos) -> bytes:
    pager = page.pager

    def link(folder: str | None) -> str | None:
        return absolute_url(config, file_url(folder)) if folder else None

    data = {
        "title": page.title,
        "url": link(pager.url),
        "page": pager.number,
        "pages": pager.count,
        "total": pager.total,
        "prev": link(pager.prev_url),
        "next": link(pager.next_url),
    }
    item = memos.of(_encoded_item)  # each story's, made once per build
    return with_items(data, (item(a, config) for a in pager.items))


def _encoded_item(article: Article, config: SiteConfig) -> str:
    return encode(_item(article, config))


def _item(article: Article, config: SiteConfig) -> dict[str, Any]:
    record = article.record
    provider = None
    if article.provider and record.provider:
        provider = {
            "name": article.provider.name,
            "domain": record.provider.domain,
            "url": absolute_url(config, article.provider.url),
        }
    return {
        "title": article.title,
        "url": absolute_url(config, article.url),
        "original_url": absolute_link(config, article.original_url)
        if article.original_url
        else None,
        "excerpt": article.excerpt,
        "date_published": article.date.isoformat(),
        "type": record.type,
        "provider": provider,
        "topics": [{"name": t.name, "url": absolute_url(config, t.url)} for t in article.topics],
        "images": [
            {"url": absolute_link(config, i.url), "width": i.width, "height": i.height}
            for i in record.images
        ],
        "quality": record.quality,
        "heat": record.heat if record.heat is not None and record.heat >= 0 else None,
    }
