"""The build cache: what the last build read and wrote, kept in `.masthead-cache/`.

It holds the parsed records (keyed by path, size, mtime and content hash), each page's
fingerprint and a stamp of every input file, so the next build can skip parsing,
rendering and writing whatever did not change. The file starts with a header naming the
format, masthead's version and a SHA-256 of the payload; anything that does not match is
discarded with a warning, never trusted. Like `__pycache__`, the cache is trusted as much
as the site folder it lives in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from masthead import __version__
from masthead.diagnostics import Diagnostic
from masthead.records import Record, Stamp

log = logging.getLogger(__name__)

CACHE_DIR = ".masthead-cache"
_FILE = "build-state.bin"
_MAGIC = b"masthead-build-state\n"
_FORMAT = 1


@dataclass(slots=True)
class ParsedFile:
    """One content file as last read: its record (None when invalid) and its diagnostics."""

    stamp: Stamp
    record: Record | None
    diagnostics: tuple[Diagnostic, ...]


@dataclass(slots=True)
class BuildState:
    key: str
    """Digest of what invalidates everything: version, config, options, folders."""
    files: dict[str, ParsedFile] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    """Output path -> fingerprint of the page written there."""
    inputs: str = ""
    """Digest of every input file's stamp at the end of the last successful build."""
    assets: dict[str, Stamp] = field(default_factory=dict)
    """Output path -> stamp of the static file copied there."""
    site_diagnostics: tuple[Diagnostic, ...] = ()
    merged: int = 0


def load_state(cache_dir: Path, key: str) -> BuildState:
    """The saved state if it is intact and was made for `key`, else an empty one."""
    path = cache_dir / _FILE
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return BuildState(key)
    except OSError as exc:
        log.warning("%s: cannot read build cache (%s); building without it", path, exc.strerror)
        return BuildState(key)
    state = _decode(blob)
    if state is None:
        log.warning("%s: build cache is corrupt or from another program; discarded", path)
        return BuildState(key)
    if state.key != key:
        return BuildState(key)  # a different version, config or set of options: start afresh
    return state


def save_state(cache_dir: Path, state: BuildState) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    header = b"%s%d %s %s\n" % (
        _MAGIC,
        _FORMAT,
        __version__.encode(),
        hashlib.sha256(payload).hexdigest().encode(),
    )
    tmp = cache_dir / (_FILE + ".tmp")
    tmp.write_bytes(header + payload)
    os.replace(tmp, cache_dir / _FILE)


def _decode(blob: bytes) -> BuildState | None:
    if not blob.startswith(_MAGIC):
        return None
    header, _, payload = blob[len(_MAGIC) :].partition(b"\n")
    try:
        fmt, version, digest = header.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        return None
    if (
        fmt != str(_FORMAT)
        or version != __version__
        or hashlib.sha256(payload).hexdigest() != digest
    ):
        return None
    try:
        state = pickle.loads(payload)
    except Exception:  # a payload that matches its own hash yet fails: still never trusted
        return None
    return state if isinstance(state, BuildState) else None
