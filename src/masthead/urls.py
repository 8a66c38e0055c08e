"""Slugs, URLs and output paths: the only module that decides where a page lives."""

from __future__ import annotations

import functools
import posixpath
import re
import unicodedata
from datetime import date, datetime
from urllib.parse import urlsplit

from slugify import slugify as _slugify

from masthead.config import SiteConfig, base_path_of
from masthead.hashing import url_tag

MAX_SLUG = 80
FEED_FILES = {"atom": "feed.xml", "rss": "rss.xml", "json": "feed.json"}
"""Feed file names, appended to the URL of the list a feed follows (`/topics/x/feed.xml`)."""
API_FILE = "index.json"
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}(?:-|$)")
_SLUG_OK = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")


@functools.lru_cache(maxsize=65536)
def slugify(text: str) -> str:
    """Return a URL slug of `text` in `[a-z0-9-]`, transliterating Unicode; never empty.

    Text with nothing to transliterate (emoji, punctuation) gets a short hash so that two
    such titles still get different, stable slugs instead of colliding on a placeholder.
    """
    if len(text) <= MAX_SLUG and _SLUG_OK.match(text):
        return text  # already a slug, as most file names are: python-slugify would keep it
    slug = _slugify(text, max_length=MAX_SLUG, word_boundary=True, save_order=True)
    if slug:
        return slug
    digest = url_tag(text, 8)
    return f"n-{digest}"


# Symbols that tell names apart (`C`, `C++`, `C#`; `AT&T`), spelled out before slugging.
_TERM_SYMBOLS = re.compile(r"\+|(?<=[^\W_])#|&|@")
_SPELLED = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}


def term_slug(name: str) -> str:
    """The slug of a topic or provider name: `slugify`, with `+`, `#` after a letter or
    digit, `&` and `@` spelled out, so `C++` is `c-plus-plus` and `C#` is `c-sharp`."""
    return slugify(_TERM_SYMBOLS.sub(lambda m: _SPELLED[m[0]], name))


def term_key(name: str) -> str:
    """What makes two names one term: they differ only in case, Unicode form or spacing."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def is_slug(text: str) -> bool:
    return bool(_SLUG_OK.match(text))


def slug_from_filename(stem: str) -> str:
    """The slug a record's file name asks for: its stem after a `YYYY-MM-DD-` prefix."""
    rest = _DATE_PREFIX.sub("", stem)
    return slugify(rest) if rest else ""


def article_url(config: SiteConfig, slug: str, when: datetime) -> str:
    """Site-relative URL of an article, dated by `when` (already in the site's timezone)."""
    return config.urls.article.format(
        year=f"{when.year:04d}", month=f"{when.month:02d}", day=f"{when.day:02d}", slug=slug
    )


def term_index_url(config: SiteConfig, taxonomy: str) -> str:
    return getattr(config.urls, taxonomy)


def term_url(config: SiteConfig, taxonomy: str, slug: str) -> str:
    return f"{term_index_url(config, taxonomy)}{slug}/"


def page_url(config: SiteConfig, first: str, number: int) -> str:
    """URL of page `number` (1-based) of a list whose first page is at `first`."""
    return first if number == 1 else first + config.urls.page.format(n=number)


def edition_url(config: SiteConfig, day: date) -> str:
    return f"{config.urls.editions}{day.isoformat()}/"


def year_url(config: SiteConfig, year: int) -> str:
    return f"{config.urls.archive}{year:04d}/"


def month_url(config: SiteConfig, year: int, month: int) -> str:
    return f"{year_url(config, year)}{month:02d}/"


def feed_url(list_url: str, kind: str) -> str:
    """URL of the `kind` feed (atom, rss, json) of the list page at `list_url`."""
    return list_url + FEED_FILES[kind]


def api_url(config: SiteConfig, taxonomy: str | None = None, slug: str | None = None) -> str:
    """Folder of a JSON API list: all news, or one term of a taxonomy."""
    base = config.urls.api
    return base if taxonomy is None else f"{base}{taxonomy}/{slug}/"


def absolute_url(config: SiteConfig, path: str) -> str:
    """Site-relative path to an absolute URL under base_url, for feeds, sitemaps and metadata."""
    return under_base(_site_root(config.base_url), path)


@functools.lru_cache(maxsize=16)
def _site_root(base_url: str) -> str:
    """`https://host/sub/` for base_url: every absolute URL starts with it (a page has dozens)."""
    origin = urlsplit(base_url)
    return f"{origin.scheme}://{origin.netloc}{base_path_of(base_url)}"


def absolute_link(config: SiteConfig, target: str) -> str:
    """A record's URL made absolute: `/path` is on this site, anything else is already absolute."""
    return absolute_url(config, target) if target.startswith("/") else target


def under_base(base_path: str, path: str) -> str:
    """A site-relative path (`/news/...`) as a link that works under base_url's sub-path."""
    return base_path + path.lstrip("/")


_SITE_RELATIVE = re.compile(r'(<a href="|<img src=")/(?!/)')
"""Where markdown-it (HTML off: every tag in a body is its own) wrote a site path."""


def under_base_path(html: str, base_path: str) -> str:
    """A record body's HTML (links as written, mdlinks.py) with its site-relative links
    and images under `base_path`, as `under_base` puts any site path, escaped as
    markdown-it escapes an attribute."""
    if base_path == "/":
        return html
    prefix = base_path.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    prefix = prefix.replace('"', "&quot;")
    return _SITE_RELATIVE.sub(lambda m: m.group(1) + prefix, html)


@functools.lru_cache(maxsize=262144)
def output_path(url: str) -> str:
    """Output file, relative to the output folder, for a site-relative URL.

    `/news/x/` becomes `news/x/index.html`; `/feed.xml` stays a file. Raises ValueError for
    anything that would leave the output folder.
    """
    if not url.startswith("/") or "\\" in url or "\x00" in url:
        raise ValueError(f"not a site-relative URL: {url!r}")
    rel = url[1:]  # one slash only: `//host/x` is another site, not a path here
    if url.endswith("/"):
        rel += "index.html"
    norm = posixpath.normpath(rel)
    if norm != rel or norm in (".", "..") or norm.startswith(("../", "/")):
        raise ValueError(f"URL escapes the output folder or is not normalised: {url!r}")
    return norm


def url_for_output(path: str) -> str:
    """Inverse of output_path: the URL that serves output file `path`."""
    if path == "index.html":
        return "/"
    if path.endswith("/index.html"):
        return "/" + path[: -len("index.html")]
    return "/" + path
