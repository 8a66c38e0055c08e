"""Every hash masthead takes, in one place, with one algorithm: SHA-256.

Cache keys, page fingerprints, model digests, output files in the manifest and asset
names are all SHA-256, compared from build to build. Two kinds of value are kept apart
on purpose, each saying why: `url_tag`, a short SHA-1 inside a few URLs, which may not
change without moving published pages; and `checksum`, a CRC-32 that only tells damaged
bytes from the ones written, and names nothing.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

_sha256 = hashlib.sha256


def digest_of(*parts: object) -> str:
    """The hex digest of `parts`' repr: names a value by its content.

    So `parts` must repr the same from run to run: strings, numbers, None, tuples, lists,
    sorted items and frozen dataclasses of those do; sets and dicts in insertion order
    of a hash-seeded kind do not.
    """
    return _sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def bytes_digest(data: bytes) -> str:
    """The hex digest of `data`: a file as written (output manifest, record files)."""
    return _sha256(data).hexdigest()


def text_digest(text: str) -> str:
    """The hex digest of `text` in UTF-8 (lone surrogates included, as they come)."""
    return _sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


KEY_BYTES = 20
"""Length of `short_key`'s keys, kept by the hundred thousand in flat arrays."""


def short_key(text: str) -> bytes:
    """A binary key of `text`, `KEY_BYTES` long: the leading bytes of its digest."""
    return _sha256(text.encode("utf-8", "surrogatepass")).digest()[:KEY_BYTES]


def hasher() -> Any:
    """A running hash (update(), hexdigest()) for data written or read in pieces."""
    return _sha256()


def checksum(data: bytes) -> int:
    """CRC-32 of `data`: whether bytes read back from a cache file are the bytes written.

    Not a name: two different values may share it. It only has to catch damage, and
    costs half of SHA-256 on the small pickles it guards, thousands to a build.
    """
    return zlib.crc32(data)


def url_tag(text: str, length: int) -> str:
    """The first `length` hex digits of the SHA-1 of `text`, for a slug that must stay unique.

    SHA-1, not SHA-256: these tags are in published URLs (a title with nothing to
    transliterate, a term whose slug another took), and changing the algorithm would
    move those pages.
    """
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]
