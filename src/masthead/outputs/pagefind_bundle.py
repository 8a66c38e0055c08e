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
    files = {
        p.relative_to(bundle).as_posix(): p
        for p in [
            bundle / "pagefind-entry.json",
            *bundle.glob("pagefind.*.pf_meta"),
            *sorted((bundle / "filter").glob("*.pf_filter")),
        ]
    }
    try:
        stable = _stable_files({rel: path.read_bytes() for rel, path in files.items()})
    except (ValueError, OSError, EOFError, gzip.BadGzipFile) as exc:
        log.warning("search index left as Pagefind wrote it (not byte-reproducible): %s", exc)
        return
    for path in files.values():
        path.unlink()
    for rel, data in stable.items():
        (bundle / rel).write_bytes(data)


def stabilise_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` (a bundle as {path in it: bytes}) with filters and metadata made stable;
    as they were, with a warning, when they are not shaped as expected."""
    mine = {
        rel: data
        for rel, data in files.items()
        if rel == "pagefind-entry.json"
        or (rel.startswith("filter/") and rel.endswith(".pf_filter"))
        or (rel.startswith("pagefind.") and rel.endswith(".pf_meta") and "/" not in rel)
    }
    try:
        stable = _stable_files(mine)
    except (ValueError, EOFError, gzip.BadGzipFile) as exc:
        log.warning("search index left as Pagefind wrote it (not byte-reproducible): %s", exc)
        return files
    return {**{k: v for k, v in files.items() if k not in mine}, **stable}


def _stable_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The stable versions of the filter indexes, metadata and entry file in `files`,
    under their new names."""
    out: dict[str, bytes] = {}
    renames: dict[str, str] = {}
    for rel in sorted(r for r in files if r.startswith("filter/")):
        cbor = _sort_member(_unpack(files[rel]), 1)
        new, data = _renamed(rel, cbor, renames)
        out[new] = data
    if "pagefind-entry.json" not in files:
        raise ValueError("no pagefind-entry.json")
    entry = files["pagefind-entry.json"].decode("utf-8")
    for rel in sorted(r for r in files if r.endswith(".pf_meta")):
        cbor = _sort_member(_unpack(files[rel]), FILTERS_IN_META)
        for old, new_name in renames.items():
            # Same length, so replacing the text keeps every CBOR length prefix valid.
            if cbor.count(old.encode()) != 1:
                raise ValueError(f"{rel} does not name {old} once")
            cbor = cbor.replace(old.encode(), new_name.encode())
        meta_renames: dict[str, str] = {}
        new, data = _renamed(rel, cbor, meta_renames, prefix="pagefind.")
        out[new] = data
        for old, new_name in meta_renames.items():
            old_hash = f'"{old[len("pagefind.") :]}"'
            new_hash = f'"{new_name[len("pagefind.") :]}"'
            if entry.count(old_hash) != 1:
                raise ValueError(f"pagefind-entry.json does not name {old_hash} once")
            entry = entry.replace(old_hash, new_hash)
    out["pagefind-entry.json"] = entry.encode("utf-8")
    return out


def _renamed(rel: str, cbor: bytes, renames: dict[str, str], prefix: str = "") -> tuple[str, bytes]:
    """The file's new path, named after a hash of `cbor` as long as the old one, and bytes."""
    folder, _, name = rel.rpartition("/")
    stem, dot, suffix = name.rpartition(".")
    lang, _, old_hash = stem.removeprefix(prefix).rpartition("_")
    if not lang or not old_hash or not dot:
        raise ValueError(f"unexpected file name {name}")
    new_stem = f"{prefix}{lang}_{hashlib.sha256(cbor).hexdigest()[: len(old_hash)]}"
    if new_stem in renames.values():
        raise ValueError(f"two files would be named {new_stem}")
    renames[stem] = new_stem
    return f"{folder}/{new_stem}.{suffix}".lstrip("/"), _pack(cbor)


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
