"""Atom 1.0, RSS 2.0 and JSON Feed 1.1 serialisers for the newest stories of a list.

XML is built as element trees (masthead.outputs.xmltree) and JSON with the json module, so
every title and excerpt is escaped by construction.
"""

from __future__ import annotations

import html
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from masthead import __version__
from masthead.config import SiteConfig
from masthead.model.site import Article
from masthead.outputs.api import encode, with_items
from masthead.outputs.jsonld import provider_home
from masthead.outputs.memo import Memos
from masthead.outputs.xmltree import (
    ATOM_NS,
    DC_NS,
    MEDIA_NS,
    XML_NS,
    Fragment,
    element,
    fragment,
    sub,
    to_bytes,
)
from masthead.urls import absolute_link, absolute_url, feed_url

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
MIME = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}


@dataclass(frozen=True, slots=True)
class Feed:
    """What one feed shows: the newest stories of the list page at `page_url`."""

    title: str
    description: str
    page_url: str
    articles: tuple[Article, ...]

    def url(self, kind: str) -> str:
        return feed_url(self.page_url, kind)


def updated(feed: Feed) -> datetime:
    """The feed's last change: its newest story, never the clock, so builds repeat exactly.

    An empty feed has no story to date it by; it takes SOURCE_DATE_EPOCH, else 1970.
    """
    if feed.articles:
        return max(a.date for a in feed.articles)
    return datetime.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", "0")), UTC)


def atom(feed: Feed, config: SiteConfig, memos: Memos) -> bytes:
    root = element("feed", attrs={f"{{{XML_NS}}}lang": config.language})
    page = absolute_url(config, feed.page_url)
    sub(root, "id", page)
    sub(root, "title", feed.title)
    if feed.description:
        sub(root, "subtitle", feed.description)
    self_attrs = {
        "rel": "self",
        "type": MIME["atom"],
        "href": absolute_url(config, feed.url("atom")),
    }
    sub(root, "link", attrs=self_attrs)
    sub(root, "link", attrs={"rel": "alternate", "type": "text/html", "href": page})
    sub(root, "updated", updated(feed).isoformat())
    # Entries without a provider fall back to the feed's author, which Atom requires.
    author = sub(root, "author")
    sub(author, "name", config.title)
    sub(author, "uri", absolute_url(config, "/"))
    sub(root, "generator", "masthead", {"version": __version__})
    entry = memos.of(_make_atom_entry)  # each story's, made once per build
    entries = [entry(article, config) for article in feed.articles]
    return to_bytes(root, default_namespace=ATOM_NS, fragments=entries)


def _make_atom_entry(article: Article, config: SiteConfig) -> Fragment:
    """A story's entry, serialised once per build and put in every Atom feed that has it."""
    entry = element("entry")
    url = absolute_url(config, article.url)
    sub(entry, "id", url)
    sub(entry, "title", article.title)
    sub(entry, "link", attrs={"rel": "alternate", "type": "text/html", "href": url})
    if article.original_url:
        sub(entry, "link", attrs={"rel": "related", "href": _link(config, article)})
    sub(entry, "published", article.date.isoformat())
    sub(entry, "updated", article.date.isoformat())
    if article.excerpt:
        sub(entry, "summary", article.excerpt, {"type": "text"})
    if by := _author(article):
        author = sub(entry, "author")
        sub(author, "name", by[0])
        if by[1]:
            sub(author, "uri", by[1])
    for topic in article.topics:
        scheme = absolute_url(config, config.urls.topics)
        sub(entry, "category", attrs={"term": topic.name, "scheme": scheme})
    _media(entry, article, config)
    return fragment(entry, level=1)


def rss(feed: Feed, config: SiteConfig, memos: Memos) -> bytes:
    from email.utils import format_datetime  # brings the email package: not for every build

    root = element("rss", attrs={"version": "2.0"})
    channel = sub(root, "channel")
    sub(channel, "title", feed.title)
    sub(channel, "link", absolute_url(config, feed.page_url))
    sub(channel, "description", html.escape(feed.description or feed.title, quote=False))
    sub(channel, "language", config.language)
    sub(channel, "generator", f"masthead {__version__}")
    sub(channel, "lastBuildDate", format_datetime(updated(feed)))
    self_attrs = {"rel": "self", "type": MIME["rss"], "href": absolute_url(config, feed.url("rss"))}
    sub(channel, f"{{{ATOM_NS}}}link", attrs=self_attrs)
    item = memos.of(_make_rss_item)
    items = [item(article, config) for article in feed.articles]
    return to_bytes(root, fragments=items, parent=channel)


def _make_rss_item(article: Article, config: SiteConfig) -> Fragment:
    """A story's item, serialised once per build and shared as the Atom entries are."""
    from email.utils import format_datetime

    item = element("item")
    url = absolute_url(config, article.url)
    sub(item, "title", article.title)
    sub(item, "link", url)
    sub(item, "guid", url, {"isPermaLink": "true"})
    sub(item, "pubDate", format_datetime(article.date))
    if article.excerpt:
        # Readers take RSS descriptions as HTML: the excerpt is text, so escape it.
        sub(item, "description", html.escape(article.excerpt, quote=False))
    if by := _author(article):
        # RSS's own <author> must be an e-mail address; Dublin Core takes a name.
        sub(item, f"{{{DC_NS}}}creator", by[0])
    for topic in article.topics:
        sub(item, "category", topic.name, {"domain": absolute_url(config, config.urls.topics)})
    if article.original_url:
        related = {"rel": "related", "href": _link(config, article)}
        sub(item, f"{{{ATOM_NS}}}link", attrs=related)
    _media(item, article, config)
    return fragment(item, level=2)


def _author(article: Article) -> tuple[str, str | None] | None:
    """The provider as the story's author: its name here and its home page, if known."""
    if article.provider is None:
        return None
    return article.provider.name, provider_home(article.record.provider)


def _link(config: SiteConfig, article: Article) -> str:
    return absolute_link(config, article.original_url or article.url)


def _media(parent: ET.Element, article: Article, config: SiteConfig) -> None:
    """The story's image as Media RSS, which Atom and RSS readers both understand."""
    if image := article.image:
        attrs = {
            "url": absolute_link(config, image.url),
            "medium": "image",
            "width": image.width,
            "height": image.height,
        }
        sub(parent, f"{{{MEDIA_NS}}}content", attrs=attrs)


def json_feed(feed: Feed, config: SiteConfig, memos: Memos) -> bytes:
    data: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": feed.title,
        "home_page_url": absolute_url(config, feed.page_url),
        "feed_url": absolute_url(config, feed.url("json")),
        "description": feed.description,
        "language": config.language,
        "authors": [{"name": config.title, "url": absolute_url(config, "/")}],
    }
    item = memos.of(_make_json_item)
    return with_items(data, (item(a, config) for a in feed.articles))


def _make_json_item(article: Article, config: SiteConfig) -> str:
    url = absolute_url(config, article.url)
    item: dict[str, Any] = {"id": url, "url": url}
    if article.original_url:
        item["external_url"] = _link(config, article)
    item["title"] = article.title
    item["content_text"] = article.excerpt or article.title
    if article.excerpt:
        item["summary"] = article.excerpt
    if article.image:
        item["image"] = absolute_link(config, article.image.url)
    item["date_published"] = article.date.isoformat()
    if by := _author(article):
        item["authors"] = [{"name": by[0], "url": by[1]} if by[1] else {"name": by[0]}]
    if article.topics:
        item["tags"] = [t.name for t in article.topics]
    return encode(item)
