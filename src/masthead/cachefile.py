"""Every file of the build cache in one envelope: a kind, a header, one way to read and write.

What the cache stores is declared once per kind, as a `Kind` (a name, a schema version
and the type of what it holds), beside the type it stores. Every cache file starts with
the same header line:

    masthead-cache <kind> <schema version> <masthead version> <SHA-256>\\n

and is written to a temporary file that then replaces it, so a build killed half-way
leaves the old file or the new one, never a mix. Reading checks the header and the
digest and discards, with one warning, anything that does not match: another kind,
another schema or masthead version, a file cut short or a flipped byte. A cache is
never trusted and never a reason for a build to fail: it costs time only.

Most kinds are read whole (`read`, `read_bytes`), their digest covering the payload.
The stored model is read lazily by offset (`Sealed`, `open_checked`): there the digest
covers the table of where its parts lie, and each part carries a checksum of its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from masthead import __version__
from masthead.diagnostics import shown_path
from masthead.hashing import hasher

log = logging.getLogger(__name__)

MAGIC = b"masthead-cache "
_UNSEALED = "0" * 64
_HEADER_MAX = 200
KINDS: dict[str, Kind] = {}
"""Every kind declared, by name: two declarations of one name are a mistake."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One sort of cache file: what it is called, which schema and what it holds.

    `version` is bumped whenever what `payload` stands for changes shape, so a file
    written by the code before is discarded instead of misread. Each part read must be
    an instance of `payload`.
    """

    name: str
    version: int
    payload: type | tuple[type, ...]

    def __post_init__(self) -> None:
        known = KINDS.setdefault(self.name, self)
        assert known.version == self.version, f"kind {self.name} declared twice"

    def header(self, digest: str) -> bytes:
        return b"%s%s %d %s %s\n" % (
            MAGIC,
            self.name.encode(),
            self.version,
            __version__.encode(),
            digest.encode(),
        )


class Unusable(Exception):
    """A cache file that must not be trusted; its message says why, for the warning."""


def discard(path: Path, why: object) -> None:
    """The one warning a cache file that cannot be used gets."""
    log.warning("%s: %s; discarded", shown_path(path), why)


# -- writing ------------------------------------------------------------------------


class HashingWriter:
    """A file that hashes and counts what is written through it."""

    def __init__(self, file: Any) -> None:
        self.file, self.sha, self.size = file, hasher(), 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return int(self.file.write(data))


class Sealed:
    """A cache file being written: `file` after the header, sealed with the digest at the
    end. The header is written first with a placeholder, and the digest put in place once
    the payload is written, so a payload is never in memory whole to be hashed."""

    def __init__(self, file: BinaryIO, kind: Kind) -> None:
        self.file, self.kind, self.digest = file, kind, ""
        self.start = file.write(kind.header(_UNSEALED))

    def seal(self, digest: str) -> None:
        self.digest = digest


@contextlib.contextmanager
def writing(path: Path, kind: Kind) -> Iterator[Sealed]:
    """Write `path` as `kind` atomically (a temporary file, then renamed over it).

    The caller writes the payload into `.file` and calls `.seal(digest)`; a file left
    unsealed, or an error on the way, leaves `path` as it was and no temporary behind.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            out = Sealed(f, kind)
            yield out
            assert out.digest, f"{path}: written without a digest"
            f.seek(0)
            f.write(kind.header(out.digest))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # a full disk keeps no half-written file
            tmp.unlink(missing_ok=True)
        raise


def write(path: Path, kind: Kind, parts: Iterable[object]) -> str:
    """Pickle each part into `path` as `kind`; returns the payload's digest.

    Each part is pickled straight into the file, hashed on the way, and the pickler
    forgets what it wrote after each part: at 100,000 records the payload is a few
    hundred megabytes and pickle's memo as large again, and neither is in memory whole.
    """
    with writing(path, kind) as out:
        hashing = HashingWriter(out.file)
        pickler = pickle.Pickler(hashing, protocol=pickle.HIGHEST_PROTOCOL)
        for part in parts:
            assert isinstance(part, kind.payload), (kind, type(part))
            pickler.dump(part)
            pickler.clear_memo()
        out.seal(hashing.sha.hexdigest())
    return out.digest


def write_bytes(path: Path, kind: Kind, data: bytes) -> str:
    """Write `data` into `path` as `kind` (a kind whose payload is bytes)."""
    with writing(path, kind) as out:
        out.file.write(data)
        sha = hasher()
        sha.update(data)
        out.seal(sha.hexdigest())
    return out.digest


# -- reading ------------------------------------------------------------------------


def check_header(f: BinaryIO, kind: Kind) -> str:
    """The digest in the header of `f`, if it is a file of `kind` written by this masthead;
    else Unusable. Leaves `f` at the payload's start."""
    line = f.readline(_HEADER_MAX)
    if not line.startswith(MAGIC):
        raise Unusable("not a masthead build cache")
    try:
        name, version, masthead, digest = line[len(MAGIC) :].decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise Unusable("build cache header is damaged") from None
    if name != kind.name:
        raise Unusable(f"holds a {name}, not a {kind.name}")
    if version != str(kind.version) or masthead != __version__:
        raise Unusable(f"build cache from masthead {masthead} ({name} {version})")
    digest = digest.rstrip("\n")
    if len(digest) != 64 or digest == _UNSEALED:
        raise Unusable("build cache header is damaged")
    return digest


def open_checked(path: Path, kind: Kind, quiet: bool = False) -> tuple[BinaryIO, str] | None:
    """`path` opened at its payload, with the digest its header gives, if the header is
    right for `kind`; None if there is no such file or it is unusable (with the warning,
    unless `quiet`). The caller checks the digest against what it reads."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (returned open)
    except FileNotFoundError:
        return None
    except OSError as exc:
        discard(path, f"cannot be read ({exc.strerror or exc})")
        return None
    try:
        return f, check_header(f, kind)
    except (OSError, Unusable) as exc:
        f.close()
        if not quiet:
            discard(path, exc)
        return None


def read(path: Path, kind: Kind) -> tuple[tuple[Any, ...], str] | None:
    """The parts `write` put into `path` and their digest, or None (with one warning)
    if the file is missing, is not `kind`'s or does not match its digest.

    The payload is checked against its digest in one pass over the file and unpickled
    from the file in a second, so it is never in memory as bytes.
    """
    return _read_with(path, kind, _unpickle)  # type: ignore[no-any-return]


def read_bytes(path: Path, kind: Kind) -> bytes | None:
    """The payload `write_bytes` put into `path`, or None (with one warning) if unusable."""
    found = _read_with(path, kind, _payload)
    return found[0] if found is not None else None


def _read_with(path: Path, kind: Kind, load: Any) -> Any:
    """`load(file, digest, kind)` on `path` opened at its payload, or None, with the one
    warning, if the file or what `load` finds in it is unusable."""
    found = open_checked(path, kind)
    if found is None:
        return None
    f, digest = found
    with f:
        try:
            return load(f, digest, kind)
        except OSError as exc:
            discard(path, f"cannot be read ({exc.strerror or exc})")
        except Unusable as exc:
            discard(path, exc)
    return None


def _payload(f: Any, digest: str, kind: Kind) -> tuple[bytes, str]:
    data = f.read()
    sha = hasher()
    sha.update(data)
    if sha.hexdigest() != digest:
        raise Unusable("build cache is corrupt (checksum mismatch)")
    return data, digest


def _unpickle(f: Any, digest: str, kind: Kind) -> tuple[tuple[Any, ...], str]:
    start, sha = f.tell(), hasher()
    while chunk := f.read(1 << 20):
        sha.update(chunk)
    if sha.hexdigest() != digest:
        raise Unusable("build cache is corrupt (checksum mismatch)")
    f.seek(start)
    parts = []
    try:
        while f.peek(1):
            parts.append(pickle.load(f))  # afresh for each part, as each was written
    except Exception:  # matches its digest yet fails: still never trusted
        raise Unusable("build cache cannot be read") from None
    if not all(isinstance(part, kind.payload) for part in parts):
        raise Unusable(f"build cache does not hold a {kind.name}")
    return tuple(parts), digest
