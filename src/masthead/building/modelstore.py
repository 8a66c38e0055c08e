"""The last full build's page plan, kept so that a build after an edit reads only what it shows.

`model.bin` holds every output's PageSpec and every article, each pickled on its own,
and a table of where each one lies. A spec's context names its articles by record path
(see _Writer), so reading one page's spec reads just the articles on it:
after a title edit, `masthead build` reads a dozen pages' worth of the model instead of
every record, and needs neither the time nor the memory of the whole site.

Articles patched since the file was written (edits that kept the site's shape) live in
the build state and take precedence over the file's. Like the rest of the cache, the file
is trusted as much as the site folder; each part carries a checksum, and a file that does
not match the state that names it (by a random token) is not used.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import pickle
import struct
from array import array
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, NamedTuple

from masthead import cachefile
from masthead.cachefile import HashingWriter, Kind
from masthead.diagnostics import shown_path
from masthead.hashing import KEY_BYTES, bytes_digest, checksum, short_key
from masthead.model.site import Article, Site
from masthead.outputs.plan import PageSpec
from masthead.urls import output_path

log = logging.getLogger(__name__)

MODEL = "model.bin"
_LENGTH = struct.Struct("<Q")


class ModelError(Exception):
    """model.bin is missing, damaged or made for another state."""


def _by_fields(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    assert all(f.init for f in dataclasses.fields(cls)), cls

    def reduce(obj: Any) -> tuple[Any, ...]:
        return cls, tuple([getattr(obj, name) for name in names])

    return reduce


def _model_classes() -> dict[type, Callable[[Any], tuple[Any, ...]]]:
    """The model's dataclasses, pickled as their class and fields: the default for frozen
    slotted dataclasses goes through dataclasses.fields() for every object, and took half
    the time of writing the model."""
    from masthead.model import archives, editions, site
    from masthead.outputs import api, feeds, plan, sitemap

    return {
        obj: _by_fields(obj)
        for module in (api, archives, editions, feeds, plan, site, sitemap)
        for obj in vars(module).values()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj)
        and obj.__module__ == module.__name__
    }  # fmt: skip


class _Where:
    """Where each pickle of one kind lies in the file, in flat arrays: a dict of tuples
    took a hundred megabytes at 100,000 records, for a moment, at the end of a build."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.spans = array("Q")  # offset, length and CRC-32, three to an entry
        self.keys = bytearray()
        """KEY_BYTES an entry: a digest of what must be equal for the pickle to be copied
        into the next model (zeros: never)."""

    def add(self, name: str, offset: int, length: int, crc: int, key: bytes) -> None:
        self.index[name] = len(self.index)
        self.spans.extend((offset, length, crc))
        self.keys += key

    def get(self, name: str) -> tuple[int, int, int, bytes] | None:
        i = self.index.get(name)
        if i is None:
            return None
        offset, length, crc = self.spans[3 * i : 3 * i + 3]
        return offset, length, crc, bytes(self.keys[KEY_BYTES * i : KEY_BYTES * (i + 1)])


_NEVER = bytes(KEY_BYTES)


class _ArticleWriter(pickle.Pickler):
    dispatch_table = _model_classes()


class _Writer(pickle.Pickler):
    """A page's spec, each article on it written as a call of `_article` with its record
    path. Not a persistent ID: pickle asks persistent_id() of every object, strings and
    numbers too (over a million calls for 10,000 stories), its dispatch table only of
    objects of the types it names."""

    dispatch_table: ClassVar = {
        **_ArticleWriter.dispatch_table,
        Article: lambda a: (_article, (a.record.path,)),
    }


def _article(path: str) -> Article:
    """Stands for an article in a pickled spec: _Reader loads it from the store."""
    raise ModelError(f"an article of model.bin ({path}) read without its store")


class _Reader(pickle.Unpickler):
    def __init__(self, data: bytes, article: Callable[[str], Article]) -> None:
        super().__init__(io.BytesIO(data))
        self._article = article

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_article":
            return self._article
        return super().find_class(module, name)


class _Table(NamedTuple):
    """model.bin's table, pickled after its parts: where each lies, and the plan's outline."""

    key: str
    """The state key the model was built under."""
    token: str
    """Names this file to the state that uses it."""
    articles: _Where
    specs: _Where
    outputs: list[tuple[str, str]]
    merged: frozenset[str]
    by_identity: dict[str, str]


MODEL_KIND = Kind("model", 8, _Table)
"""The header's digest is the table's; each part has a CRC-32 in the table."""


def save_model(
    cache_dir: Path, key: str, site: Site, specs: Iterable[PageSpec], pages: Mapping[str, str]
) -> str:
    """Write model.bin for `site` and its plan; returns the token the state keeps to name it.

    `pages` holds each output's fingerprint. A spec with the fingerprint (and date) it had
    in the last model, or an article with the same digest, is copied over as bytes rather
    than pickled again: after a story is added, only the lists that moved are. The file is
    its header, the pickles one after another, the table of where each lies, and the
    table's length: written in one pass, then renamed.
    """
    token = os.urandom(16).hex()  # as uuid4, without importing uuid (and platform)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / MODEL
    old = _read_table(path, quiet=True)
    # Only where its pickles lie is kept: not the rest of the old table, for the memory.
    parts = _Parts(
        path, (old[0].articles, old[0].specs, old[1]) if old and old[0].key == key else None
    )
    del old
    with parts, cachefile.writing(path, MODEL_KIND) as out:
        for article in site.articles:
            name = article.record.path
            parts.put(out.file, "articles", name, short_key(article.digest), article)
        outputs: list[tuple[str, str]] = []
        for spec in specs:
            rel = output_path(spec.url)
            fingerprint = pages.get(rel)
            reuse = short_key(f"{fingerprint} {spec.lastmod}") if fingerprint else _NEVER
            parts.put(out.file, "specs", rel, reuse, spec)
            outputs.append((rel, spec.url))
        parts.flush(out.file)
        merged = frozenset(path for a in site.articles for path in a.merged)
        table = _Table(key, token, parts.articles, parts.specs, outputs, merged, site.by_identity)
        hashing = HashingWriter(out.file)  # straight into the file, not held as bytes
        pickle.Pickler(hashing, protocol=pickle.HIGHEST_PROTOCOL).dump(table)
        out.file.write(_LENGTH.pack(hashing.size))
        out.seal(hashing.sha.hexdigest())
    return token


class _Parts:
    """The parts of a model.bin being written, and where each lies; those the last
    model.bin (`old`) holds unchanged are copied from it as bytes, each run of parts that
    lay one after another there read and written at once (after an added story, nearly
    the whole file is a few such runs)."""

    def __init__(self, path: Path, old: tuple[_Where, _Where, int] | None) -> None:
        self.articles, self.specs = _Where(), _Where()
        self.offset = 0
        self.buffer = io.BytesIO()
        self.old = old
        self.source = os.open(path, os.O_RDONLY) if old is not None else None
        self.run: list[tuple[str, str, bytes, Any, int, int, int]] = []
        """Parts to copy, in order: kind, name, reuse key, value, and where it lay."""

    def __enter__(self) -> _Parts:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.source is not None:
            os.close(self.source)

    def put(self, out: BinaryIO, kind: str, name: str, reuse: bytes, value: Any) -> None:
        """Write one article or spec; `reuse` is the key under which its old bytes do."""
        was = self._old_place(kind, name, reuse)
        if was is None:
            self.flush(out)
            blob = self._pickled(kind, value)
            self._add(kind, name, reuse, len(blob), checksum(blob))
            out.write(blob)
            return
        if self.run and self._run_end() != was[0]:
            self.flush(out)
        self.run.append((kind, name, reuse, value, *was))

    def flush(self, out: BinaryIO) -> None:
        """Copy the parts of the pending run, each checked; one that is not as written
        is pickled again."""
        if not self.run:
            return
        assert self.source is not None and self.old is not None
        first = self.run[0][4]
        data = memoryview(os.pread(self.source, self._run_end() - first, self.old[2] + first))
        for kind, name, reuse, value, offset, length, crc in self.run:
            blob: bytes | memoryview = data[offset - first : offset - first + length]
            if len(blob) != length or checksum(blob) != crc:
                blob = self._pickled(kind, value)
                crc = checksum(blob)
            self._add(kind, name, reuse, len(blob), crc)
            out.write(blob)
        self.run.clear()

    def _run_end(self) -> int:
        last = self.run[-1]
        return last[4] + last[5]

    def _add(self, kind: str, name: str, reuse: bytes, length: int, crc: int) -> None:
        where = self.articles if kind == "articles" else self.specs
        where.add(name, self.offset, length, crc, reuse)
        self.offset += length

    def _pickled(self, kind: str, value: Any) -> bytes:
        self.buffer.seek(0)
        self.buffer.truncate()
        writer = _ArticleWriter if kind == "articles" else _Writer
        writer(self.buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        return self.buffer.getvalue()

    def _old_place(self, kind: str, name: str, reuse: bytes) -> tuple[int, int, int] | None:
        """(offset, length, CRC-32) of the part's old bytes, if they can be copied."""
        if self.old is None or self.source is None or reuse == _NEVER:
            return None
        articles, specs, _ = self.old
        was = (articles if kind == "articles" else specs).get(name)
        if was is None or was[3] != reuse:
            return None
        return was[0], was[1], was[2]


def _read_table(path: Path, quiet: bool = False) -> tuple[_Table, int] | None:
    """model.bin's table and where its pickles start; None if there is none we can use
    (with a warning, unless `quiet`: a build writing a new one only looks for parts to copy)."""
    found = cachefile.open_checked(path, MODEL_KIND, quiet=quiet)
    if found is None:
        return None
    f, digest = found
    try:
        with f:
            start = f.tell()
            end = f.seek(-_LENGTH.size, os.SEEK_END)
            (size,) = _LENGTH.unpack(f.read(_LENGTH.size))
            if end - size < start:
                raise ModelError("cut short")
            f.seek(end - size)
            table_bytes = f.read(size)
        if bytes_digest(table_bytes) != digest:
            raise ModelError("damaged (checksum mismatch)")
        table = pickle.loads(table_bytes)
        if not isinstance(table, _Table):
            raise ModelError("holds no model table")
    except (OSError, ValueError, struct.error, ModelError, pickle.UnpicklingError) as exc:
        if not quiet:
            cachefile.discard(path, exc)
        return None
    return table, start


class ModelStore:
    """Read access to model.bin, with articles patched since it was written on top."""

    def __init__(self, path: Path, table: _Table, start: int, patched: dict[str, Article]):
        self.table, self.start = table, start
        self.patched = patched
        self._articles: dict[str, Article] = {}
        self._fd = os.open(path, os.O_RDONLY)

    @classmethod
    def open(
        cls, cache_dir: Path, key: str, token: str, patched: Mapping[str, Article]
    ) -> ModelStore | None:
        """The store the state names by `token`, or None (with a warning if it is damaged)."""
        found = _read_table(cache_dir / MODEL)
        if found is None:
            return None
        table, start = found
        if table.key != key or table.token != token:
            return None  # written for another state, or the state for another model
        try:
            return cls(cache_dir / MODEL, table, start, dict(patched))
        except OSError as exc:
            log.warning(
                "%s: cannot be used (%s); building without it", shown_path(cache_dir / MODEL), exc
            )
            return None

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> ModelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def outputs(self) -> list[tuple[str, str]]:
        """(output path, URL) of every output, in plan order."""
        return self.table.outputs

    @property
    def merged(self) -> frozenset[str]:
        return self.table.merged

    @property
    def by_identity(self) -> dict[str, str]:
        return self.table.by_identity

    def article(self, path: str) -> Article | None:
        """The article of this record path as the last build showed it (None: not a page)."""
        if path in self.patched:
            return self.patched[path]
        if path not in self._articles:
            where = self.table.articles.get(path)
            if where is None:
                return None
            self._articles[path] = pickle.loads(self._read(where))
        return self._articles[path]

    def spec(self, rel: str) -> PageSpec:
        """The planned output at `rel`, its articles as patched."""
        where = self.table.specs.get(rel)
        if where is None:
            raise ModelError(f"no page {rel} in model.bin")
        return _Reader(self._read(where), self._known_article).load()  # type: ignore[no-any-return]

    def _known_article(self, path: str) -> Article:
        article = self.article(path)
        if article is None:
            raise ModelError(f"a page shows {path}, which model.bin does not hold")
        return article

    def _read(self, where: tuple[int, int, int, Any]) -> bytes:
        offset, length, crc, _ = where
        blob = os.pread(self._fd, length, self.start + offset)
        if len(blob) != length or checksum(blob) != crc:
            raise ModelError("damaged (checksum mismatch)")
        return blob
