"""Make a Pagefind bundle byte-reproducible.

Pagefind 1.5 writes each filter index (`filter/<lang>_<hash>.pf_filter`) with its values
in hash-map order, which changes from run to run. The file names hash the contents; the
metadata file (`pagefind.<lang>_<hash>.pf_meta`) lists those files, in hash-map order
too; `pagefind-entry.json` names the metadata file. Two builds of the same site would
differ in those few files (Pagefind issue #638; upstream has since sorted them). This
module sorts both lists by their text, as upstream now does, names the files after
their new contents and rewrites the references. A bundle not shaped as expected is left
as Pagefind wrote it: still correct, only not reproducible.

A filter index is gzip("pagefind_dcd" + CBOR [name, [[value, [page, ...]], ...]]); the
metadata is gzip("pagefind_dcd" + CBOR [version, pages, chunks, [[filter, file], ...], ...]).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)

SIGNATURE = b"pagefind_dcd"
_ARG_BYTES = {24: 1, 25: 2, 26: 4, 27: 8}
FILTERS_IN_META = 3
"""Position of the filter list in the metadata (version, pages, index chunks, filters, ...)."""


def stabilise(bundle: Path) -> None:
    """Rewrite the filter indexes and metadata of `bundle` (a pagefind/ folder) stably.

    Every new file is worked out before any is written, so a surprise half-way leaves
    the bundle whole.
    """
    try:
        files, entry = _stable_files(bundle)
    except (ValueError, OSError, EOFError, gzip.BadGzipFile) as exc:
        log.warning("search index left as Pagefind wrote it (not byte-reproducible): %s", exc)
        return
    for old in files:
        old.unlink()
    for new, data in files.values():
        new.write_bytes(data)
    (bundle / "pagefind-entry.json").write_text(entry, encoding="utf-8")


def _stable_files(bundle: Path) -> tuple[dict[Path, tuple[Path, bytes]], str]:
    """{old path: (new path, bytes)} for filters and metadata, and the new entry file."""
    files: dict[Path, tuple[Path, bytes]] = {}
    renames: dict[str, str] = {}
    for path in sorted((bundle / "filter").glob("*.pf_filter")):
        cbor = _sort_member(_unpack(path.read_bytes()), 1)
        files[path] = _renamed(path, cbor, renames)
    entry = (bundle / "pagefind-entry.json").read_text(encoding="utf-8")
    for path in sorted(bundle.glob("pagefind.*.pf_meta")):
        cbor = _sort_member(_unpack(path.read_bytes()), FILTERS_IN_META)
        for old, new in renames.items():
            # Same length, so replacing the text keeps every CBOR length prefix valid.
            if cbor.count(old.encode()) != 1:
                raise ValueError(f"{path.name} does not name {old} once")
            cbor = cbor.replace(old.encode(), new.encode())
        meta_renames: dict[str, str] = {}
        files[path] = _renamed(path, cbor, meta_renames, prefix="pagefind.")
        for old, new in meta_renames.items():
            old_hash, new_hash = f'"{old[len("pagefind.") :]}"', f'"{new[len("pagefind.") :]}"'
            if entry.count(old_hash) != 1:
                raise ValueError(f"pagefind-entry.json does not name {old_hash} once")
            entry = entry.replace(old_hash, new_hash)
    return files, entry


def _renamed(
    path: Path, cbor: bytes, renames: dict[str, str], prefix: str = ""
) -> tuple[Path, bytes]:
    """The file's new path, named after a hash of `cbor` as long as the old one, and bytes."""
    stem = path.name.removesuffix(path.suffix)
    lang, _, old_hash = stem.removeprefix(prefix).rpartition("_")
    if not lang or not old_hash:
        raise ValueError(f"unexpected file name {path.name}")
    new_stem = f"{prefix}{lang}_{hashlib.sha256(cbor).hexdigest()[: len(old_hash)]}"
    if new_stem in renames.values():
        raise ValueError(f"two files would be named {new_stem}")
    renames[stem] = new_stem
    return path.with_name(new_stem + path.suffix), _pack(cbor)


def _unpack(raw: bytes) -> bytes:
    data = gzip.decompress(raw)
    if not data.startswith(SIGNATURE):
        raise ValueError("not a Pagefind data file")
    return data[len(SIGNATURE) :]


def _pack(cbor: bytes) -> bytes:
    return gzip.compress(SIGNATURE + cbor, compresslevel=9, mtime=0)


def _sort_member(cbor: bytes, index: int) -> bytes:
    """Sort the items of the array that is member `index` of the top-level array.

    Each item is itself an array whose first member is a text; items sort by that text,
    as bytes (UTF-8 byte order is code point order, as Rust sorts strings).
    """
    pos, count = _head(cbor, 0, major=4)
    if index >= count:
        raise ValueError(f"expected at least {index + 1} members, found {count}")
    for _ in range(index):
        pos = _skip(cbor, pos)
    pos, items_count = _head(cbor, pos, major=4)
    start = pos
    items = []
    for _ in range(items_count):
        end = _skip(cbor, pos)
        items.append(cbor[pos:end])
        pos = end
    items.sort(key=_value_text)
    return cbor[:start] + b"".join(items) + cbor[pos:]


def _value_text(item: bytes) -> bytes:
    pos = _expect(item, 0, major=4, count=2)
    pos, length = _head(item, pos, major=3)
    return item[pos : pos + length]


def _expect(data: bytes, pos: int, major: int, count: int) -> int:
    pos, value = _head(data, pos, major)
    if value != count:
        raise ValueError(f"expected {count} items, found {value}")
    return pos


def _head(data: bytes, pos: int, major: int | None = None) -> tuple[int, int]:
    """Read the head of the CBOR item at `pos`: (offset after the head, its argument)."""
    if pos >= len(data):
        raise ValueError("truncated CBOR")
    kind, info = data[pos] >> 5, data[pos] & 0x1F
    if major is not None and kind != major:
        raise ValueError(f"expected CBOR major type {major}, found {kind}")
    if info < 24:
        return pos + 1, info
    if info not in _ARG_BYTES:
        raise ValueError("indefinite-length CBOR is not expected here")
    size = _ARG_BYTES[info]
    return pos + 1 + size, int.from_bytes(data[pos + 1 : pos + 1 + size], "big")


def _skip(data: bytes, pos: int) -> int:
    """Offset just past the CBOR item at `pos` (definite lengths, as Pagefind writes)."""
    kind = data[pos] >> 5 if pos < len(data) else -1
    pos, value = _head(data, pos)
    if kind in (2, 3):
        return pos + value
    if kind in (4, 5):
        for _ in range(value * (2 if kind == 5 else 1)):
            pos = _skip(data, pos)
        return pos
    if kind == 6:
        return _skip(data, pos)
    return pos  # integers and simple values carry no content after the head
