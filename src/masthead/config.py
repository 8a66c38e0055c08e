"""Site configuration: `site.toml` read with tomllib into a frozen, validated SiteConfig."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from masthead.diagnostics import ConfigError, shown_path

log = logging.getLogger(__name__)

CONFIG_FILE = "site.toml"
_HOST_NAME = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


def base_path_of(url: str) -> str:
    """The path part of a base URL, always ending in `/` (`/digest/` or `/`)."""
    path = urlsplit(url).path or "/"
    return path if path.endswith("/") else path + "/"


@dataclass(frozen=True, slots=True)
class UrlPatterns:
    """Where each kind of page lives; every pattern starts and ends with `/`."""

    article: str = "/news/{year}/{month}/{day}/{slug}/"
    """Article pages; placeholders {year} {month} {day} {slug}."""
    topics: str = "/topics/"
    """The topic index; one topic is `<topics>{slug}/`."""
    providers: str = "/providers/"
    """The provider index; one provider is `<providers>{slug}/`."""
    page: str = "page/{n}/"
    """Appended to a list's URL for its pages after the first."""
    editions: str = "/editions/"
    """The list of daily editions; one edition is `<editions>YYYY-MM-DD/`."""
    archive: str = "/archive/"
    """The archive of years; a year is `<archive>YYYY/`, a month `<archive>YYYY/MM/`."""
    search: str = "/search/"
    """The search page."""
    api: str = "/api/news/"
    """The JSON API: `<api>index.json`, and `<api>topics/<slug>/index.json` per topic etc."""


@dataclass(frozen=True, slots=True)
class ImportFeed:
    """One `[[import.feeds]]` entry: a feed `masthead import` refreshes."""

    url: str = ""
    """The feed's http(s) URL (or a file path, relative to the site)."""
    topics: tuple[str, ...] = ()
    """Topics every record from this feed gets, besides the entry's own categories."""
    provider: str = ""
    """Provider name for its records; default: the feed's title, else the link's host."""


@dataclass(frozen=True, slots=True)
class ImportConfig:
    """The `[import]` table: how `masthead import` turns feeds into records."""

    feeds: tuple[ImportFeed, ...] = ()
    """Feeds refreshed by `masthead import` without arguments."""
    folder: str = ""
    """Where new records go, relative to the content folder ("" = the content folder)."""
    excerpt_length: int = 300
    """Longest excerpt, in characters; cut at a sentence end near it."""
    max_feed_bytes: int = 10_485_760
    """Larger feeds are refused."""
    timeout: int = 60
    """Seconds one feed's fetch may take in all, redirects included."""
    allow_private_hosts: bool = False
    """Fetch from loopback, private and link-local addresses (a feed on the local network)."""


@dataclass(frozen=True, slots=True)
class NewsletterConfig:
    """The `[newsletter]` table: the email edition written beside each daily edition."""

    enabled: bool = True
    """Write `email.html` and `email.txt` beside each edition."""
    stories: int = 10
    """Top stories of the day in the email (the web edition shows them all)."""
    sender_name: str = ""
    """The From name; empty means the site's title."""
    sender_address: str = ""
    """The From address; empty means `newsletter@<host of base_url>`."""
    address: str = ""
    """The sender's postal address for the footer, as anti-spam laws ask of newsletters."""
    unsubscribe_url: str = ""
    """The footer's unsubscribe link and the List-Unsubscribe header: the sending service's
    placeholder (`*|UNSUB|*`, `%unsubscribe_url%`), else a mailto: to the sender."""


@dataclass(frozen=True, slots=True)
class ImagesConfig:
    """The `[images]` table: the image stage (images.py) and the fetching of remote images."""

    fetch: bool = False
    """Fetch remote story images and logos once into the build cache and serve resized
    copies; off, remote images are linked where they are, as the records give them."""
    widths: tuple[int, ...] = (160, 320, 640, 960, 1280)
    """Widths of the resized copies, in pixels; none wider than the original is made."""
    formats: tuple[str, ...] = ("avif", "webp")
    """Formats of the resized copies, best first: `avif` (left out where the installed
    Pillow cannot write it) and `webp`."""
    quality: int = 70
    """Encoder quality, 1 to 100."""
    max_bytes: int = 15_728_640
    """Largest image fetched, in bytes; larger ones stay remote."""
    timeout: int = 20
    """Seconds one image's fetch may take in all, redirects included."""
    max_pixels: int = 40_000_000
    """Largest image decoded, in pixels (width times height): larger ones stay remote."""
    concurrency: int = 8
    """Images fetched at once."""
    allow_private_hosts: bool = False
    """Fetch from loopback, private and link-local addresses (an intranet image server)."""
    prune: bool = False
    """After a full build, drop from the image cache the originals (and copies) of images
    no record of the build shows; off, the cache keeps every image it ever fetched."""


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """Everything a build needs to know about the site besides its records."""

    title: str = "News digest"
    """The site's name, shown in the header and in every page title."""
    description: str = "A curated digest of the news."
    """Used for the front page's meta description and the feeds."""
    base_url: str = "http://localhost:8000/"
    """Absolute URL the site is published at; a sub-path such as /digest/ is honoured."""
    language: str = "en"
    """BCP 47 language tag for `<html lang>`."""
    timezone: str = "UTC"
    """IANA zone in which dates are shown and article URLs are dated."""
    page_size: int = 20
    """Stories per page on every paginated list."""
    content_dir: str = "content"
    """Records folder, relative to the site folder."""
    output_dir: str = "public"
    """Output folder, relative to the site folder."""
    iframe_hosts: tuple[str, ...] = (
        "www.youtube.com",
        "youtube.com",
        "www.youtube-nocookie.com",
        "player.vimeo.com",
    )
    """Hosts whose https iframes survive in `featuredContent`; all other embeds are dropped."""
    max_record_bytes: int = 1_048_576
    """Records larger than this are refused unread."""
    feed_size: int = 20
    """Newest stories in each Atom, RSS and JSON feed."""
    lead_stories: int = 5
    """Top stories that lead the front page (a lead and secondaries); 0 leaves them out."""
    api_page_size: int = 100
    """Stories per page of the JSON API."""
    search: bool = True
    """Build the Pagefind search index and the search page (`--no-search` turns it off once)."""
    cname: str = ""
    """Custom domain for GitHub Pages (`news.example.org`): `publish --to gh-pages` adds a CNAME file."""
    urls: UrlPatterns = field(default_factory=UrlPatterns)
    """URL patterns, the `[urls]` table."""
    imports: ImportConfig = field(default_factory=ImportConfig, metadata={"key": "import"})
    """The `[import]` table (`import` is a Python keyword, hence the field's name)."""
    newsletter: NewsletterConfig = field(default_factory=NewsletterConfig)
    """The email edition, the `[newsletter]` table."""
    images: ImagesConfig = field(default_factory=ImagesConfig)
    """The image stage, the `[images]` table."""

    @property
    def base_path(self) -> str:
        """The path part of base_url, always ending in `/` (`/digest/` or `/`)."""
        return base_path_of(self.base_url)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_config(site_dir: Path, overrides: dict[str, Any] | None = None) -> SiteConfig:
    """Read `site_dir/site.toml` (absent means all defaults) and apply command-line overrides."""
    path = site_dir / CONFIG_FILE
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    text, data = _read_toml(path)
    data.update(given)
    source = _Source(path, text, given)
    config = _from_table(SiteConfig, data, source, prefix="")
    _check(config, source)
    return config


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and table (none for no file); a ConfigError naming the line of what
    is not UTF-8 or not TOML."""
    if not path.is_file():
        return "", {}
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{shown_path(path)}:{line}: not valid UTF-8 ({exc.reason})") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown_path(path)}{_toml_position(str(exc))}") from exc


def _toml_position(message: str) -> str:
    """tomllib's message as `:LINE: not valid TOML: what (at column C)`."""
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, re.S)
    if found is None:
        return f": not valid TOML: {message}"
    what, line, column = found.groups()
    return f":{line}: not valid TOML: {what} (at column {column})"


class _Source:
    """site.toml as messages name it: from the working folder, with the line of the key a
    message is about where the text shows it (tomllib keeps no positions, so it is found
    again), or the command-line option that gave the value instead."""

    def __init__(self, path: Path, text: str, overridden: dict[str, Any]) -> None:
        self.shown = shown_path(path)
        self.text = text
        self.overridden = overridden
        self._lines: dict[str, int] | None = None

    def at(self, key: str) -> str:
        """Where the value of dotted `key` (`newsletter.stories`, `import.feeds[0].url`) is:
        its line, or the option that gave it (`base_url`: --base-url)."""
        if key in self.overridden:
            return "--" + key.replace("_", "-")
        if self._lines is None:
            self._lines = _key_lines(self.text)
        parts = key.split(".")
        while parts:  # or of the table that holds it (an inline table, say)
            line = self._lines.get(".".join(parts))
            if line:
                return f"{self.shown}:{line}"
            parts.pop()
        return self.shown

    def error(self, message: str) -> ConfigError:
        """A ConfigError for `message`, which starts with the key it is about."""
        return ConfigError(f"{self.at(message.split(' ', 1)[0])}: {message}")


_TOML_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
_DOTTED = rf"{_TOML_KEY}(?:\s*\.\s*{_TOML_KEY})*"
_HEADER = re.compile(rf"\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?")
_ASSIGNMENT = re.compile(rf"\s*({_DOTTED})\s*=")


def _key_lines(text: str) -> dict[str, int]:
    """The first line of each dotted key (and table) the text sets, by its headers and
    `key =` lines; lines inside multi-line strings are skipped."""
    lines: dict[str, int] = {}
    arrays: dict[str, int] = {}  # tables of each array of tables so far
    table, in_string = "", False
    for number, line in enumerate(text.splitlines(), 1):
        quotes = line.count('"""') + line.count("'''")
        if in_string:
            in_string = quotes % 2 == 0
            continue
        in_string = quotes % 2 == 1
        header = _HEADER.fullmatch(line)
        if header:
            name = _joined(header.group(2))
            if header.group(1) == "[[":
                arrays[name] = arrays.get(name, -1) + 1
                lines.setdefault(name, number)
                name = f"{name}[{arrays[name]}]"
            table = name
            lines.setdefault(name, number)
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment:
            key = _joined(assignment.group(1))
            parts = [table] if table else []
            for part in key.split("."):
                parts.append(part)
                lines.setdefault(".".join(parts), number)
    return lines


def _joined(dotted: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in re.findall(_TOML_KEY, dotted))


def _from_table(cls: type, data: dict[str, Any], source: _Source, prefix: str) -> Any:
    """Build dataclass `cls` from a TOML table, warning on unknown keys, failing on bad types."""
    hints = typing.get_type_hints(cls)
    known = {f.metadata.get("key", f.name): f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            also = f" (did you mean {close[0]!r}?)" if close else ""
            log.warning("%s: unknown key %r ignored%s", source.at(prefix + key), prefix + key, also)
    values: dict[str, Any] = {}
    for key in known.keys() & data.keys():
        name = known[key]
        hint, value = hints[name], data[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise source.error(f"{prefix}{key} must be a table")
            values[name] = _from_table(hint, value, source, prefix=f"{prefix}{key}.")
        elif _table_list_of(hint):
            values[name] = _tables(_table_list_of(hint), value, source, f"{prefix}{key}")
        else:
            values[name] = _coerce(value, hint, f"{prefix}{name}", source)
    return cls(**values)


def _table_list_of(hint: Any) -> Any:
    """The dataclass of a `tuple[SomeTable, ...]` field (an array of tables), else None."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and dataclasses.is_dataclass(args[0]):
        return args[0]
    return None


def _tables(cls: type, value: Any, source: _Source, key: str) -> tuple[Any, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise source.error(f"{key} must be an array of tables ([[{key}]])")
    return tuple(_from_table(cls, v, source, prefix=f"{key}[{i}].") for i, v in enumerate(value))


def _coerce(value: Any, hint: Any, key: str, source: _Source) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if isinstance(value, list) and all(
            isinstance(v, item) and not isinstance(v, bool) for v in value
        ):
            return tuple(value)
        raise source.error(f"{key} must be a list of {_PLURAL.get(item, item)}, not {_kind(value)}")
    if origin in (types.UnionType, typing.Union):  # pragma: no cover - no optional keys yet
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    # bool is an int in Python; a TOML `true` is not a page size.
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise source.error(f"{key} must be {_article(hint)}, not {_kind(value)}")


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", str: "a string", list: "a list"}.get(
        type(value), f"a {type(value).__name__}"
    )


_PLURAL = {str: "strings", int: "integers"}


def _article(hint: Any) -> str:
    return {int: "an integer", str: "a string", bool: "a boolean"}.get(hint, str(hint))


def _check(config: SiteConfig, source: _Source) -> None:
    """Reject values that have the right type but cannot work."""
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise source.error(f"base_url must be an absolute http(s) URL, not {config.base_url!r}")
    for name in ("page_size", "feed_size", "api_page_size"):
        if getattr(config, name) < 1:
            raise source.error(f"{name} must be at least 1")
    if config.lead_stories < 0:
        raise source.error("lead_stories must not be negative")
    if config.max_record_bytes < 1024:
        raise source.error("max_record_bytes must be at least 1024")
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise source.error(f"timezone {config.timezone!r} is not a known IANA zone") from exc
    for name in ("article", "topics", "providers", "editions", "archive", "search", "api"):
        pattern = getattr(config.urls, name)
        if not (pattern.startswith("/") and pattern.endswith("/")) or ".." in pattern:
            raise source.error(f"urls.{name} must start and end with '/'")
    if "{slug}" not in config.urls.article:
        raise source.error("urls.article must contain {slug}")
    if "{n}" not in config.urls.page or config.urls.page.startswith("/"):
        raise source.error("urls.page must be relative and contain {n}")
    if config.cname and not _HOST_NAME.fullmatch(config.cname):
        raise source.error("cname must be a host name such as news.example.org")
    _check_import(config.imports, source)
    _check_newsletter(config.newsletter, source)
    _check_images(config.images, source)
    for host in config.iframe_hosts:
        if not host or "/" in host or ":" in host:
            raise source.error(f"iframe_hosts entry {host!r} is not a host name")


def _check_import(imports: ImportConfig, source: _Source) -> None:
    for index, feed in enumerate(imports.feeds):
        if not feed.url.strip():
            raise source.error(f"import.feeds[{index}] needs a url")
    for name in ("excerpt_length", "max_feed_bytes", "timeout"):
        if getattr(imports, name) < 1:
            raise source.error(f"import.{name} must be at least 1")
    if imports.folder.startswith("/") or ".." in Path(imports.folder).parts:
        raise source.error("import.folder must be a folder inside the content folder")


def _check_newsletter(newsletter: NewsletterConfig, source: _Source) -> None:
    """Values that would make a broken email or a header that could be forged."""
    if newsletter.stories < 1:
        raise source.error("newsletter.stories must be at least 1")
    for name in ("sender_name", "sender_address", "address", "unsubscribe_url"):
        if any(ord(c) < 32 or ord(c) == 127 for c in getattr(newsletter, name)):
            raise source.error(f"newsletter.{name} must be one line of text")
    sender = newsletter.sender_address
    if sender and not re.fullmatch(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+", sender):
        raise source.error(f"newsletter.sender_address {sender!r} is not an address")
    if any(c in newsletter.unsubscribe_url for c in ' <>"'):
        raise source.error("newsletter.unsubscribe_url must hold no spaces, <, > or quotes")


IMAGE_FORMATS = ("avif", "webp")


def _check_images(images: ImagesConfig, source: _Source) -> None:
    if not images.widths or any(not 16 <= w <= 8192 for w in images.widths):
        raise source.error("images.widths must be widths between 16 and 8192")
    if not images.formats or any(f not in IMAGE_FORMATS for f in images.formats):
        raise source.error("images.formats must name avif and/or webp")
    if not 1 <= images.quality <= 100:
        raise source.error("images.quality must be between 1 and 100")
    for name in ("max_bytes", "timeout", "max_pixels", "concurrency"):
        if getattr(images, name) < 1:
            raise source.error(f"images.{name} must be at least 1")
