"""`masthead import`: feeds in, draft records out, each story once.

For each source (a URL or a file, from the command line or `[[import.feeds]]`): fetch
it (conditionally, with the validators the last import remembered), read the feed,
turn each entry into a record and write it as a new file, unless a record of the site
already has the entry's URL. A source that fails is reported and the others go on.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from masthead.building.state import CACHE_DIR
from masthead.config import ImportFeed, SiteConfig, load_config
from masthead.diagnostics import RecordError, plural, shown_path
from masthead.records.data import load_data
from masthead.records.feedread import FeedEntry, FeedError, ParsedFeed, read_feed
from masthead.records.feedrecords import (
    RecordOptions,
    Source,
    file_stem,
    normalise_url,
    record_fields,
    record_text,
)
from masthead.records.loader import load_records, parse_record
from masthead.records.safefetch import Fetcher, FetchError, FetchLimits

log = logging.getLogger(__name__)

VALIDATORS_FILE = "import.json"
"""In the cache folder: each feed URL's ETag and Last-Modified from its last import."""
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ImportOptions:
    site_dir: Path
    sources: tuple[str, ...] = ()
    """URLs or files; empty means every `[[import.feeds]]` of site.toml."""
    topics: tuple[str, ...] = ()
    """Topics for the command line's sources."""
    provider: str = ""
    """Provider name for the command line's sources."""
    publish: bool = False
    since: datetime | None = None
    limit: int | None = None
    """At most this many entries (the newest) from each feed."""
    dry_run: bool = False
    now: datetime | None = None
    """The time of import (undated entries get it); tests fix it."""
    fetcher: Fetcher | None = None
    """Tests pass one allowed to reach their loopback server; default from site.toml."""


@dataclass(slots=True)
class FeedOutcome:
    source: str
    written: list[Path] = field(default_factory=list)
    known: int = 0
    """Entries whose story the site already has."""
    not_modified: bool = False
    error: str | None = None


@dataclass(slots=True)
class ImportReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def written(self) -> int:
        return sum(len(o.written) for o in self.outcomes)

    def summary(self, dry_run: bool = False) -> str:
        verb = "Would import" if dry_run else "Imported"
        line = f"{verb} {plural(self.written, 'record')} from {plural(len(self.outcomes), 'feed')}"
        known = sum(o.known for o in self.outcomes)
        unchanged = sum(o.not_modified for o in self.outcomes)
        extra = [f"{known} already on the site"] if known else []
        extra += [f"{unchanged} not modified"] if unchanged else []
        extra += [f"{len(self.failed)} failed"] if self.failed else []
        return line + (f" ({', '.join(extra)})" if extra else "")


def run_import(options: ImportOptions, say: Say = print, warn: Say = log.warning) -> ImportReport:
    """Import every source; a failure is one line through `warn` and an outcome with an error."""
    config = load_config(options.site_dir)
    run = _Run(options, config, say, warn)
    report = ImportReport()
    for source in run.sources():
        outcome = FeedOutcome(source.location)
        try:
            run.import_source(source, outcome)
        except (FetchError, FeedError, OSError) as exc:
            outcome.error = str(exc)
            warn(f"error: {source.location}: {exc}")
        report.outcomes.append(outcome)
    if not options.dry_run:
        run.validators.save()
    return report


class _Run:
    """One import: the site's known story URLs, the fetcher and the validators, shared by
    every source so that two feeds carrying one story write it once."""

    def __init__(self, options: ImportOptions, config: SiteConfig, say: Say, warn: Say) -> None:
        self.options, self.config, self.say, self.warn = options, config, say, warn
        site = options.site_dir
        self.content_dir = site / config.content_dir
        self.target = self.content_dir / config.imports.folder
        self.now = (options.now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        self.known = known_urls(self.content_dir, config)
        self.planned: set[Path] = set()
        topic_names = {slug: meta.name for slug, meta in load_data(site).topics.items()}
        self.record_options = RecordOptions(
            config.imports.excerpt_length, options.publish, topic_names
        )
        self.fetcher = options.fetcher or Fetcher(
            FetchLimits(
                total_timeout=float(config.imports.timeout),
                max_bytes=config.imports.max_feed_bytes,
                allow_private_hosts=config.imports.allow_private_hosts,
            )
        )
        self.validators = Validators(site / CACHE_DIR / VALIDATORS_FILE)

    def sources(self) -> list[Source]:
        configured = {feed.url: feed for feed in self.config.imports.feeds}
        if not self.options.sources:
            return [
                self._configured(feed, relative_to=self.options.site_dir)
                for feed in configured.values()
            ]
        found = []
        for location in self.options.sources:
            if location in configured:
                found.append(self._configured(configured[location], relative_to=Path.cwd()))
            else:
                found.append(Source(location, self.options.topics, self.options.provider))
        return found

    @staticmethod
    def _configured(feed: ImportFeed, relative_to: Path) -> Source:
        location = feed.url if _is_url(feed.url) else str(relative_to / feed.url)
        return Source(location, feed.topics, feed.provider)

    def import_source(self, source: Source, outcome: FeedOutcome) -> None:
        document = self._read(source)
        if document is None:
            outcome.not_modified = True
            self.say(f"{source.location}: not modified since the last import")
            return
        data, url, content_type, validators = document
        feed = read_feed(data, url, content_type)
        for warning in feed.warnings:
            self.warn(f"warning: {source.location}: {warning}")
        for entry in self._chosen(feed.entries):
            self._import_entry(entry, feed, source, outcome)
        self.say(
            f"{source.location}: {len(outcome.written)} new, {outcome.known} already on the site"
        )
        if validators and self.options.since is None and self.options.limit is None:
            self.validators.remember(validators)

    def _read(self, source: Source) -> tuple[bytes, str, str, dict[str, str]] | None:
        """The document's bytes, its URL, content type and validators; None if not modified."""
        location = source.location
        if _is_url(location):
            headers = {"Accept": ACCEPT, **self.validators.headers(location)}
            fetched = self.fetcher.get(location, headers)
            if fetched.not_modified:
                return None
            kept = {
                k: fetched.headers[k] for k in ("etag", "last-modified") if k in fetched.headers
            }
            # Remembered under the URL asked for, which is what the next import asks for.
            return (
                fetched.body,
                fetched.url,
                fetched.headers.get("content-type", ""),
                kept | {"url": location},
            )
        if "://" in location:
            raise FetchError(f"refused {location!r}: only http(s) URLs and files are imported")
        limit = self.config.imports.max_feed_bytes
        with Path(location).open("rb") as file:  # a pipe has no size to check beforehand
            data = file.read(limit + 1)
        if len(data) > limit:
            raise FetchError(f"refused: the file is over the limit of {limit} bytes")
        return data, "", "", {}

    def _chosen(self, entries: Iterable[FeedEntry]) -> list[FeedEntry]:
        chosen = list(entries)
        if self.options.since is not None:
            since = self.options.since
            chosen = [e for e in chosen if (e.published or self.now) >= since]
        if self.options.limit is not None:
            newest = sorted(chosen, key=lambda e: e.published or self.now, reverse=True)
            chosen = newest[: self.options.limit]
        return chosen

    def _import_entry(
        self, entry: FeedEntry, feed: ParsedFeed, source: Source, outcome: FeedOutcome
    ) -> None:
        fields = record_fields(entry, feed, source, self.now, self.record_options)
        if fields is None:
            self.warn(
                f"warning: {source.location}: entry {entry.title[:60]!r} has no http(s) link; skipped"
            )
            return
        key = normalise_url(fields["webUrl"])
        if key in self.known:
            outcome.known += 1
            return
        path = self._write(fields, source)
        if path is not None:
            self.known.add(key)
            outcome.written.append(path)

    def _write(self, fields: dict[str, Any], source: Source) -> Path | None:
        text = record_text(fields)
        stem = file_stem(fields, self.config.tz)
        try:  # what the build will make of it: never write a record the loader refuses
            parse_record(text.encode(), f"{stem}.md", self.config, [])
        except RecordError as exc:
            self.warn(f"warning: {source.location}: entry {fields['title'][:60]!r}: {exc}; skipped")
            return None
        shown = self._shown
        if self.options.dry_run:
            path = self._free_name(stem)
            self.planned.add(path)
            self.say(f"would write {shown(path)}: {fields['title']}")
            return path
        self.target.mkdir(parents=True, exist_ok=True)
        path = write_new(self.target, stem, text.encode("utf-8"))
        self.say(f"wrote {shown(path)}")
        return path

    def _free_name(self, stem: str) -> Path:
        for path in _names(self.target, stem):
            if path not in self.planned and not path.exists():
                return path
        raise OSError(f"no free file name for {stem}.md in {self.target}")

    def _shown(self, path: Path) -> str:
        try:
            return path.relative_to(self.options.site_dir).as_posix()
        except ValueError:
            return str(path)


def write_new(folder: Path, stem: str, data: bytes) -> Path:
    """Write `data` to `folder/stem.md`, or `stem-2.md` and so on: never over an existing file.

    The file is created exclusively (O_EXCL), so even a file that appeared a moment ago,
    or a symlink planted under the name, is left alone.
    """
    for path in _names(folder, stem):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return path
    raise OSError(f"no free file name for {stem}.md in {folder}")


def _names(folder: Path, stem: str) -> Iterator[Path]:
    """The names a record may take, in order; dry runs and real ones must agree."""
    yield folder / f"{stem}.md"
    for n in range(2, 1000):
        yield folder / f"{stem}-{n}.md"


def known_urls(content_dir: Path, config: SiteConfig) -> set[str]:
    """The normalised webUrl and originalUrl of every record the site has, drafts included."""
    if not content_dir.is_dir():
        return set()
    urls: set[str] = set()
    for record in load_records(content_dir, config).records:
        for url in (record.web_url, record.original_url):
            if url:
                urls.add(normalise_url(url))
    return urls


class Validators:
    """ETag and Last-Modified per feed URL, kept in the cache folder between imports.

    Losing the file costs one full download per feed, nothing more: a damaged one is
    ignored, and it is written atomically.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.feeds: dict[str, dict[str, str]] = {}
        self.changed = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            feeds = data.get("feeds", {}) if isinstance(data, dict) else {}
            self.feeds = {
                url: {k: v for k, v in value.items() if isinstance(v, str)}
                for url, value in feeds.items()
                if isinstance(value, dict)
            }
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("%s: unreadable (%s); fetching every feed in full", shown_path(path), exc)

    def headers(self, url: str) -> dict[str, str]:
        known = self.feeds.get(url, {})
        headers = {}
        if "etag" in known:
            headers["If-None-Match"] = known["etag"]
        if "last-modified" in known:
            headers["If-Modified-Since"] = known["last-modified"]
        return headers

    def remember(self, found: dict[str, str]) -> None:
        """Keep `found` (`url`, `etag`, `last-modified`) for the next import of `url`."""
        self.feeds[found["url"]] = {k: v for k, v in found.items() if k != "url"}
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(
            json.dumps({"feeds": self.feeds}, indent=1, sort_keys=True), encoding="utf-8"
        )
        os.replace(tmp, self.path)


def _is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))
