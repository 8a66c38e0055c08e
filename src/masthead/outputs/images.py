"""The image stage: the images pages show, fetched once, kept, and resized for the output.

Between the site model and rendering, the build hands this stage every image URL its
pages can show (story images, provider logos, related stories' images) and gets back an
ImageMap: for each URL that could be made local, its resized copies
(`/images/<key>-<width>.<avif|webp>`), its size and a placeholder colour. Templates
turn that into `srcset`, `sizes`, `width` and `height` through `img()` (render.py);
a URL without an entry is linked where it is, as before.

Remote originals are fetched with safefetch (addresses checked after DNS and on every
redirect, time and size limits), a few at a time over kept-alive connections, only when
`[images] fetch` is on, and kept for good in `.masthead-cache/images/`, named by the
hash of their bytes: a rebuild does no network work for them, and the output does not
depend on the network once they are there. Nothing here fails a build: an image that cannot be fetched or
decoded stays a remote link, with one warning per host; the failure is remembered for
a day so that a dead host costs one timeout, not one per build, and only a full build
tries it again (a build that patched a story keeps the other pages as they were).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from masthead import cachefile
from masthead.cachefile import Kind
from masthead.config import ImagesConfig
from masthead.diagnostics import MastheadError, shown_path
from masthead.hashing import bytes_digest, digest_of
from masthead.model.sitepaths import site_key
from masthead.outputs.assets import Assets
from masthead.parallel import run_chunks

if TYPE_CHECKING:
    from masthead.outputs.imagework import Made
    from masthead.records.safefetch import Fetcher

# imagework (Pillow) and safefetch (ssl, http.client) are imported where images are
# fetched or copies made: a build whose records show no image, and every edit, would
# otherwise pay a twentieth of a second to start for them.

log = logging.getLogger(__name__)

MEDIA_TYPE = {"avif": "image/avif", "webp": "image/webp"}
"""The media type of each format copies are made in, beside the original's."""
FOLDER = "images"
"""Under the cache folder, and in the output: `/images/<key>-<width>.<suffix>`."""
INDEX = "index.json"
INDEX_VERSION = 1
INDEX_KIND = Kind("image-index", INDEX_VERSION, bytes)
"""The cache's index of images (_Store), as JSON."""
RETRY_AFTER = 86_400
"""Seconds before an image that could not be fetched is tried again."""
JOBS_MIN_PER_WORKER = 2
"""Decoding and encoding one image takes tens of milliseconds: two make a fork worth it."""
ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.8"


@dataclass(frozen=True, slots=True)
class Picture:
    """An image as the output has it: the original's size, a colour to show while it
    loads, and its copies by format (best first), each a tuple of (width, site path)."""

    key: str
    """Names the copy set (the original's bytes and the settings): equal keys, equal pictures."""
    width: int
    height: int
    colour: str
    sources: tuple[tuple[str, tuple[tuple[int, str], ...]], ...]

    @property
    def fallback(self) -> tuple[tuple[int, str], ...]:
        """The copies every browser takes (the last format: WebP)."""
        return self.sources[-1][1]


@dataclass(slots=True)
class ImageMap:
    """What the stage made: a Picture for each image URL it could, and the output files."""

    pictures: dict[str, Picture] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    """Output path (`images/...`) -> the copy in the cache folder."""
    marks: dict[str, str] = field(default_factory=dict)
    """Record path -> the keys of the pictures of the images it shows ("": the terms'
    logos), for records with any: what a page's fingerprint takes of the image map."""

    @property
    def digest(self) -> str:
        """What every page's fingerprint takes of the image map: the terms' logos (a
        page's records' own images are in `digest_for`, so that an image made local
        renders again only the pages that show it)."""
        return self.marks.get("", "")

    def digest_for(self, records: Iterable[str]) -> str:
        """What a page showing `records` (their paths) shows of the image map."""
        marks = self.marks
        return "".join([mark for path in records if (mark := marks.get(path))])

    def mark(self, shown: Mapping[str, Iterable[str]]) -> None:
        """Fill `marks` from the image URLs each record shows."""
        pictures = self.pictures
        for path, urls in shown.items():
            keys = [p.key if (p := pictures.get(url)) else "-" for url in urls]
            if any(k != "-" for k in keys):
                self.marks[path] = ",".join(keys) + ";"


def image_urls(site: Any) -> dict[str, list[str]]:
    """Every image URL the site's pages can show, by the record that shows it (its path;
    "" for the terms' logos, from data/): each story's images, its provider's logo, its
    related stories' images and logos."""
    shown = {str(a.record.path): list(_urls_of_record(a.record)) for a in site.articles}
    shown[""] = [t.logo.url for x in site.taxonomies for t in x.terms if t.logo is not None]
    return shown


def _urls_of_record(record: Any) -> Iterator[str]:
    yield from _urls_of(record.images, record.provider)
    for related in record.related:
        yield from _urls_of(related.images, related.provider)


def _urls_of(images: Iterable[Any], provider: Any) -> Iterator[str]:
    for image in images:
        yield image.url
    if provider is not None:
        for image in provider.images:
            yield image.url


def fetcher_for(config: ImagesConfig) -> Fetcher:
    """The fetcher of remote images (tests replace it with one that reaches their server)."""
    from masthead.records.safefetch import USER_AGENT, Fetcher, FetchLimits

    limits = FetchLimits(
        connect_timeout=min(10.0, config.timeout),
        read_timeout=min(10.0, config.timeout),
        total_timeout=float(config.timeout),
        max_bytes=config.max_bytes,
        max_redirects=5,
        allow_private_hosts=config.allow_private_hosts,
    )
    return Fetcher(limits, user_agent=USER_AGENT.replace("feed import", "images"))


def image_phase(
    config: ImagesConfig,
    cache_dir: Path,
    assets: Assets,
    site: Any | None,
    articles: Iterable[Any],
    jobs: int,
) -> ImageMap:
    """The build's hook: the ImageMap of `site`'s images, or (a build that patched the
    stored model, without a site) of the last build's with those of `articles` replaced."""
    if site is not None:
        return run_image_stage(config, cache_dir, assets, image_urls(site), jobs)
    patched = {str(a.record.path): list(_urls_of_record(a.record)) for a in articles}
    return run_image_stage(config, cache_dir, assets, None, jobs, patched)


def run_image_stage(
    config: ImagesConfig,
    cache_dir: Path,
    assets: Assets,
    shown: Mapping[str, Iterable[str]] | None,
    jobs: int,
    patched: Mapping[str, Iterable[str]] | None = None,
) -> ImageMap:
    """The ImageMap of the image URLs `shown` by each record (None: the last run's, with
    the `patched` records' replaced): local images (static/) always, remote ones when
    `fetch` is on; whatever fails is left out of the map, so its pages link it where it
    is. By record, so that an image a patched story no longer shows leaves the output."""
    store = _Store(cache_dir / FOLDER)
    indexed = (store.root / INDEX).is_file()
    if indexed:
        store.read()
    fetchable: set[str] | None = None
    if shown is None:
        if not indexed:
            return ImageMap()
        patched = {key: list(urls) for key, urls in (patched or {}).items()}
        # Only the patched stories' new URLs: the pages kept as they are show the others
        # as the last build left them, so that what failed then stays remote until a full
        # build (which renders every page again) tries it again.
        fetchable = {u for urls in patched.values() for u in urls} - _all(store.shown)
        shown = {**store.shown, **patched}
    store.shown = {key: kept for key, urls in shown.items() if (kept := sorted(set(urls)))}
    wanted = sorted(_all(store.shown))
    local = {url: assets.files[key] for url in wanted if (key := _static_key(url, assets))}
    remote = [url for url in wanted if config.fetch and _fetchable(url)]
    if not local and not remote:
        if indexed:
            store.save()  # what the records show now, for the next patched build
        return ImageMap()
    try:
        store.open()
    except OSError as exc:
        log.warning("%s: cannot keep images there (%s); images are linked where they are",
                    shown_path(store.root), exc.strerror or exc)  # fmt: skip
        return ImageMap()
    originals = _local_originals(local, store)
    originals.update(_remote_originals(remote, store, config, fetchable))
    made = _make_copies(store, sorted(set(originals.values())), config, jobs)
    if config.prune and fetchable is None:  # a full build: `wanted` is every record's
        referenced = {*originals.values(), *(store.urls[u] for u in wanted if u in store.urls)}
        store.prune(set(wanted), referenced, {p.key for p in made.values()})
    images = ImageMap()
    for url, sha in sorted(originals.items()):
        picture = made.get(sha)
        if picture is not None:
            images.pictures[url] = picture
    images.mark(store.shown)
    for picture in made.values():
        for _fmt, copies in picture.sources:
            for _width, path in copies:
                images.files[path.lstrip("/")] = store.copies / path.rsplit("/", 1)[1]
    store.save()
    return images


def _all(shown: Mapping[str, Iterable[str]]) -> set[str]:
    return {url for urls in shown.values() for url in urls}


def write_images(images: ImageMap, writer: Any) -> tuple[int, int]:
    """Put the copies in the output: carried over when there already (their names say
    what they hold), else copied from the cache. (files, written)."""
    written = 0
    for rel, source in sorted(images.files.items()):
        if not writer.keep(rel):
            written += writer.write(rel, source.read_bytes())
    return len(images.files), written


# -- where originals come from ---------------------------------------------------


def _static_key(url: str, assets: Assets) -> str | None:
    """The output path of a site-relative image URL served from static/, if it is one
    Pillow may resize (SVG and the like are copied as they are)."""
    key = site_key(url)
    if key is None:
        return None
    rel = key.lstrip("/")
    return rel if rel in assets.files and _raster(rel) else None


def _raster(rel: str) -> bool:
    return rel.rsplit(".", 1)[-1].lower() in _RASTER_SUFFIXES


_RASTER_SUFFIXES = frozenset({"jpg", "jpeg", "png", "gif", "webp", "avif"})


def _fetchable(url: str) -> bool:
    """http(s) URLs other than SVG (never rasterised from a remote host); anything else is
    left as it is, and safefetch would refuse it anyway."""
    if not url.startswith(("https://", "http://")):
        return False
    path = url.split("#", 1)[0].split("?", 1)[0].lower()
    return not path.endswith((".svg", ".svgz"))


def _local_originals(local: dict[str, Path], store: _Store) -> dict[str, str]:
    """URL -> hash of the bytes, for images under static/ (hashed again only when changed)."""
    found: dict[str, str] = {}
    for url, path in local.items():
        try:
            found[url] = store.local_hash(path)
        except OSError as exc:
            log.warning(
                "%s: cannot read (%s); linked as it is", shown_path(path), exc.strerror or exc
            )
    return found


def _remote_originals(
    urls: list[str], store: _Store, config: ImagesConfig, fetchable: set[str] | None = None
) -> dict[str, str]:
    """URL -> hash of the original, fetching those not in the cache, `concurrency` at a time
    (of `fetchable` only, when given)."""
    known = {url: sha for url in urls if (sha := store.urls.get(url))}
    kept = {sha for sha in set(known.values()) if store.has_original(sha)}
    found = {url: sha for url, sha in known.items() if sha in kept}
    now = time.time()
    todo = [
        url
        for url in urls
        if url not in found
        and now - store.failed.get(url, (0.0, ""))[0] >= RETRY_AFTER
        and (fetchable is None or url in fetchable)
    ]
    failures: dict[str, list[str]] = {}
    for url in urls:
        if url not in found and url not in todo:
            reason = store.failed.get(url, (0.0, "not fetched again until a full build"))[1]
            failures.setdefault(_host(url), []).append(reason)
    if todo:
        # Threads, not processes: the work is waiting on the network. The threads and the
        # kept-alive connections are gone before rendering forks its workers
        # (parallel.can_fork wants one thread).
        with (
            fetcher_for(config).reusing() as fetcher,
            ThreadPoolExecutor(min(config.concurrency, len(todo))) as pool,
        ):
            results = list(pool.map(lambda u: _fetch(fetcher, u, store, config), todo))
        for url, (sha, reason) in zip(todo, results, strict=True):
            if sha:
                found[url] = sha
                store.urls[url] = sha
                store.failed.pop(url, None)
            else:
                store.failed[url] = (now, reason)
                failures.setdefault(_host(url), []).append(reason)
    for host, reasons in sorted(failures.items()):
        log.warning(
            "images from %s: %d not fetched (%s); linked where they are",
            host, len(reasons), reasons[0],
        )  # fmt: skip
    return found


def _fetch(fetcher: Fetcher, url: str, store: _Store, config: ImagesConfig) -> tuple[str, str]:
    """(hash, "") for an image fetched, checked and kept, else ("", why not)."""
    from masthead.outputs.imagework import ImageRefused, open_image

    try:
        body = fetcher.get(url, {"Accept": ACCEPT}).body
        open_image(body, config.max_pixels)  # the header only: a format we take, a sane size
        return store.add_original(body), ""
    except (MastheadError, OSError) as exc:
        return "", str(exc) if isinstance(exc, (ImageRefused, MastheadError)) else repr(exc)
    except Exception as exc:  # a bug in a decoder must not stop the build
        return "", f"{type(exc).__name__}: {exc}"


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


# -- copies -----------------------------------------------------------------------


def _make_copies(
    store: _Store, hashes: list[str], config: ImagesConfig, workers: int
) -> dict[str, Picture]:
    """Picture by original's hash; copies not in the cache are made in worker processes."""
    from masthead.outputs.imagework import Job, run_jobs, writable_formats

    formats = writable_formats(config.formats)
    settings = (config.quality, config.widths, formats, config.max_pixels)
    pictures: dict[str, Picture] = {}
    present = set(os.listdir(store.copies))  # one listing, not a look per copy
    todo: list[Job] = []
    todo_hashes: list[str] = []
    for sha in hashes:
        key = digest_of(sha, settings)[:16]
        known = store.made.get(key)
        if known is not None and all(name in present for name, _, _ in known[3]):
            pictures[sha] = _picture(key, known, formats)
            continue
        todo_hashes.append(sha)
        todo.append(
            Job(store.original(sha), key, config.widths, formats, store.copies,
                config.quality, config.max_pixels)
        )  # fmt: skip
    results = run_chunks(run_jobs, todo, workers, JOBS_MIN_PER_WORKER)
    for sha, job, result in zip(todo_hashes, todo, results, strict=True):
        if isinstance(result, str):
            log.warning("image %s: %s; linked where it is", sha[:16], result)
            continue
        entry = _entry(result)
        store.made[job.key] = entry
        pictures[sha] = _picture(job.key, entry, formats)
    return pictures


_Entry = tuple[int, int, str, list[tuple[str, int, str]]]


def _entry(made: Made) -> _Entry:
    original, copies = made
    return (original.width, original.height, original.colour, [tuple(c) for c in copies])  # type: ignore[misc]


def _picture(key: str, entry: Any, formats: tuple[str, ...]) -> Picture:
    width, height, colour, copies = entry
    sources = tuple(
        (fmt, tuple((w, f"/{FOLDER}/{name}") for name, w, f in copies if f == fmt))
        for fmt in formats
    )
    return Picture(key, width, height, colour, sources)


# -- the cache folder -------------------------------------------------------------


class _Store:
    """`.masthead-cache/images/`: originals by the SHA-256 of their bytes, copies by key,
    and index.json (what each URL was, what failed when, what each copy set holds)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.originals = root / "originals"
        self.copies = root / "copies"
        self.urls: dict[str, str] = {}
        self.failed: dict[str, tuple[float, str]] = {}
        self.made: dict[str, Any] = {}
        self.local: dict[str, Any] = {}
        self.shown: dict[str, list[str]] = {}
        """The image URLs of the last run by record, for a build that patched the stored
        model (it has no site to ask)."""
        self._loaded: Any = None

    def open(self) -> None:
        self.originals.mkdir(parents=True, exist_ok=True)
        self.copies.mkdir(exist_ok=True)
        if self._loaded is None:
            self.read()

    def read(self) -> None:
        found = cachefile.read_bytes(self.root / INDEX, INDEX_KIND)  # None: missing or discarded
        with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
            data = json.loads(found) if found is not None else {}
            if data.get("version") == INDEX_VERSION:
                self.urls = dict(data["urls"])
                self.failed = {u: (float(t), str(r)) for u, (t, r) in data["failed"].items()}
                self.made = dict(data["made"])
                self.local = dict(data["local"])
                self.shown = dict(data.get("shown") or {"": list(data["last"])})
        self._loaded = json.dumps(self._state(), sort_keys=True)

    def _state(self) -> Any:
        return {
            "version": INDEX_VERSION,
            "urls": self.urls,
            "failed": self.failed,
            "made": self.made,
            "local": self.local,
            "shown": self.shown,
        }

    def save(self) -> None:
        """Write index.json if it changed; a cache that cannot be written costs time only."""
        if json.dumps(self._state(), sort_keys=True) == self._loaded:
            return
        text = json.dumps(self._state(), sort_keys=True, separators=(",", ":"))
        try:
            cachefile.write_bytes(self.root / INDEX, INDEX_KIND, text.encode("utf-8"))
        except OSError as exc:
            log.warning("%s: cannot write (%s)", shown_path(self.root / INDEX), exc.strerror or exc)

    def prune(self, wanted: set[str], referenced: set[str], keys: set[str]) -> None:
        """Drop the originals no record shows (`referenced` are those of the URLs
        `wanted`, fetched now or before) and the copies of no current picture (`keys`)."""
        dropped = 0
        with contextlib.suppress(OSError):
            for folder in self.originals.iterdir():
                for path in folder.iterdir():
                    if path.name not in referenced:
                        path.unlink()
                        dropped += 1
            for path in self.copies.iterdir():
                if path.name.split("-", 1)[0] not in keys:
                    path.unlink()
        self.urls = {u: sha for u, sha in self.urls.items() if u in wanted}
        self.failed = {u: why for u, why in self.failed.items() if u in wanted}
        self.made = {key: entry for key, entry in self.made.items() if key in keys}
        self.local = {f: mark for f, mark in self.local.items() if mark[1] in referenced}
        if dropped:
            log.info(
                "images: %d originals no record shows dropped from %s",
                dropped,
                shown_path(self.root),
            )

    def original(self, sha: str) -> Path:
        return self.originals / sha[:2] / sha

    def has_original(self, sha: str) -> bool:
        return self.original(sha).is_file()

    def add_original(self, data: bytes) -> str:
        from masthead.outputs.imagework import write_atomically

        sha = bytes_digest(data)
        path = self.original(sha)
        if not path.is_file():
            path.parent.mkdir(exist_ok=True)
            write_atomically(path, data)
        return sha

    def local_hash(self, path: Path) -> str:
        """The hash of a static/ image, kept with its size and mtime: a build reads only
        the images that changed; the bytes are kept among the originals too."""
        stat = path.stat()
        mark = [stat.st_size, stat.st_mtime_ns]
        known = self.local.get(str(path))
        if known and known[0] == mark and self.has_original(known[1]):
            return str(known[1])
        sha = self.add_original(path.read_bytes())
        self.local[str(path)] = [mark, sha]
        return sha
