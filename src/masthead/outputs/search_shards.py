"""The search index in shards, each made again only when what Pagefind is given for it changed.

Pagefind cannot update an index in place; instead each shard of stories
(search_records) is an index of its own, which the search page merges in the browser
(Pagefind's `mergeIndex`: one search, one list of results, filters counted over all).
The oldest shard is the primary index, in `pagefind/` with Pagefind's scripts; every
other one is in `pagefind/shards/<shard>-<hash>/`, data only; `pagefind/shards.json`
names them for the search page. The hash is of what Pagefind was given for the shard
(its documents, the language and the Pagefind binary), so a shard whose folder the last
build wrote is carried over without looking further. One that is not is taken from the
build cache (`<cache>/search/<name>.shard`, the bundle as stabilised) or, failing that,
indexed: all such shards by one Pagefind process, given the documents over a pipe.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from masthead import cachefile
from masthead.cachefile import Kind
from masthead.diagnostics import shown_path
from masthead.hashing import bytes_digest, digest_of, hasher
from masthead.killpoint import kill_point
from masthead.outputs.pagefind_bundle import stabilise_files
from masthead.outputs.pagefind_service import Document, Service, ServiceError, check_version
from masthead.outputs.search import BUNDLE, UI_FILES, UNUSED_UI, SearchError, die_with_parent
from masthead.outputs.search_records import SearchDoc, SearchInput, shard_labels
from masthead.outputs.writer import OutputWriter
from masthead.records.loader import stamp

log = logging.getLogger(__name__)

SHARDS = "shards"
"""Folder under pagefind/ of the shards other than the primary."""
LIST = "shards.json"
"""Under pagefind/: the primary shard's name and the folders the search page merges."""
CACHE = "search"
"""Folder under the build cache of shard bundles."""
FORMAT = 1
"""Bumped when what a shard's name stands for changes."""
CODE = "code"
"""Name, in the cache, of Pagefind's scripts (the same for every shard)."""
DOCS = "masthead-docs.json"
"""In a cached shard: the documents it was made of, for the next build's edits."""
CATALOG = "catalog.bin"
"""In the cache: every story's shard, date and time, and the shard list they go with."""
SHARD_KIND = Kind("search-shard", 1, bytes)
"""A cached shard: its bundle and documents, packed (_pack)."""

Files = dict[str, bytes]


class _Catalog(NamedTuple):
    """The last build's stories as indexed, and the Pagefind it indexed them with."""

    listing: str
    """Digest of the shard list (LIST) this catalog goes with."""
    stories: dict[str, list[Any]]
    """{url: [shard, year, month, time, key]}"""
    binary: tuple[str, str]
    """The Pagefind binary's path and stamp (records.loader.stamp) and the hash of its bytes,
    which a build need not read again while the stamp holds."""


CATALOG_KIND = Kind("search-catalog", 3, _Catalog)


@dataclass(frozen=True, slots=True)
class _Story:
    """A story in the index: its document as this build makes it (`doc`; None: only the
    last build's is at hand), and `old`, the shard that last held it as it is now ("":
    new or changed)."""

    url: str
    year: int
    month: int
    time: float
    key: str
    doc: SearchDoc | None = None
    old: str = ""


def update_shards(
    binary: Path,
    language: str,
    found: SearchInput,
    writer: OutputWriter,
    cache_dir: Path | None,
    processes: int = 1,
) -> tuple[int, int] | None:
    """Write or carry over every shard's bundle; return (files, written). None when the
    build planned only some pages and the last build's documents are not at hand.
    `processes`: how many Pagefind processes may index side by side."""
    folder = cache_dir / CACHE if cache_dir is not None else None
    saved = _read_catalog(folder)
    cache = _Cache(folder, _binary_digest(binary, saved.binary if saved else None), saved)
    stories = _stories(found, cache, writer)
    if stories is None:
        return None
    if not stories:
        log.warning("no search index: no page has anything to index yet")
        return 0, 0
    labels = shard_labels((s.year, s.month) for s in stories)
    shards: dict[str, list[_Story]] = {}
    for story in sorted(stories, key=lambda s: (-s.time, s.url)):
        shards.setdefault(labels[story.year, story.month], []).append(story)
    names: dict[str, str] = {}
    docs: dict[str, list[Document]] = {}
    for label, members in sorted(shards.items()):
        old = {s.old for s in members}
        if len(old) == 1 and members[0].old and cache.sizes.get(members[0].old) == len(members):
            names[label] = members[0].old  # the same stories as last time: the same name
            continue
        made = _documents(members, cache)
        if made is None:
            return None
        docs[label] = made
        names[label] = f"{label}-{_shard_key(cache.tool, language, made)}"
    primary = min(names)
    out = _Out(writer)
    missing = [] if out.keep_root(names[primary]) else [primary]
    missing += [
        label for label in sorted(names) if label != primary and not out.keep(_folder(names[label]))
    ]
    bundles: dict[str, Files] = {}
    for label in missing:
        cached = cache.get(names[label])
        if cached is not None:
            bundles[label] = cached
    code = cache.get(CODE) if primary in missing else None
    to_index = [label for label in missing if label not in bundles]
    if primary in missing and code is None and primary not in to_index:
        to_index.append(primary)  # its scripts come with its bundle
    for label in to_index:
        if label not in docs:
            made = _documents(shards[label], cache)
            if made is None:
                return None
            docs[label] = made
    out.keep_now()

    def place(label: str) -> str:
        return f"{BUNDLE}/" if label == primary else _folder(names[label])

    def arrived(i: int, bundle: Files) -> None:
        """A shard indexed: written and cached while Pagefind makes the others."""
        nonlocal code
        label = to_index[i]
        data, scripts = _split(bundle)
        out.write_all(place(label), data)
        cache.put(names[label], data, docs[label])
        if code is None:
            code = scripts  # the same for every shard
            cache.put(CODE, scripts)

    if to_index:
        _index(binary, language, [docs[label] for label in to_index], processes, arrived)
    for label, data in bundles.items():  # from the cache
        out.write_all(place(label), data)
    if primary in missing:
        assert code is not None
        out.write_all(f"{BUNDLE}/", code)
    merged = [f"{SHARDS}/{names[label]}/" for label in sorted(names) if label != primary]
    listing = json.dumps({"primary": names[primary], "merge": merged}, indent=1) + "\n"
    out.write(f"{BUNDLE}/{LIST}", listing.encode())
    catalog = {
        s.url: [names[labels[s.year, s.month]], s.year, s.month, s.time, s.key] for s in stories
    }
    cache.save_catalog(bytes_digest(listing.encode()), catalog)
    cache.prune({*names.values(), CODE})
    return out.files, out.written


def _stories(found: SearchInput, cache: _Cache, writer: OutputWriter) -> list[_Story] | None:
    """Every story of this build: those planned afresh, and the last build's for the
    rest (None when they are not known)."""
    found_catalog = cache.catalog((writer.previous or {}).get(f"{BUNDLE}/{LIST}"))
    if found_catalog is None and found.unplanned:
        return None
    catalog = found_catalog or {}
    stories = []
    for d in found.docs:
        known = catalog.get(d.url)
        same = d.key and known and known[1:] == [d.year, d.month, d.time, d.key]
        stories.append(_Story(d.url, d.year, d.month, d.time, d.key, d, known[0] if same else ""))
    for url in found.unplanned:
        known = catalog.get(url)
        if known is not None:  # an article page (other outputs are not in the catalog)
            name, year, month, time, key = known
            stories.append(_Story(url, year, month, time, key, old=name))
    return stories


def _documents(members: list[_Story], cache: _Cache) -> list[Document] | None:
    """(url, page) of each story, those only the last build made as it made them."""
    made: list[Document] = []
    for story in members:
        if story.doc is not None:
            made.append((story.url, story.doc.document))
            continue
        page = cache.docs(story.old).get(story.url)
        if page is None:
            return None
        made.append((story.url, page))
    return made


def _folder(name: str) -> str:
    return f"{BUNDLE}/{SHARDS}/{name}/"


def _shard_key(tool: str, language: str, docs: list[Document]) -> str:
    return digest_of((FORMAT, tool, language, docs))[:16]


def _read_catalog(folder: Path | None) -> _Catalog | None:
    if folder is None:
        return None
    found = cachefile.read(folder / CATALOG, CATALOG_KIND)
    return found[0][0] if found is not None and len(found[0]) == 1 else None


_BINARIES: dict[str, str] = {}


def _binary_digest(binary: Path, known: tuple[str, str] | None) -> tuple[str, str]:
    """The Pagefind binary's stamp and a hash of its bytes (another Pagefind makes other
    bundles), remembered by the stamp: for the preview's many builds, and in the catalog
    (`known`) for the next build's, which then need not read its 20 MB again."""
    try:
        stamped = f"{binary}\0{stamp(binary)}"  # the stamp the build's no-op check takes
    except OSError as exc:
        raise SearchError(f"Pagefind could not run: {exc}") from exc
    if stamped not in _BINARIES:
        if known is not None and known[0] == stamped:
            _BINARIES[stamped] = known[1]
        else:
            digest = hasher()
            with binary.open("rb") as file:
                while chunk := file.read(1 << 20):
                    digest.update(chunk)
            _BINARIES[stamped] = digest.hexdigest()
    return stamped, _BINARIES[stamped]


def _index(
    binary: Path,
    language: str,
    shards: list[list[Document]],
    processes: int,
    arrived: Callable[[int, Files], None],
) -> None:
    """Make the stabilised bundle of each shard, by up to `processes` Pagefind processes
    side by side (Pagefind writes one index's files on one core, so on a first build, with
    every shard to make, a second process halves the wait), and give each to `arrived`
    with its place in `shards`, in this thread, as soon as it is made: the files are
    written and cached while Pagefind makes the others, not all after the last one."""
    groups = _share(shards, processes if sum(map(len, shards)) >= PARALLEL_MIN else 1)
    ready: queue.SimpleQueue[tuple[int, Files] | BaseException] = queue.SimpleQueue()
    try:
        with contextlib.ExitStack() as stack:
            # Started here, not in the threads: Pagefind is killed when the thread that
            # started it ends (die_with_parent), and a fork from a thread is not safe.
            services = [
                stack.enter_context(Service(binary, preexec=die_with_parent())) for _ in groups
            ]
            kill_point("search")
            pool = ThreadPoolExecutor(len(groups))
            try:
                made = [
                    pool.submit(_made, service, language, shards, group, ready.put)
                    for service, group in zip(services, groups, strict=True)
                ]
                for future in made:  # a thread that fails says so: its shards never come
                    future.add_done_callback(lambda f: f.exception() and ready.put(f.exception()))
                for _ in shards:
                    item = ready.get()
                    if isinstance(item, BaseException):
                        raise item
                    arrived(*item)
                for future in made:
                    future.result()
            except BaseException:
                for service in services:
                    service.close()  # the other process's thread stops now, not when done
                raise
            finally:
                pool.shutdown()
    except ServiceError as exc:
        raise SearchError(str(exc)) from exc


PARALLEL_MIN = 1000
"""Stories to index below which one Pagefind process does it: a second costs its start."""


def _share(shards: list[list[Document]], processes: int) -> list[list[int]]:
    """The shards' indexes in up to `processes` groups of about as many documents each."""
    groups: list[list[int]] = [[] for _ in range(max(1, min(processes, len(shards))))]
    sizes = [0] * len(groups)
    for i in sorted(range(len(shards)), key=lambda i: -len(shards[i])):
        least = sizes.index(min(sizes))
        groups[least].append(i)
        sizes[least] += len(shards[i])
    return [sorted(group) for group in groups if group]


def _made(
    service: Service,
    language: str,
    shards: list[list[Document]],
    group: list[int],
    ready: Callable[[tuple[int, Files]], None],
) -> None:
    """Index the shards at `group`'s places, each bundle to `ready` with its place."""
    bundles = service.index([shards[i] for i in group], language)
    for i, bundle in zip(group, bundles, strict=True):
        check_version(bundle)
        for name in ("pagefind-entry.json", *UI_FILES):
            if name not in bundle:
                raise SearchError(f"Pagefind wrote no {name}")
        ready((i, stabilise_files(bundle)))


def _split(bundle: Files) -> tuple[Files, Files]:
    """(the shard's own data, Pagefind's scripts and interface), without unused interfaces."""
    data: Files = {}
    code: Files = {}
    for rel, content in bundle.items():
        if "/" in rel or rel == "pagefind-entry.json" or rel.endswith(".pf_meta"):
            data[rel] = content
        elif not rel.startswith(UNUSED_UI):
            code[rel] = content
    return data, code


class _Out:
    """The bundle's files as this build writes or carries them over."""

    def __init__(self, writer: OutputWriter) -> None:
        self.writer = writer
        self.files = self.written = 0
        previous = writer.previous or {}
        self.old = sorted(rel for rel in previous if rel.startswith(f"{BUNDLE}/"))
        self.folders: dict[str, list[str]] = {}
        self.kept: list[str] = []
        for rel in self.old:
            parts = rel.split("/", 3)
            if len(parts) == 4 and parts[1] == SHARDS:
                self.folders.setdefault(_folder(parts[2]), []).append(rel)

    def keep(self, folder: str) -> bool:
        """Carry over the last build's folder of a shard, if it is all there."""
        return self._keep_all(self.folders.get(folder, []))

    def keep_root(self, name: str) -> bool:
        """Carry over the primary shard and scripts, if the last build's was `name`."""
        listing = self.writer.root / BUNDLE / LIST
        if f"{BUNDLE}/{LIST}" not in self.old or not self.writer.still_there(f"{BUNDLE}/{LIST}"):
            return False
        try:
            if json.loads(listing.read_bytes()).get("primary") != name:
                return False
        except (OSError, ValueError, AttributeError):
            return False
        shards = f"{BUNDLE}/{SHARDS}/"
        root = [r for r in self.old if not r.startswith(shards) and r != f"{BUNDLE}/{LIST}"]
        return self._keep_all(root)

    def _keep_all(self, rels: list[str]) -> bool:
        """Keep every file of `rels`, if all are still there (a folder read once, not a
        look per file: a shard has a file per story)."""
        if not rels or self.writer.untrusted:
            return False
        folders: dict[str, set[str]] = {}
        for rel in rels:
            folder, _, name = rel.rpartition("/")
            folders.setdefault(folder, set()).add(name)
        for folder, names in folders.items():
            try:
                with os.scandir(self.writer.root / folder) as found:
                    present = {e.name for e in found if e.is_file(follow_symlinks=False)}
            except OSError:
                return False
            if not names <= present:
                return False
        self.kept += rels
        self.files += len(rels)
        return True

    def keep_now(self) -> None:
        """Tell the writer what is carried over: only once every document this build
        needs is at hand, since a shard found missing can still send the build back to
        indexing the pages as built, which writes the bundle anew."""
        for rel in self.kept:
            self.writer.keep(rel, check=False)

    def write_all(self, prefix: str, files: Files) -> None:
        for rel in sorted(files):
            self.write(prefix + rel, files[rel])

    def write(self, rel: str, data: bytes) -> None:
        self.files += 1
        self.written += self.writer.write(rel, data)


def _pack(files: Files) -> bytes:
    """The files as one: the length of a JSON table of {path: [offset, length]}, the
    table, then the files' bytes (a zip costs a tenth of a millisecond a
    file to write, and a shard has one per story)."""
    table: dict[str, list[int]] = {}
    offset = 0
    for rel in sorted(files):
        table[rel] = [offset, len(files[rel])]
        offset += len(files[rel])
    head = json.dumps(table, separators=(",", ":")).encode()
    return b"".join([len(head).to_bytes(8, "big"), head, *(files[r] for r in table)])


def _unpack(data: bytes, only: str | None = None) -> Files:
    """The files `_pack` made into `data` (just `only`, if given); ValueError if damaged."""
    start = 8
    size = int.from_bytes(data[:start], "big")
    table = json.loads(data[start : start + size])
    body = start + size
    found = {}
    for rel, (offset, length) in table.items():
        if only is None or rel == only:
            if body + offset + length > len(data):
                raise ValueError("a cached search shard is cut short")
            found[rel] = data[body + offset : body + offset + length]
    return found


class _Cache:
    """Shard bundles in the build cache, one file each; off when there is no cache."""

    def __init__(
        self, folder: Path | None, binary: tuple[str, str], saved: _Catalog | None = None
    ) -> None:
        """`binary`: the Pagefind binary's stamp and hash (_binary_digest); `saved`: the
        catalog the cache holds (_read_catalog)."""
        self.folder = folder
        self.binary, self.tool = binary, binary[1]
        self._saved = saved
        self.sizes: dict[str, int] = {}
        """Stories in each shard of the catalog, once read."""
        self._docs: dict[str, dict[str, str]] = {}

    def _path(self, name: str) -> Path:
        assert self.folder is not None
        return self.folder / (f"{CODE}-{self.tool[:16]}.shard" if name == CODE else f"{name}.shard")

    def get(self, name: str) -> Files | None:
        """The shard's bundle as cached, without the documents it was made of."""
        found = self._read(name)
        if found is not None:
            found.pop(DOCS, None)
        return found

    def docs(self, name: str) -> dict[str, str]:
        """{url: page} of the documents shard `name` was made of ({} if not cached)."""
        if name not in self._docs:
            found = self._read(name, DOCS) or {}
            try:
                self._docs[name] = dict(json.loads(found.get(DOCS, b"[]")))
            except (ValueError, TypeError):
                self._docs[name] = {}
        return self._docs[name]

    def catalog(self, listing: str | None) -> dict[str, list[Any]] | None:
        """{url: [shard, year, month, time, key]} of the last build's stories, if it was the
        build that wrote the shard list whose digest is `listing`, with this Pagefind."""
        saved = self._saved
        if saved is None or listing is None or saved.listing != listing:
            return None
        if saved.binary[1] != self.tool:  # its shards are another Pagefind's
            return None
        for name, *_ in saved.stories.values():
            self.sizes[name] = self.sizes.get(name, 0) + 1
        return saved.stories

    def save_catalog(self, listing: str, stories: dict[str, list[Any]]) -> None:
        if self.folder is None:
            return
        self._save(self.folder / CATALOG, CATALOG_KIND, _Catalog(listing, stories, self.binary))

    def _read(self, name: str, only: str | None = None) -> Files | None:
        if self.folder is None:
            return None
        data = cachefile.read_bytes(self._path(name), SHARD_KIND)
        if data is None:
            return None  # not cached, or discarded (with a warning)
        try:
            return _unpack(data, only)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "%s: %s; indexing that part of the search again", shown_path(self._path(name)), exc
            )
            return None

    def put(self, name: str, files: Files, docs: list[Document] | None = None) -> None:
        if self.folder is None:
            return
        if docs is not None:
            files = {**files, DOCS: json.dumps(docs).encode()}
        self._save(self._path(name), SHARD_KIND, _pack(files))

    def _save(self, path: Path, kind: Kind, payload: object) -> None:
        """Write `payload` (bytes as they are, else pickled) as a `kind` file; a disk that
        refuses it costs the next build time only."""
        assert self.folder is not None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if isinstance(payload, bytes):
                cachefile.write_bytes(path, kind, payload)
            else:
                cachefile.write(path, kind, [payload])
        except OSError as exc:
            log.warning("%s: %s; the search index is not cached", shown_path(path), exc)

    def prune(self, names: set[str]) -> None:
        """Remove the bundles of shards this build no longer has (and leftovers of other
        versions' formats: the folder holds only what this one wrote)."""
        if self.folder is None or not self.folder.is_dir():
            return
        keep = {self._path(name).name for name in names}
        for path in self.folder.iterdir():
            if path.name not in keep and path.suffix in (".shard", ".tmp", ".json"):
                with contextlib.suppress(OSError):
                    path.unlink()
