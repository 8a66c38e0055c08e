"""The loader: record files with YAML front matter in, validated immutable Records out."""

from __future__ import annotations

import calendar
import errno
import functools
import html
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NamedTuple

import nh3

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic, RecordError
from masthead.hashing import bytes_digest
from masthead.records.embeds import sanitize_embed
from masthead.records.safeurl import safe_link, safe_url
from masthead.records.typos import distance
from masthead.records.yamlload import (
    SECRET_KEY,
    YamlError,
    is_secret_key,
    load_yaml_document,
    node_line,
)
from masthead.urls import slug_from_filename

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

log = logging.getLogger(__name__)

RECORD_SUFFIXES = (".md", ".markdown")
MAX_TITLE = 500
MAX_NAME = 100
"""Longest topic or provider name: a name is repeated on every card, feed entry and API
item of every page that lists the story, so its length is multiplied by theirs."""
MAX_EXCERPT = 2000
"""Longer excerpts are cut (with a warning), for the same reason: an excerpt is shown on
up to a hundred list pages, feeds and API files, where the body is shown once."""
MAX_ITEMS = {"topics": 50, "images": 20, "related": 100}
"""Longest lists a record may have: each topic is a page, each image and related story a card."""
MAX_WARNINGS = 10
"""Warnings shown per record; the rest are counted in one line, so one file cannot flood stderr."""
STORY_TYPES = ("article", "video")
"""The `type`s the theme knows; a story of any other is shown as an article."""
READING = 2
"""Bumped when the same file is read into another Record (or other warnings), so that a
build cache made by the code before reads its records again rather than keep them."""

# C0 and C1 controls (but tab and newline) and the two non-characters XML 1.0 forbids:
# they have no business in a headline and would make a feed ill-formed.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


def _without_controls(text: str) -> str:
    # Every character _CONTROL_CHARS matches is unprintable: most text needs no pass of it.
    return text if text.isprintable() else _CONTROL_CHARS.sub("", text)


class FrozenDict(dict[str, Any]):
    """A read-only dict that still pickles (records cross process and cache boundaries)."""

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("record fields are read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self)))


_NO_EXTRA = FrozenDict()

# Records are NamedTuples rather than dataclasses: equally immutable and typed, and they
# pickle at C speed, which matters when 100,000 of them go to and from the build cache
# and between worker processes.


def rebuild_as_tuple(self: tuple[Any, ...]) -> tuple[Any, ...]:
    """`__reduce__` for NamedTuples: unpickled by `tuple.__new__`, in C, rather than by the
    class's generated Python `__new__`; reading the cache of 10,000 records takes a third
    less time."""
    return (tuple.__new__, (type(self), tuple(self)))


class Image(NamedTuple):
    __reduce__ = rebuild_as_tuple

    url: str
    width: int | None = None
    height: int | None = None
    cached: bool = False


class Provider(NamedTuple):
    __reduce__ = rebuild_as_tuple

    name: str
    domain: str | None = None
    images: tuple[Image, ...] = ()

    @property
    def logo(self) -> Image | None:
        return self.images[0] if self.images else None


class Related(NamedTuple):
    """Another story a record points to; it may or may not be a page of this site."""

    __reduce__ = rebuild_as_tuple

    title: str
    url: str | None
    excerpt: str = ""
    published_at: datetime | None = None
    type: str = "article"
    provider: Provider | None = None
    quality: int | None = None
    images: tuple[Image, ...] = ()


class Record(NamedTuple):
    """One story as its file describes it, validated; `path` is relative to content/."""

    __reduce__ = rebuild_as_tuple

    path: str
    title: str
    published_at: datetime
    excerpt: str = ""
    original_url: str | None = None
    web_url: str | None = None
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    type: str = "article"
    category: str = "news"
    quality: int = 0
    heat: int | None = None
    published: bool = True
    embed_html: str = ""
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Related, ...] = ()
    body_html: str = ""
    slug_hint: str = ""
    extra: Mapping[str, Any] = _NO_EXTRA
    """Fields masthead does not know, for templates (`article.record.extra`)."""
    digest: str = ""
    """Hash of the file's bytes: what page fingerprints use to notice an edit."""
    body_images: tuple[str, ...] = ()
    """Site paths of the images in the body, as written (see sitepaths.py)."""
    body_links: tuple[str, ...] = ()
    """Site paths of the links in the body, as written."""

    @property
    def url(self) -> str | None:
        """The story's own address: webUrl, else originalUrl."""
        return self.web_url or self.original_url

    @property
    def image(self) -> Image | None:
        return self.images[0] if self.images else None


@dataclass(frozen=True, slots=True)
class LoadResult:
    records: tuple[Record, ...]
    diagnostics: tuple[Diagnostic, ...]
    files: int
    ignored: tuple[str, ...] = ()
    """The other files under the content folder, which no build reads (scan_records)."""

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")


Stamp = tuple[int, int, int, int]
"""(size, mtime_ns, ctime_ns, inode): any edit, copy or `touch` changes it, and it costs one stat."""


def stamp(path: Path) -> Stamp:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def scan_records(content_dir: Path, ignored: list[str] | None = None) -> dict[str, Stamp]:
    """Every record file under content_dir (dot-named entries skipped), by relative path;
    `ignored` receives the other files' paths, which the build's summary names."""
    found: dict[str, Stamp] = {}

    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    # Listed, to be refused with a warning or read (read_record decides):
                    # file links that may be records, and folder links, which never are.
                    if entry.name.endswith(RECORD_SUFFIXES) or _is_dir(entry):
                        found[prefix + entry.name] = _link_stamp(entry.path)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path, f"{prefix}{entry.name}/")
                elif entry.name.endswith(RECORD_SUFFIXES) and entry.is_file():
                    st = entry.stat()
                    found[prefix + entry.name] = (
                        st.st_size,
                        st.st_mtime_ns,
                        st.st_ctime_ns,
                        st.st_ino,
                    )
                elif ignored is not None:
                    ignored.append(prefix + entry.name)

    walk(str(content_dir), "")
    if ignored:
        ignored.sort()
    return dict(sorted(found.items()))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a loop
        return False


def _link_stamp(path: str) -> Stamp:
    """The stamp of what a link leads to (an edit there is an edit), else of the link."""
    try:
        return stamp(Path(path))
    except OSError:
        st = os.lstat(path)
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def link_problem(path: str, root: str) -> str | None:
    """Why the symbolic link `path` is not followed, or None when it leads to a file
    inside `root` (the folder it is under: content/ or data/).

    A link is taken for what it leads to only inside that folder: a record linked from
    `~/private.md` or `/etc` would otherwise be published.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loops; not followed"
        return "symbolic link is broken; not followed"
    if stat.S_ISDIR(st.st_mode):
        return "symbolic link to a folder; not followed"
    real, inside = os.path.realpath(path), os.path.realpath(root)
    if os.path.commonpath([real, inside]) != inside:
        return "symbolic link leads outside its folder; not followed"
    return None


def load_records(content_dir: Path, config: SiteConfig) -> LoadResult:
    """Load every record; bad ones become diagnostics instead of stopping the build."""
    records: list[Record] = []
    diagnostics: list[Diagnostic] = []
    ignored: list[str] = []
    files = scan_records(content_dir, ignored)
    for rel in files:
        read = read_record(content_dir / rel, rel, config)
        if read.record is not None:
            records.append(read.record)
        diagnostics.extend(read.diagnostics)
    return LoadResult(tuple(records), tuple(diagnostics), len(files), tuple(ignored))


class Read(NamedTuple):
    """One record file as read: its record (None when it is unusable or `draft`) and
    everything said about it, error first."""

    record: Record | None
    diagnostics: tuple[Diagnostic, ...]
    draft: bool = False
    """Left unread past its front matter's plain `published: false` (says_draft)."""


def read_record(path: Path, rel: str, config: SiteConfig, skim_drafts: bool = False) -> Read:
    """The file's record. With `skim_drafts` (a build that leaves drafts out), a draft is
    not parsed: a third of a real site's records can be drafts, and parsing them took a
    third of a cold build's reading, for pages it does not make."""
    if os.path.islink(path):
        root = str(path)[: -len(rel)] if str(path).endswith(rel) else os.path.dirname(path)
        problem = link_problem(str(path), root or ".")
        if problem is not None:
            expected = "a file, or a link to a file inside the content folder"
            return Read(None, (Diagnostic(rel, None, problem, expected, "warning"),))
    warnings: list[Diagnostic] = []
    try:
        raw = read_bytes(path, rel, config.max_record_bytes)
        if skim_drafts and says_draft(raw, rel):
            return Read(None, (), draft=True)
        return Read(parse_record(raw, rel, config, warnings), tuple(warnings))
    except RecordError as exc:
        return Read(None, (*exc.diagnostics, *warnings))


def load_record(
    path: Path, rel: str, config: SiteConfig, warnings: list[Diagnostic] | None = None
) -> Record:
    """Read and validate one record file; raises RecordError naming the file and line."""
    raw = read_bytes(path, rel, config.max_record_bytes)
    return parse_record(raw, rel, config, warnings if warnings is not None else [])


def read_bytes(path: Path, rel: str, limit: int) -> bytes:
    """The file's bytes; RecordError if it cannot be read or is over `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY)  # no buffered file object for one read
        try:
            size = os.fstat(fd).st_size
            raw = _read_at_most(fd, limit + 1, size) if size <= limit else b""
        finally:
            os.close(fd)
    except OSError as exc:
        raise _error(rel, 1, f"cannot read file: {exc.strerror}", "a readable file") from exc
    if size > limit or len(raw) > limit:  # the second: it grew while being read
        raise _error(rel, 1, f"file is {max(size, len(raw))} bytes", f"at most {limit}")
    return raw


_DRAFT = r"^published:[ \t]+false(?:[ \t]+#.*)?[ \t]*$"
_DRAFT_BYTES = re.compile(_DRAFT.replace("$", r"\r?$").encode(), re.M)
_DRAFT_LINE = re.compile(_DRAFT, re.M)
_KEY_LINES = ("\npublished:", "\npublished ", "\npublished\t", '\n"published"', "\n'published'")


def says_draft(raw: bytes, rel: str) -> bool:
    """Whether the front matter says `published: false` plainly: on a line of its own, at
    the start of the line, and no other line of the front matter names the key. A line
    at the start is a key of the front matter's mapping (an indented one is part of a
    value; so is such a line inside a quoted value that runs over lines, which YAML
    allows, and that record is taken for the draft the line says it is). YAML's other
    spellings of false, quoted keys and tags are left to the parser. Encoding and fences
    are checked as for any record (RecordError). Lines are found with str.find: a
    multiline regex searched at every offset of the file."""
    at = raw.find(b"\npublished:")
    while at >= 0 and _DRAFT_BYTES.match(raw, at + 1) is None:
        at = raw.find(b"\npublished:", at + 1)
    if at < 0:
        return False  # most published records stop here
    front = "\n" + split_front_matter(decode_text(raw, rel), rel)[0]
    if sum(front.count(key) for key in _KEY_LINES) != 1:
        return False
    at = front.find("\npublished:")
    return at >= 0 and _DRAFT_LINE.match(front, at + 1) is not None


def _read_at_most(fd: int, limit: int, size: int) -> bytes:
    """Up to `limit` bytes of a file that was `size` bytes long when fstat looked.

    Reading stops at the end of the file, or once the `size` bytes are in: one read,
    most times, where waiting for an empty read took two. A file that grew since is read
    on, to its end or the limit; a short read (a network file system, a signal) is
    followed by another.
    """
    chunks, total = [], 0
    while total < limit:
        chunk = os.read(fd, min(limit, size + 1) - total if total < size else limit - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total == size:
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_record(raw: bytes, rel: str, config: SiteConfig, warnings: list[Diagnostic]) -> Record:
    text = decode_text(raw, rel)
    if not text.strip():
        raise _error(
            rel,
            1,
            "file is empty",
            "front matter between '---' lines with at least title and publishedDateTime",
        )
    front, body, offset = split_front_matter(text, rel)
    try:
        data, node = load_yaml_document(front)
    except YamlError as exc:
        line = offset + exc.line if exc.line else offset
        raise _error(rel, line, exc.message, exc.expected) from exc
    if data is None:
        raise _error(
            rel, offset, "front matter is empty", "a mapping with title and publishedDateTime"
        )
    if not isinstance(data, dict):
        line = offset + (node_line(node, ()) or 1)
        raise _error(rel, line, f"front matter is {_kind(data)}", "a mapping of fields")
    fields = _Fields(data, rel, node, offset, config)
    stem = os.path.splitext(os.path.basename(rel))[0]
    body_line = offset + front.count("\n") + 2
    try:
        record = fields.record(body, stem, bytes_digest(raw), body_line)
    except RecordError as exc:
        raise fields.with_every_problem(exc) from None
    fields.check_names()
    fields.check_file_date(stem, record.published_at)
    # Only a record that is kept gets its warnings: a skipped one has its error lines.
    warnings.extend(fields.shown_warnings())
    return record


def decode_text(raw: bytes, rel: str) -> str:
    """UTF-8 text with a BOM dropped and CRLF (or CR) made LF; RecordError for invalid UTF-8 or NUL."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _error(rel, line, f"invalid UTF-8 at byte {exc.start}", "UTF-8 text") from None
    if "\x00" in text:
        raise _error(rel, text.count("\n", 0, text.index("\x00")) + 1, "NUL byte", "text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, rel: str) -> tuple[str, str, int]:
    """Split `---` front matter from the body; return (front, body, line before front)."""
    first_end = text.find("\n")
    first_end = len(text) if first_end < 0 else first_end
    if text[:first_end].rstrip() != "---":
        raise _error(rel, 1, "no front matter", "a first line of '---'")
    end = _closing_fence(text, first_end)
    if end is None:
        raise _error(rel, 1, "front matter is never closed", "a closing '---' line")
    start_body = text.find("\n", end)
    body = "" if start_body < 0 else text[start_body + 1 :]
    return text[first_end + 1 : end], body, 1


_FENCE_REST = re.compile(r"[ \t]*(?:\n|\Z)")


def _closing_fence(text: str, pos: int) -> int | None:
    """Offset of the first `---` (or `...`) line after the newline at `pos`, or None.

    Looked for with str.find: a multiline regex tries every position of the front
    matter, and took a tenth of the time it takes to read a record.
    """
    found = None
    for marker in ("\n---", "\n..."):
        at = text.find(marker, pos)
        while at >= 0 and (found is None or at < found):
            if _FENCE_REST.match(text, at + 4):
                found = at
                break
            at = text.find(marker, at + 1)
    return None if found is None else found + 1


def _kind(value: Any) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        datetime: "a date-time",
        date: "a date",
        type(None): "empty",
    }
    return names.get(type(value), type(value).__name__)


def _error(rel: str, line: int | None, message: str, expected: str | None = None) -> RecordError:
    return RecordError(Diagnostic(rel, line, message, expected))


@functools.cache
def _markdown() -> MarkdownIt:
    """The body renderer, made (and markdown-it imported) when a record first has a body."""
    from markdown_it import MarkdownIt

    from masthead.records.mdlinks import rebase_site_links

    md = MarkdownIt("commonmark", {"html": False}).enable("table").use(rebase_site_links)
    md.validateLink = safe_link  # type: ignore[method-assign]
    md.helpers = _charged_helpers(md.helpers)  # type: ignore[assignment]
    return md


KNOWN_FIELDS = frozenset(
    {
        "category", "title", "excerpt", "publishedDateTime", "originalUrl", "webUrl",
        "ampWebUrl", "cdnAmpWebUrl", "type", "quality", "heat", "published",
        "featuredContent", "provider", "topics", "images", "related", SECRET_KEY,
    }
)  # fmt: skip


class _Fields:
    """Validation of one record's front matter, with line numbers looked up on demand."""

    def __init__(
        self, data: dict[str, Any], rel: str, node: Any, offset: int, config: SiteConfig
    ) -> None:
        self.data, self.rel, self.node, self.offset = data, rel, node, offset
        self.config = config
        self.warnings: list[Diagnostic] = []

    def line(self, *keys: str | int) -> int | None:
        found = node_line(self.node, keys)
        return self.offset + found if found is not None else self.offset

    def fail(
        self, keys: tuple[str | int, ...], message: str, expected: str | None = None
    ) -> RecordError:
        return _error(self.rel, self.line(*keys), message, expected)

    def warn(self, keys: tuple[str | int, ...], message: str, expected: str | None = None) -> None:
        line = self.line(*keys) if len(self.warnings) < MAX_WARNINGS else None
        self.warnings.append(Diagnostic(self.rel, line, message, expected, "warning"))

    def shown_warnings(self) -> list[Diagnostic]:
        if len(self.warnings) <= MAX_WARNINGS:
            return self.warnings
        more = len(self.warnings) - MAX_WARNINGS
        summary = Diagnostic(self.rel, None, f"{more} more warnings not shown", None, "warning")
        return [*self.warnings[:MAX_WARNINGS], summary]

    def check_names(self) -> None:
        """A field name a letter or two from a known one is a typo, not an extra: the story
        would silently lose its topics or provider. Other unknown fields stay extras."""
        for key in self.data:
            if key in KNOWN_FIELDS or is_secret_key(key):
                continue
            guess = _near_field(key)
            if guess is not None:
                self.warn(
                    (key,), f"unknown field {key!r} is kept as an extra; did you mean {guess!r}?"
                )

    def check_file_date(self, stem: str, published: datetime) -> None:
        """The file name's date is what a curator reads; the URL follows publishedDateTime."""
        named = _file_date(stem)
        if named is None:
            return
        day = published.astimezone(self.config.tz).date()
        if abs((day - named).days) > 1:
            self.warn(
                ("publishedDateTime",),
                f"the file name says {named.isoformat()} but publishedDateTime is "
                f"{day.isoformat()}; the story is dated, and its URL made, by publishedDateTime",
            )

    def record(self, body: str, stem: str, digest: str, body_line: int | None = None) -> Record:
        d = self.data
        for key in d:
            if not isinstance(key, str):
                raise self.fail(
                    (str(key),), f"field name {key!r} is {_kind(key)}", "string field names"
                )
        fields = {name: check(self, d) for name, check in _FIELDS}
        site_links: list[tuple[bool, str]] = []
        return Record(
            path=self.rel,
            **fields,
            body_html=self.body(body, body_line, site_links) if body.strip() else "",
            slug_hint=slug_from_filename(stem),
            extra=FrozenDict(
                _without_secret({k: v for k, v in d.items() if k not in KNOWN_FIELDS})
            ),
            digest=digest,
            body_images=tuple(dict.fromkeys(u for image, u in site_links if image)),
            body_links=tuple(dict.fromkeys(u for image, u in site_links if not image)),
        )

    def with_every_problem(self, first: RecordError) -> RecordError:
        """`first`, the problem that stopped record(), with the record's others: each
        field checked on its own, so that `check` and the preview name every problem of
        a record at once. Only a broken record pays for the second look."""
        found = {first.diagnostic: None}
        for _name, check in _FIELDS:
            try:
                check(self, self.data)
            except RecordError as exc:
                found.setdefault(exc.diagnostic)
        ordered = sorted(found, key=lambda p: p.line or 0)
        return RecordError(ordered[0], tuple(ordered[1:]))

    def title(self, d: Mapping[str, Any]) -> str:
        title = " ".join(self.text(d, ("title",), required=True).split())
        if len(title) > MAX_TITLE:
            raise self.fail(("title",), f"title is {len(title)} characters", f"at most {MAX_TITLE}")
        return title

    def embed(self, d: Mapping[str, Any]) -> str:
        """The featured embed, sanitised; dropped with a warning unless it is an allowed iframe."""
        embed = self.text(d, ("featuredContent",))
        embed_html = sanitize_embed(embed, self.config.iframe_hosts) if embed else ""
        if embed and not embed_html:
            self.warn(
                ("featuredContent",),
                "embed dropped",
                f"an https iframe from {', '.join(self.config.iframe_hosts)}",
            )
        return embed_html

    def body(self, body: str, line: int | None, site_links: list[tuple[bool, str]]) -> str:
        """The Markdown body as HTML; as plain paragraphs when Markdown would cost too much.

        `site_links` receives `(is_image, path)` for each site-relative link and image.
        """
        markup = len(body) - len(body.translate(_DROP_MARKUP))
        if markup <= MAX_MARKUP:
            budget = _link_reads.set([MAX_LINK_READS])
            found: list[tuple[bool, str]] = []
            try:
                # Links stay as written; rendering puts them under base_url's path
                # (mdlinks.under_base_path), so a record parses the same for any base_url.
                env = {"site_links": found}
                html_text = _markdown().render(body, env)
                site_links.extend(found)
                return html_text
            except _TooCostly:
                what = f"links that read over {MAX_LINK_READS} characters to parse"
            finally:
                _link_reads.reset(budget)
        else:
            what = f"{markup} Markdown punctuation characters"
        self.warnings.append(
            Diagnostic(
                self.rel,
                line,
                f"body has {what}; shown as plain text",
                f"at most {MAX_MARKUP} punctuation characters and links that close",
                "warning",
            )
        )
        paragraphs = _PARAGRAPH_BREAK.split(_without_controls(body))
        return "".join(f"<p>{html.escape(p.strip())}</p>\n" for p in paragraphs if p.strip())

    # scalars -----------------------------------------------------------------

    def text(
        self, d: Mapping[str, Any], keys: tuple[str | int, ...], required: bool = False
    ) -> str:
        value = d.get(keys[-1])
        if isinstance(value, str):  # the usual case first: two dozen fields a record
            value = _without_controls(value).strip()
            if required and not value:
                raise self.fail(keys, f"{_dotted(keys)} is empty", "a non-empty string")
            return value
        if value is None:
            if required:
                raise self.fail(keys[:-1], f"missing field {_dotted(keys)}", "a non-empty string")
            return ""
        raise self.fail(keys, f"{_dotted(keys)} is {_kind(value)}", "a string")

    def kind(self, d: Mapping[str, Any], keys: tuple[str | int, ...]) -> str:
        """`type`, which the theme reads as `article` or `video`. `Video` is taken as
        meant; a slip from either (`vidoe`) is named, since the story would lose its
        player without a word; any other word (`podcast`) is a site's own, for its own
        templates, and kept without one."""
        value = self.text(d, keys) or "article"
        folded = value.casefold()
        if folded in STORY_TYPES:
            return folded
        for known in STORY_TYPES:
            if distance(folded, known) <= 2:
                message = (
                    f"{_dotted(keys)} {value!r} is shown as an article; did you mean {known!r}?"
                )
                self.warn(keys, message, "article or video")
        return value

    def plain(self, d: Mapping[str, Any], keys: tuple[str | int, ...]) -> str:
        """Text that feeds sometimes deliver as HTML: tags stripped, entities decoded."""
        value = self.text(d, keys)
        if "<" in value or "&" in value:
            value = html.unescape(nh3.clean(value, tags=set()))
        return " ".join(value.split())

    def summary(self, d: Mapping[str, Any], keys: tuple[str | int, ...]) -> str:
        """An excerpt, cut at a word to MAX_EXCERPT characters when longer."""
        value = self.plain(d, keys)
        if len(value) <= MAX_EXCERPT:
            return value
        self.warn(
            keys,
            f"{_dotted(keys)} is {len(value)} characters; cut to {MAX_EXCERPT}",
            f"at most {MAX_EXCERPT}",
        )
        cut = value[: MAX_EXCERPT - 1]
        space = cut.rfind(" ", MAX_EXCERPT // 2)
        return (cut[:space] if space > 0 else cut).rstrip() + "…"

    def name(self, value: str, keys: tuple[str | int, ...]) -> str:
        """A topic or provider name, refused when longer than MAX_NAME characters."""
        name = " ".join(_without_controls(value).split())
        if len(name) > MAX_NAME:
            raise self.fail(
                keys, f"{_dotted(keys)} is {len(name)} characters", f"at most {MAX_NAME}"
            )
        return name

    def integer(self, d: Mapping[str, Any], keys: tuple[str | int, ...]) -> int | None:
        value = d.get(keys[-1])
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(
                keys, f"{_dotted(keys)} is {_kind(value)} {_shown(value)}", "an integer"
            )
        return value

    def url(self, d: Mapping[str, Any], keys: tuple[str | int, ...]) -> str | None:
        value = self.text(d, keys)
        if not value:
            return None
        checked = safe_url(value)
        if checked is None:
            self.warn(keys, f"{_dotted(keys)} dropped: {value[:80]!r}", "an http(s) URL")
        return checked

    def when(
        self, d: Mapping[str, Any], keys: tuple[str | int, ...], required: bool = False
    ) -> Any:
        value = d.get(keys[-1])
        if value.__class__ is datetime and value.tzinfo is not None and 1 < value.year < 9999:
            return value  # a zoned YAML timestamp: a day either way stays in range
        if value is None:
            if required:
                raise self.fail(
                    keys[:-1], f"missing field {_dotted(keys)}", "an ISO 8601 date-time"
                )
            return None
        parsed = _to_datetime(value, self.config.tz)
        if parsed is None:
            impossible = _impossible_date(value)
            raise self.fail(
                keys,
                f"{_dotted(keys)} is {impossible}"
                if impossible
                else f"{_dotted(keys)} is not a date-time: {_shown(value)}",
                "ISO 8601 such as 2024-05-01T09:30:00Z",
            )
        try:  # pages show it in the site's zone, feeds in UTC: both must exist
            parsed.astimezone(UTC), parsed.astimezone(self.config.tz)
        except (OverflowError, ValueError):
            raise self.fail(
                keys,
                f"{_dotted(keys)} is out of range: {value!s}",
                f"a date-time between the years 1 and 9999 in UTC and in {self.config.timezone}",
            ) from None
        return parsed

    def published(self, d: Mapping[str, Any]) -> bool:
        value = d.get("published", True)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("false", "true", "yes", "no"):
            flag = value.strip().lower() in ("true", "yes")
            self.warn(
                ("published",),
                f"published is the string {value!r}, read as {str(flag).lower()}",
                "true or false without quotes",
            )
            return flag
        raise self.fail(("published",), f"published is {_kind(value)}", "true or false")

    # structures --------------------------------------------------------------

    def mapping(self, value: Any, keys: tuple[str | int, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(keys, f"{_dotted(keys)} is {_kind(value)}", "a mapping")
        return value

    def sequence(self, value: Any, keys: tuple[str | int, ...], expected: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(keys, f"{_dotted(keys)} is {_kind(value)}", expected)
        limit = MAX_ITEMS[str(keys[-1])]
        if len(value) > limit:
            raise self.fail(
                keys, f"{_dotted(keys)} has {len(value)} entries", f"{expected} of at most {limit}"
            )
        return value

    def provider(self, value: Any, keys: tuple[str | int, ...]) -> Provider | None:
        if value is None:
            return None
        if isinstance(value, str):  # `provider: The Verge`, the way people write it first
            example = json.dumps(" ".join(value.split())[:60], ensure_ascii=False)
            raise self.fail(
                keys, f"{_dotted(keys)} is a string", f"a mapping, such as {{name: {example}}}"
            )
        m = self.mapping(value, keys)
        name = self.text(m, (*keys, "name"), required=True)
        return Provider(
            name=self.name(name, (*keys, "name")),
            domain=self.text(m, (*keys, "domain")) or None,
            images=self.images(m.get("images"), (*keys, "images")),
        )

    def topics(self, d: Mapping[str, Any]) -> tuple[str, ...]:
        items = self.sequence(d.get("topics"), ("topics",), "a list of topic names")
        topics: list[str] = []
        for i, item in enumerate(items):
            name = self.name(item, ("topics", i)) if isinstance(item, str) else ""
            if not name:
                kind = "empty" if isinstance(item, str) else _kind(item)
                raise self.fail(("topics", i), f"topics[{i}] is {kind}", "a topic name")
            if name not in topics:
                topics.append(name)
        return tuple(topics)

    def images(self, value: Any, keys: tuple[str | int, ...]) -> tuple[Image, ...]:
        images: list[Image] = []
        for i, item in enumerate(self.sequence(value, keys, "a list of images")):
            where = (*keys, i)
            m = self.mapping(item, where)
            url = self.url(m, (*where, "url"))
            if url:
                images.append(
                    Image(
                        url=url,
                        width=self.dimension(m, (*where, "width")),
                        height=self.dimension(m, (*where, "height")),
                        cached=m.get("isCached") is True,
                    )
                )
        return tuple(images)

    def dimension(self, m: Mapping[str, Any], keys: tuple[str | int, ...]) -> int | None:
        value = self.integer(m, keys)
        if value is not None and not 0 < value <= 100_000:
            raise self.fail(keys, f"{_dotted(keys)} is {value}", "a size between 1 and 100000")
        return value

    def related(self, d: Mapping[str, Any]) -> tuple[Related, ...]:
        related: list[Related] = []
        for i, item in enumerate(
            self.sequence(d.get("related"), ("related",), "a list of stories")
        ):
            keys: tuple[str | int, ...] = ("related", i)
            m = self.mapping(item, keys)
            related.append(
                Related(
                    title=self.text(m, (*keys, "title"), required=True),
                    url=self.url(m, (*keys, "webUrl")) or self.url(m, (*keys, "originalUrl")),
                    excerpt=self.summary(m, (*keys, "excerpt")),
                    published_at=self.when(m, (*keys, "publishedDateTime")),
                    type=self.kind(m, (*keys, "type")),
                    provider=self.provider(m.get("provider"), (*keys, "provider")),
                    quality=self.integer(m, (*keys, "quality")),
                    images=self.images(m.get("images"), (*keys, "images")),
                )
            )
        return tuple(related)


_FIELDS: tuple[tuple[str, Callable[[_Fields, Mapping[str, Any]], Any]], ...] = (
    ("title", _Fields.title),
    ("web_url", lambda f, d: f.url(d, ("webUrl",))),
    ("original_url", lambda f, d: f.url(d, ("originalUrl",))),
    ("type", lambda f, d: f.kind(d, ("type",))),
    ("embed_html", _Fields.embed),
    ("published_at", lambda f, d: f.when(d, ("publishedDateTime",), required=True)),
    ("excerpt", lambda f, d: f.summary(d, ("excerpt",))),
    ("amp_url", lambda f, d: f.url(d, ("ampWebUrl",))),
    ("cdn_amp_url", lambda f, d: f.url(d, ("cdnAmpWebUrl",))),
    ("category", lambda f, d: f.text(d, ("category",)) or "news"),
    ("quality", lambda f, d: f.integer(d, ("quality",)) or 0),
    ("heat", lambda f, d: f.integer(d, ("heat",))),
    ("published", _Fields.published),
    ("provider", lambda f, d: f.provider(d.get("provider"), ("provider",))),
    ("topics", _Fields.topics),
    ("images", lambda f, d: f.images(d.get("images"), ("images",))),
    ("related", _Fields.related),
)
"""The record's fields from its front matter, each checked on its own, in this order
(the order their warnings are given in)."""

MAX_MARKUP = 5_000
"""Markdown's inline parser tries each of its rules at every punctuation character: a body
with more of them than this costs more than a fifth of a second, and is shown as text."""
MAX_LINK_READS = 200_000
"""Characters the link parser may read for destinations and titles in one body. An
unclosed `[a](` reads on to the next space, `[a](<` and `[a](x "` to the paragraph's end,
each time again: a few hundred of them in a long paragraph took seconds."""
# The characters markdown-it's inline parser stops at (its default terminators).
_DROP_MARKUP = str.maketrans(dict.fromkeys("\n!#$%&*+-:<=>@[\\]^_`{}~"))
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_link_reads: ContextVar[list[int] | None] = ContextVar("link_reads", default=None)


class _TooCostly(Exception):
    """The body's links read more than MAX_LINK_READS characters."""


# How far markdown-it's link helpers read from a position (the same rules, in C, possessive
# so they never backtrack): a destination in <...>, a bare one, and titles by closing mark.
_READS = {
    "<": re.compile(r"<(?:\\[\s\S]|[^\n<>\\])*+"),
    "": re.compile(r"(?:\\[^ ]|[^\x00-\x20\x7f\\])*+\\?"),
    '"': re.compile(r'"?(?:\\[\s\S]|[^"\\])*+'),
    "'": re.compile(r"'?(?:\\[\s\S]|[^'\\])*+"),
    ")": re.compile(r"\(?(?:\\[\s\S]|[^()\\])*+"),
}


def _charge(reads: re.Pattern[str], text: str, pos: int, maximum: int) -> None:
    """Count what a link helper is about to read; past the budget, give up on Markdown."""
    found = reads.match(text, pos, maximum)
    budget = _link_reads.get()
    if budget is not None:
        budget[0] -= (found.end() if found else pos) - pos + 1
        if budget[0] < 0:
            raise _TooCostly


def _charged_helpers(helpers: Any) -> SimpleNamespace:
    """markdown-it's link helpers (its public `md.helpers`), counting what they read."""

    def destination(text: str, pos: int, maximum: int) -> Any:
        _charge(_READS["<" if text.startswith("<", pos) else ""], text, pos, maximum)
        return helpers.parseLinkDestination(text, pos, maximum)

    def title(text: str, pos: int, maximum: int, prev: Any = None) -> Any:
        mark = chr(prev.marker) if prev is not None else text[pos : pos + 1]
        reads = _READS.get(")" if mark == "(" else mark)
        if reads is not None:
            _charge(reads, text, pos, maximum)
        return helpers.parseLinkTitle(text, pos, maximum, prev)

    return SimpleNamespace(
        parseLinkLabel=helpers.parseLinkLabel,
        parseLinkDestination=destination,
        parseLinkTitle=title,
    )


def _without_secret(value: Any) -> Any:
    """`value` with every `secured` key (in any spelling, see is_secret_key) removed at any
    depth: it must never reach output."""
    if isinstance(value, dict):
        return {k: _without_secret(v) for k, v in value.items() if not is_secret_key(k)}
    if isinstance(value, list):
        return [_without_secret(v) for v in value]
    return value


def _shown(value: Any) -> str:
    """A value for a message, cut short: a hostile file may hold a megabyte in one field."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _dotted(keys: tuple[str | int, ...]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _to_datetime(value: Any, tz: tzinfo) -> datetime | None:
    """An aware datetime from a YAML timestamp, a date or an ISO 8601 string.

    Times without a zone are taken to be in the site's timezone, as Hugo does.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz)
    return None


_DATE_SHAPE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})(?:[T ]|\s*$)")
_FILE_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-")


def _impossible_date(value: Any) -> str | None:
    """What is wrong with a date-shaped text that names no day: `2026-02-30`, `2026-13-01`."""
    if not isinstance(value, str):
        return None
    found = _DATE_SHAPE.match(value)
    if found is None:
        return None
    year, month, day = (int(part) for part in found.groups())
    shown = "-".join(found.groups())
    if not 1 <= month <= 12:
        return f"{shown}, a date that does not exist: there is no month {month}"
    days = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if not 1 <= day <= days:
        name = calendar.month_name[month]
        return f"{shown}, a date that does not exist: {name} {year} has {days} days"
    return None


def _file_date(stem: str) -> date | None:
    found = _FILE_DATE.match(stem)
    if found is None:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


_SUGGESTED = sorted(KNOWN_FIELDS - {SECRET_KEY})


def _near_field(key: str) -> str | None:
    """The known field `key` was probably meant to be: the same but for case, or one or
    two edits away (one for short names)."""
    folded = key.casefold()
    for known in _SUGGESTED:
        if known.casefold() == folded:
            return known
    allowed = 1 if len(key) <= 5 else 2
    best = min(_SUGGESTED, key=lambda known: distance(folded, known.casefold()))
    return best if distance(folded, best.casefold()) <= allowed else None
