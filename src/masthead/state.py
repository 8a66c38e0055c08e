"""The build cache: what the last build read and wrote, kept in `.masthead-cache/`.

It holds the parsed records (keyed by path, size, mtime and content hash), each page's
fingerprint and a stamp of every input file, so the next build can skip parsing,
rendering and writing whatever did not change. Records changed since records.bin was
written go to a small delta file beside it, so that a build after one edit does not
rewrite every record; the delta names the records.bin it applies to by checksum. The file starts with a header naming the
format, masthead's version and a SHA-256 of the payload; anything that does not match is
discarded with a warning, never trusted. Like `__pycache__`, the cache is trusted as much
as the site folder it lives in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from masthead import __version__
from masthead.diagnostics import Diagnostic
from masthead.records import Record, Stamp, rebuild_as_tuple

if TYPE_CHECKING:
    from masthead.site import Article

log = logging.getLogger(__name__)

CACHE_DIR = ".masthead-cache"
_MAGIC = b"masthead-build-state\n"
_FORMAT = 4


class ParsedFile(NamedTuple):
    """One content file as last read: its record (None when invalid) and its diagnostics."""

    __reduce__ = rebuild_as_tuple

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
    others: str = ""
    """Digest of the stamps of every input but the records: templates, static, data, config."""
    outputs_of: dict[str, set[str]] | None = None
    """Record path -> outputs whose context shows the record (see fingerprint.records_in)."""
    template_references: dict[str, list[str | None]] = field(default_factory=dict)
    """Template source hash -> templates it names (see fingerprint.TemplateDigests)."""
    stamps: dict[str, Stamp] | None = None
    """Record path -> stamp of the file as this state's build read it."""
    model: str = ""
    """Token of the model.bin holding this build's page plan (modelstore), "" if none."""
    patched: dict[str, Article] = field(default_factory=dict)
    """Articles whose record changed in place since model.bin was written: they win."""
    model_diagnostics: tuple[Diagnostic, ...] = ()
    """The part of `diagnostics` about the site as a whole rather than one file."""


_STATE, _RECORDS, _DELTA = "build-state.bin", "records.bin", "records-delta.bin"
DELTA_MIN = 64
"""Records a delta may hold before records.bin is written anew (or a sixteenth of all)."""


class Files(NamedTuple):
    """Parsed files as loaded from the cache, and which of them came from the delta file."""

    files: dict[str, ParsedFile]
    base: str
    """Checksum of the records.bin they were read from ("" when there was none)."""
    delta: frozenset[str]


def load_state(cache_dir: Path, key: str) -> BuildState:
    """The saved state if it is intact and was made for `key`, else an empty one."""
    state, _ = _load(cache_dir / _STATE, BuildState)
    if state is not None and not all(hasattr(state, f.name) for f in fields(BuildState)):
        log.warning("%s: made by another build of masthead; discarded", cache_dir / _STATE)
        state = None
    return state if state is not None and state.key == key else BuildState(key, files={})


def load_files(cache_dir: Path, key: str) -> Files:
    """The parsed records saved beside a state made for `key` (none if they cannot be trusted)."""
    saved, base = _load(cache_dir / _RECORDS, tuple)
    if saved is None or len(saved) != 2 or saved[0] != key or not isinstance(saved[1], dict):
        return Files({}, "", frozenset())
    files: dict[str, ParsedFile] = saved[1]
    delta, _ = _load(cache_dir / _DELTA, tuple)
    if delta is None:
        return Files(files, base, frozenset())
    if len(delta) != 3 or delta[0] != key or delta[1] != base or not isinstance(delta[2], dict):
        log.warning("%s: made for another records.bin; discarded", cache_dir / _DELTA)
        return Files({}, "", frozenset())  # which of the two is current is unknown
    for rel, parsed in delta[2].items():
        if parsed is None:
            files.pop(rel, None)
        else:
            files[rel] = parsed
    return Files(files, base, frozenset(delta[2]))


def save_state(cache_dir: Path, state: BuildState, saved: Files | None) -> Files | None:
    """Save `state`; its files as a delta over `saved` (what the cache held) when small.

    Returns what the cache now holds, to pass as `saved` next time; None leaves the
    records alone (they are unchanged since `saved`).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    files, state.files = state.files, None
    try:
        result = _save_files(cache_dir, state.key, files, saved) if files is not None else None
        _save(cache_dir / _STATE, state)
    finally:
        state.files = files
    return result


def _save_files(
    cache_dir: Path, key: str, files: dict[str, ParsedFile], saved: Files | None
) -> Files | None:
    if saved is not None and saved.base:
        # Entries are reused objects unless parsed again, so `is not` finds what changed.
        since = {
            rel
            for rel in files.keys() | saved.files.keys()
            if files.get(rel) is not saved.files.get(rel)
        }
        if not since:
            return None
        delta = saved.delta | since
        if len(delta) <= max(DELTA_MIN, len(files) // 16):
            _save(cache_dir / _DELTA, (key, saved.base, {rel: files.get(rel) for rel in delta}))
            return Files(dict(files), saved.base, frozenset(delta))
    base = _save(cache_dir / _RECORDS, (key, files))
    (cache_dir / _DELTA).unlink(missing_ok=True)
    return Files(dict(files), base, frozenset())


def _save(path: Path, value: object) -> str:
    """Write `value` with its header; returns the payload's checksum."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha256(payload).hexdigest()
    header = b"%s%d %s %s\n" % (_MAGIC, _FORMAT, __version__.encode(), digest.encode())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(header + payload)
    os.replace(tmp, path)
    return digest


def _load(path: Path, kind: type) -> tuple[Any, str]:
    """The value saved at `path` and its checksum, or (None, "") with a warning if unusable."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        log.warning("%s: cannot read build cache (%s); building without it", path, exc.strerror)
        return None, ""
    value, digest, problem = _decode(blob)
    if problem:
        log.warning("%s: %s; discarded", path, problem)
        return None, ""
    if not isinstance(value, kind):
        log.warning("%s: build cache holds something else; discarded", path)
        return None, ""
    return value, digest


def _decode(blob: bytes) -> tuple[Any, str, str | None]:
    if not blob.startswith(_MAGIC):
        return None, "", "not a masthead build cache"
    header, _, payload = blob[len(_MAGIC) :].partition(b"\n")
    try:
        fmt, version, digest = header.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        return None, "", "build cache header is damaged"
    if fmt != str(_FORMAT) or version != __version__:
        return None, "", f"build cache from masthead {version} (format {fmt})"
    if hashlib.sha256(payload).hexdigest() != digest:
        return None, "", "build cache is corrupt (checksum mismatch)"
    try:
        return pickle.loads(payload), digest, None
    except Exception:  # matches its checksum yet fails: still never trusted
        return None, "", "build cache cannot be read"
