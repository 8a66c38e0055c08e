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
from typing import Any, NamedTuple

from masthead import __version__
from masthead.diagnostics import Diagnostic
from masthead.records import Record, Stamp

log = logging.getLogger(__name__)

CACHE_DIR = ".masthead-cache"
_MAGIC = b"masthead-build-state\n"
_FORMAT = 1


class ParsedFile(NamedTuple):
    """One content file as last read: its record (None when invalid) and its diagnostics."""

    stamp: Stamp
    record: Record | None
    diagnostics: tuple[Diagnostic, ...]
    held: bool = False
    """The file is broken; `record` is its last good version, kept on show by the preview."""


@dataclass(slots=True)
class BuildState:
    key: str
    """Digest of what invalidates everything: version, config, options, folders."""
    pages: dict[str, str] = field(default_factory=dict)
    """Output path -> fingerprint of the page written there."""
    inputs: str = ""
    """Digest of every input file's stamp at the end of the last successful build."""
    assets: dict[str, Stamp] = field(default_factory=dict)
    """Output path -> stamp of the static file copied there."""
    diagnostics: tuple[Diagnostic, ...] = ()
    """Everything the last build reported, repeated by a build that finds nothing changed."""
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    """records read, skipped, merged, drafts left out."""
    output: str = ""
    """Digest of the output manifest this state's page fingerprints describe. If the output
    folder was written by anything else since (another cache, a killed preview), the page
    fingerprints no longer say what is on disk and are dropped."""
    files: dict[str, ParsedFile] | None = None
    """Parsed content files; kept in a file of their own and read only when something changed."""


_STATE, _RECORDS = "build-state.bin", "records.bin"


def load_state(cache_dir: Path, key: str) -> BuildState:
    """The saved state if it is intact and was made for `key`, else an empty one."""
    state = _load(cache_dir / _STATE, BuildState)
    return state if state is not None and state.key == key else BuildState(key, files={})


def load_files(cache_dir: Path, key: str) -> dict[str, ParsedFile]:
    """The parsed records saved beside a state made for `key` ({} if none can be trusted)."""
    saved = _load(cache_dir / _RECORDS, tuple)
    if saved is None or len(saved) != 2 or saved[0] != key or not isinstance(saved[1], dict):
        return {}
    return saved[1]


def save_state(cache_dir: Path, state: BuildState, files_changed: bool) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    if files_changed and state.files is not None:
        _save(cache_dir / _RECORDS, (state.key, state.files))
    files, state.files = state.files, None
    try:
        _save(cache_dir / _STATE, state)
    finally:
        state.files = files


def _save(path: Path, value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    header = b"%s%d %s %s\n" % (
        _MAGIC,
        _FORMAT,
        __version__.encode(),
        hashlib.sha256(payload).hexdigest().encode(),
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(header + payload)
    os.replace(tmp, path)


def _load(path: Path, kind: type) -> Any:
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("%s: cannot read build cache (%s); building without it", path, exc.strerror)
        return None
    value, problem = _decode(blob)
    if problem:
        log.warning("%s: %s; discarded", path, problem)
        return None
    if not isinstance(value, kind):
        log.warning("%s: build cache holds something else; discarded", path)
        return None
    return value


def _decode(blob: bytes) -> tuple[Any, str | None]:
    if not blob.startswith(_MAGIC):
        return None, "not a masthead build cache"
    header, _, payload = blob[len(_MAGIC) :].partition(b"\n")
    try:
        fmt, version, digest = header.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        return None, "build cache header is damaged"
    if fmt != str(_FORMAT) or version != __version__:
        return None, f"build cache from masthead {version} (format {fmt})"
    if hashlib.sha256(payload).hexdigest() != digest:
        return None, "build cache is corrupt (checksum mismatch)"
    try:
        return pickle.loads(payload), None
    except Exception:  # matches its checksum yet fails: still never trusted
        return None, "build cache cannot be read"
