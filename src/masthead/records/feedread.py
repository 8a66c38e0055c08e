"""Reading feeds: RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 through feedparser, JSON Feed 1.0/1.1
read and validated here, all into one shape of plain values.

Nothing here fetches: the caller hands over the bytes and the URL they came from (the
base for relative links). Text is left as the feed gave it (HTML for summaries); making
it safe for a record is the importer's job.
"""

from __future__ import annotations

import calendar
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

import feedparser

from masthead.diagnostics import MastheadError

JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")
VIDEO_HOSTS = frozenset(
    {"youtube.com", "youtu.be", "m.youtube.com", "vimeo.com", "player.vimeo.com", "dailymotion.com"}
)
# expat's messages for a document that stops early: a feed cut off in transfer, which
# would otherwise import its last entry half-written.
_TRUNCATED = frozenset(
    expat.ErrorString(expat.errors.codes[message])
    for message in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
    )
)


class FeedError(MastheadError):
    """The document is no feed this reader can use; nothing of it is imported."""


@dataclass(frozen=True, slots=True)
class FeedImage:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry, links absolute; text as the feed had it."""

    title: str
    link: str | None
    summary_html: str
    """The summary, else the content: what an excerpt is made from."""
    published: datetime | None
    """In UTC; None when the entry has no date, or one that cannot be read."""
    categories: tuple[str, ...] = ()
    images: tuple[FeedImage, ...] = ()
    video: bool = False


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    link: str | None
    entries: tuple[FeedEntry, ...]
    warnings: tuple[str, ...] = ()


def read_feed(data: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a feed document fetched from `url` ("" for a file); FeedError if it is none."""
    head = data.lstrip()[:1]
    if head in (b"{", b"[") or "json" in content_type.lower():
        return read_json_feed(data, url)
    return read_xml_feed(data, url, content_type)


def read_xml_feed(data: bytes, url: str, content_type: str = "") -> ParsedFeed:
    headers = {"content-location": url} if url else {}
    if content_type:
        headers["content-type"] = content_type
    # A stream, never the bytes: feedparser opens bytes that name a file as that file.
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    warnings: list[str] = []
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        message = problem.getMessage() if hasattr(problem, "getMessage") else str(problem)
        if message in _TRUNCATED:
            raise FeedError(f"the document ends early ({message}): truncated?")
        if not parsed.get("version") and not parsed.entries:
            raise FeedError(f"not an RSS, Atom or JSON feed ({message})")
        if hasattr(problem, "getMessage"):
            warnings.append(f"not well-formed XML ({message}); read what could be read")
    elif not parsed.get("version"):
        raise FeedError("not an RSS, Atom or JSON feed")
    feed = parsed.feed
    link = _absolute(feed.get("link"), url)
    # A file has no URL of its own: its links resolve against the site the feed names.
    base = url or link or ""
    entries = tuple(_xml_entry(entry, base) for entry in parsed.entries)
    return ParsedFeed(str(feed.get("title", "")), link, entries, tuple(warnings))


def _xml_entry(entry: Any, base: str) -> FeedEntry:
    link = _absolute(entry.get("link"), base)
    summary = entry.get("summary", "")
    content = entry.get("content") or []
    content_html = str(content[0].get("value", "")) if content else ""
    images: list[FeedImage] = []
    video = False
    for media in (*entry.get("media_content", []), *entry.get("media_thumbnail", [])):
        medium, kind = str(media.get("medium", "")), str(media.get("type", ""))
        video = video or medium == "video" or kind.startswith("video/")
        if medium in ("", "image") and not kind.startswith(("video/", "audio/")):
            _add_image(images, media.get("url"), base, media.get("width"), media.get("height"))
    for enclosure in entry.get("enclosures", []):
        kind = str(enclosure.get("type", ""))
        video = video or kind.startswith("video/")
        if kind.startswith("image/"):
            _add_image(images, enclosure.get("href"), base)
    first = first_image(content_html or summary)
    if first is not None:
        _add_image(images, first[0], link or base, first[1], first[2])
    return FeedEntry(
        title=str(entry.get("title", "")),
        link=link,
        summary_html=str(summary or content_html),
        # dict.get: FeedParserDict's own get maps a missing `published` to `updated` with a warning.
        published=_struct_time(
            dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
        ),
        categories=tuple(str(t.get("label") or t.get("term") or "") for t in entry.get("tags", [])),
        images=tuple(images),
        video=video or is_video_link(link),
    )


def read_json_feed(data: bytes, url: str) -> ParsedFeed:
    """A JSON Feed 1.0 or 1.1, validated against the spec's required fields and types."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise FeedError("a JSON Feed is an object")
    version = doc.get("version")
    if version not in JSON_FEED_VERSIONS:
        raise FeedError(f"unknown JSON Feed version {version!r} (expected one of 1, 1.1)")
    if not isinstance(doc.get("title"), str):
        raise FeedError("a JSON Feed needs a title (a string)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("a JSON Feed needs items (a list)")
    base = (
        _absolute(_text(doc, "feed_url"), url) or _absolute(_text(doc, "home_page_url"), url) or url
    )
    link = _absolute(_text(doc, "home_page_url"), base)
    entries: list[FeedEntry] = []
    warnings: list[str] = []
    for index, item in enumerate(items):
        try:
            entries.append(_json_entry(item, base))
        except FeedError as exc:
            warnings.append(f"item {index + 1}: {exc}; skipped")
    return ParsedFeed(doc["title"], link, tuple(entries), tuple(warnings))


def _json_entry(item: Any, base: str) -> FeedEntry:
    if not isinstance(item, dict):
        raise FeedError("not an object")
    if "id" not in item or isinstance(item["id"], (dict, list)) or item["id"] is None:
        raise FeedError("no id")
    html = _text(item, "content_html")
    text = _text(item, "content_text")
    if not html and not text:
        raise FeedError("neither content_html nor content_text")
    link = _absolute(_text(item, "url") or _text(item, "external_url"), base)
    images: list[FeedImage] = []
    for key in ("image", "banner_image"):
        _add_image(images, _text(item, key), base)
    video = False
    attachments = item.get("attachments", [])
    if not isinstance(attachments, list):
        raise FeedError("attachments is not a list")
    for attachment in attachments:
        if not isinstance(attachment, dict) or not _text(attachment, "url"):
            raise FeedError("an attachment without a url")
        kind = _text(attachment, "mime_type")
        video = video or kind.startswith("video/")
        if kind.startswith("image/"):
            _add_image(images, attachment["url"], base)
    first = first_image(html)
    if first is not None:
        _add_image(images, first[0], link or base, first[1], first[2])
    summary = _text(item, "summary")
    tags = item.get("tags", [])
    if not isinstance(tags, list):
        raise FeedError("tags is not a list")
    return FeedEntry(
        title=_text(item, "title"),
        link=link,
        summary_html=_escape(summary) if summary else html or _escape(text),
        published=_rfc3339(_text(item, "date_published") or _text(item, "date_modified")),
        categories=tuple(t for t in tags if isinstance(t, str)),
        images=tuple(images),
        video=video or is_video_link(link),
    )


def _text(mapping: dict[str, Any], key: str) -> str:
    """A string field, "" when missing; FeedError when it is there but not a string."""
    value = mapping.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FeedError(f"{key} is not a string")
    return value


def _escape(text: str) -> str:
    """Plain text as HTML, so that it goes through the same text extraction as HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rfc3339(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # RFC 3339 requires an offset; a guess would misdate the story
    return when.astimezone(UTC)


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _absolute(link: Any, base: str) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        return urljoin(base, link.strip())
    except ValueError:
        return None


def _add_image(
    images: list[FeedImage], url: Any, base: str, width: Any = None, height: Any = None
) -> None:
    absolute = _absolute(url, base)
    if absolute and all(i.url != absolute for i in images):
        images.append(FeedImage(absolute, _dimension(width), _dimension(height)))


def _dimension(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    # isascii: `²` and other scripts' digits pass isdigit() but not int().
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 100_000 else None


def is_video_link(link: str | None) -> bool:
    if not link:
        return False
    host = (urlsplit(link).hostname or "").lower()
    return host.removeprefix("www.") in VIDEO_HOSTS


class _FirstImage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: tuple[str, Any, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and self.found is None:
            values = dict(attrs)
            if values.get("src"):
                self.found = (str(values["src"]), values.get("width"), values.get("height"))


def first_image(html: str) -> tuple[str, Any, Any] | None:
    """The first `<img src>` of an HTML fragment, with its width and height attributes."""
    if "<img" not in html.lower():
        return None
    parser = _FirstImage()
    parser.feed(html)
    parser.close()
    return parser.found
