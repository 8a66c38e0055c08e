"""Feed entries as records: the fields of the seed's schema, and the file that holds them.

Everything a feed says is untrusted: text is reduced to plain text without control
characters, URLs must pass the loader's own `safe_url`, and the YAML is written by
PyYAML's safe dumper, never formatted by hand, so no value can end its scalar early.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import nh3
import yaml

from masthead.records.feedread import FeedEntry, FeedImage, ParsedFeed
from masthead.records.loader import MAX_ITEMS, MAX_NAME, MAX_TITLE
from masthead.records.safeurl import safe_url
from masthead.urls import slugify

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "mc_cid", "mc_eid", "igshid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "twclid", "ttclid", "li_fat_id",
    }
)  # fmt: skip
"""Query parameters that only say where a click came from; `utm_*` ones too."""
MAX_TOPICS = 10
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")


@dataclass(frozen=True, slots=True)
class Source:
    """Where entries come from, and what the curator said about it in site.toml."""

    location: str
    """The URL or file as given."""
    topics: tuple[str, ...] = ()
    provider: str = ""


def plain_text(fragment: str) -> str:
    """Text of an HTML fragment: tags (and script and style content) gone, entities decoded,
    control characters removed, white space collapsed to single spaces."""
    text = nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"})
    text = html.unescape(text)
    return " ".join(_CONTROL.sub(" ", text).split())


def cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters: after the last whole sentence when one
    ends past half the limit, else after the last whole word, with an ellipsis."""
    if len(text) <= limit:
        return text
    window = text[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if ends and ends[-1] >= limit // 2:
        return window[: ends[-1]]
    words = window[:limit].rsplit(" ", 1)[0] if " " in window[:limit] else window[: limit - 1]
    return words.rstrip(" ,;:-–—") + "…"


def without_tracking(url: str) -> str:
    """`url` without `utm_*` and other click-tracking query parameters."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _tracking(k)]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


def normalise_url(url: str) -> str:
    """The form two URLs of one story share: tracking parameters and fragment dropped,
    scheme and host lower-cased, default port and an empty path spelt the same."""
    try:
        parts = urlsplit(without_tracking(url.strip()))
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.netloc.startswith("[") or ":" in host:
        host = f"[{host}]"
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def host_of(url: str | None) -> str:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.lower().removeprefix("www.")


@dataclass(frozen=True, slots=True)
class RecordOptions:
    excerpt_length: int = 300
    publish: bool = False
    topic_names: Mapping[str, str] | None = None
    """data/topics names by slug: a category matching one takes its spelling."""


def record_fields(
    entry: FeedEntry, feed: ParsedFeed, source: Source, now: datetime, options: RecordOptions
) -> dict[str, Any] | None:
    """The record for `entry` in the seed's field order, or None when it has no usable link."""
    link = safe_url(without_tracking(entry.link)) if entry.link else None
    if link is None or not link.startswith(("http://", "https://")):
        return None
    excerpt = cut(plain_text(entry.summary_html), options.excerpt_length)
    title = plain_text(entry.title) or cut(excerpt, 80) or host_of(link)
    fields: dict[str, Any] = {
        "category": "news",
        "title": cut(title, MAX_TITLE),
        "excerpt": excerpt,
        "publishedDateTime": (entry.published or now).astimezone(UTC).replace(microsecond=0),
        "originalUrl": link,
        "webUrl": link,
        "type": "video" if entry.video else "article",
        "published": options.publish,
        "provider": _provider(feed, source, link),
    }
    topics = _topics((*source.topics, *entry.categories), options.topic_names or {})
    if topics:
        fields["topics"] = topics
    images = [i for i in map(_image, entry.images) if i][: MAX_ITEMS["images"]]
    if images:
        fields["images"] = images
    return fields


def _provider(feed: ParsedFeed, source: Source, link: str) -> dict[str, str]:
    domain = host_of(link)
    name = plain_text(source.provider) or plain_text(feed.title) or domain
    return {"name": cut(name, MAX_NAME), "domain": domain}


def _topics(names: Iterable[str], known: Mapping[str, str]) -> list[str]:
    topics: dict[str, str] = {}
    for raw in names:
        name = cut(plain_text(raw), MAX_NAME)
        if name:
            slug = slugify(name)
            topics.setdefault(slug, known.get(slug, name))
    return list(topics.values())[:MAX_TOPICS]


def _image(image: FeedImage) -> dict[str, Any] | None:
    url = safe_url(image.url)
    if url is None or not url.startswith(("http://", "https://")):
        return None
    found: dict[str, Any] = {"url": url}
    if image.width and image.height:
        found.update(width=image.width, height=image.height)
    return found


def file_stem(fields: Mapping[str, Any], tz: tzinfo) -> str:
    """`YYYY-MM-DD-slug`, dated in the site's timezone as the article's URL will be."""
    day = fields["publishedDateTime"].astimezone(tz).date().isoformat()
    return f"{day}-{slugify(fields['title'])}"


# libyaml's emitter where PyYAML has it: the pure-Python one took most of an import's time.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _RecordDumper(_SafeDumper):  # type: ignore[valid-type, misc]
    """The safe dumper, writing dates as plain ISO 8601 timestamps (`2026-11-18T09:30:00Z`)."""


def _timestamp(dumper: yaml.SafeDumper, value: datetime) -> yaml.ScalarNode:
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text)


_RecordDumper.add_representer(datetime, _timestamp)


def record_text(fields: Mapping[str, Any]) -> str:
    """The record file: front matter only, as the corpus's records are."""
    front = yaml.dump(
        dict(fields),
        Dumper=_RecordDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,  # one line per value: no folded scalar can look like a `---` fence
    )
    return f"---\n{front}---\n"
