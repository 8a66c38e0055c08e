"""The build cache: what the last build read and wrote, kept in `.masthead-cache/`.

It holds the parsed records (keyed by path, size, mtime and content hash), each page's
fingerprint and a stamp of every input file, so the next build can skip parsing,
rendering and writing whatever did not change. Records changed since records.bin was
written go to a small delta file beside it, so that a build after one edit does not
rewrite every record; the delta names the records.bin it applies to by checksum. What
each file holds is one `Kind` below, written and read through `cachefile` (its header,
its digest, one warning for whatever does not match: never trusted, never a crash).
Like `__pycache__`, the cache is trusted as much as the site folder it lives in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from masthead import cachefile
from masthead.cachefile import Kind
from masthead.diagnostics import Diagnostic, shown_path
from masthead.records.loader import Record, Stamp, rebuild_as_tuple

if TYPE_CHECKING:
    from masthead.model.site import Article

log = logging.getLogger(__name__)

CACHE_DIR = ".masthead-cache"


class ParsedFile(NamedTuple):
    """One content file as last read: its record (None when invalid) and its diagnostics."""

    __reduce__ = rebuild_as_tuple

    stamp: Stamp
    record: Record | None
    diagnostics: tuple[Diagnostic, ...]
    held: bool = False
    """The file is broken; `record` is its last good version, kept on show by the preview."""
    draft: bool = False
    """A draft read no further than its `published: false` (loader.says_draft)."""


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
    counts: tuple[int, int, int] = (0, 0, 0)
    """records read, skipped, merged (the drafts left out are `drafts`)."""
    drafts: tuple[str, ...] = ()
    """Paths of the drafts left out, which the summary names."""
    output: str = ""
    """Digest of the output manifest this state's page fingerprints describe. If the output
    folder was written by anything else since (another cache, a killed preview), the page
    fingerprints no longer say what is on disk and are dropped."""
    files: dict[str, ParsedFile] | None = None
    """Parsed content files; kept in a file of their own and read only when something changed."""
    others: str = ""
    """Digest of the stamps of every input but the records: templates, static, data, config."""
    outputs_of: dict[str, list[str]] | None = None
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
    missing_paths: frozenset[str] = frozenset()
    """Site paths of records and data/ that lead nowhere (sitepaths.py), as of the last
    full plan; part of every page's fingerprint, and what templates leave out."""


class RecordsChunk(NamedTuple):
    """Some of the parsed files, as records.bin holds them, each chunk naming its state."""

    key: str
    files: dict[str, ParsedFile]


class RecordsDelta(NamedTuple):
    """The parsed files changed since records.bin was written (None: the file is gone)."""

    key: str
    base: str
    """Digest of the records.bin this applies to."""
    files: dict[str, ParsedFile | None]


STATE = Kind("build-state", 10, BuildState)
RECORDS = Kind("records", 10, RecordsChunk)
DELTA = Kind("records-delta", 10, RecordsDelta)
_STATE, _RECORDS, _DELTA = "build-state.bin", "records.bin", "records-delta.bin"
_CHUNK = 128
"""Records pickled at a time into records.bin (see cachefile.write). Small chunks keep
pickle's memo small: 10,000 records took 0.41 CPU-s to save in chunks of 4,096 and 0.25
in chunks of 128, and read back as fast."""
DELTA_MIN = 64
"""Records a delta may hold before records.bin is written anew (or a sixteenth of all)."""


class Files(NamedTuple):
    """Parsed files as loaded from the cache, and which of them came from the delta file."""

    files: dict[str, ParsedFile]
    base: str
    """Checksum of the records.bin they were read from ("" when there was none)."""
    delta: frozenset[str]


def cache_usable(cache_dir: Path) -> bool:
    """Can the build cache be kept at `cache_dir`? If not, says why, once, for all of it.

    A build decides this before it reads or writes any part of the cache (records,
    state, model, compiled templates), so a cache path that is a file, a dangling
    symlink or a folder it cannot write means one warning and a build without a cache,
    not a crash half-way.
    """
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=cache_dir, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        log.warning(
            "%s: cannot use the build cache (%s); building without it",
            shown_path(cache_dir),
            exc.strerror or exc,
        )
        return False
    return True


def forget_state(cache_dir: Path) -> None:
    """Remove the saved state, so that no build trusts a cache whose writing failed."""
    with contextlib.suppress(OSError):
        (cache_dir / _STATE).unlink(missing_ok=True)


def load_state(cache_dir: Path, key: str) -> BuildState:
    """The saved state if it is intact and was made for `key`, else an empty one."""
    found = cachefile.read(cache_dir / _STATE, STATE)
    state = found[0][0] if found is not None and len(found[0]) == 1 else None
    return state if state is not None and state.key == key else BuildState(key, files={})


def load_files(cache_dir: Path, key: str) -> Files:
    """The parsed records saved beside a state made for `key` (none if they cannot be trusted)."""
    found = cachefile.read(cache_dir / _RECORDS, RECORDS)
    if found is None or not all(chunk.key == key for chunk in found[0]):
        return Files({}, "", frozenset())
    chunks, base = found
    files: dict[str, ParsedFile] = {}
    for chunk in chunks:
        files.update(chunk.files)
    read = cachefile.read(cache_dir / _DELTA, DELTA)
    if read is None:
        return Files(files, base, frozenset())
    delta = read[0][0] if len(read[0]) == 1 else None
    if delta is None or delta.key != key or delta.base != base:
        cachefile.discard(cache_dir / _DELTA, "made for another records.bin")
        return Files({}, "", frozenset())  # which of the two is current is unknown
    for rel, parsed in delta.files.items():
        if parsed is None:
            files.pop(rel, None)
        else:
            files[rel] = parsed
    return Files(files, base, frozenset(delta.files))


def save_state(cache_dir: Path, state: BuildState) -> None:
    """Save `state` without its files (save_files keeps those)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    files, state.files = state.files, None
    try:
        cachefile.write(cache_dir / _STATE, STATE, [state])
    finally:
        state.files = files


def save_files(
    cache_dir: Path,
    key: str,
    files: dict[str, ParsedFile],
    saved: Files | None,
    suffix: str = "",
) -> tuple[str, frozenset[str]] | None:
    """Save the parsed files; as a delta over `saved` (what the cache held) when small.

    Returns the checksum of the records.bin the cache now holds and the files its delta
    holds, for the `saved` of the next call; None when nothing changed since `saved`.
    With a `suffix`, the file is written under its name with the suffix, for place_files
    to move into place once the build has committed its output.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    delta = _delta(files, saved)
    if delta is not None and saved is not None:
        if not delta:
            return None
        entries = {rel: files.get(rel) for rel in delta}
        cachefile.write(
            cache_dir / (_DELTA + suffix), DELTA, [RecordsDelta(key, saved.base, entries)]
        )
        return saved.base, delta
    items = list(files.items())
    chunks = (RecordsChunk(key, dict(items[i : i + _CHUNK])) for i in range(0, len(items), _CHUNK))
    base = cachefile.write(cache_dir / (_RECORDS + suffix), RECORDS, chunks)
    if not suffix:
        (cache_dir / _DELTA).unlink(missing_ok=True)
    return base, frozenset()


def whole_records_due(files: dict[str, ParsedFile], saved: Files | None) -> bool:
    """Would save_files write a whole records.bin (rather than a delta, or nothing)?"""
    return _delta(files, saved) is None


def _delta(files: dict[str, ParsedFile], saved: Files | None) -> frozenset[str] | None:
    """The files a delta over `saved` would hold (empty: nothing changed since), or None
    when the changes are too many for a delta, or there is no records.bin to apply it to."""
    if saved is None or not saved.base:
        return None
    # Entries are reused objects unless parsed again, so `is not` finds what changed.
    since = {
        rel
        for rel in files.keys() | saved.files.keys()
        if files.get(rel) is not saved.files.get(rel)
    }
    if not since:
        return frozenset()
    delta = saved.delta | since
    return frozenset(delta) if len(delta) <= max(DELTA_MIN, len(files) // 16) else None


def place_files(cache_dir: Path, suffix: str, held: tuple[str, frozenset[str]] | None) -> None:
    """Move what save_files wrote with `suffix` (and returned as `held`) into place."""
    if held is None or not suffix:
        return
    if held[1]:
        os.replace(cache_dir / (_DELTA + suffix), cache_dir / _DELTA)
    else:
        os.replace(cache_dir / (_RECORDS + suffix), cache_dir / _RECORDS)
        (cache_dir / _DELTA).unlink(missing_ok=True)


def drop_files(cache_dir: Path, suffix: str) -> None:
    """Remove what save_files wrote with `suffix`, for a build that did not commit."""
    if not suffix:
        return
    for name in (_RECORDS, _DELTA):
        with contextlib.suppress(OSError):
            (cache_dir / (name + suffix)).unlink(missing_ok=True)


TEMPLATES_KEPT = 4
"""Folders of compiled templates kept: the config in use and the last few used before it."""
_TEMPLATES = re.compile(r"config-[0-9a-f]{16}")


def template_cache(cache_dir: Path, digest: str) -> Path:
    """The folder of templates compiled for the config of `digest`, marked as just used.

    Compiled code depends on the config (make_environment), so each config has a folder;
    without a clean-up every --base-url or config edit ever tried would leave one behind.
    The TEMPLATES_KEPT most recently used stay, so `serve` and `build` with different
    base URLs do not evict each other's; older ones are removed.
    """
    folder = cache_dir / f"config-{digest[:16]}"
    with contextlib.suppress(OSError):
        folder.mkdir(exist_ok=True)
        os.utime(folder)  # Jinja adds files only when it compiles: the time says "used"
    used: list[tuple[int, Path]] = []
    with contextlib.suppress(OSError), os.scandir(cache_dir) as found:
        for entry in found:
            if _TEMPLATES.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    used.append((entry.stat(follow_symlinks=False).st_mtime_ns, Path(entry.path)))
    for _, old in sorted(used, reverse=True)[TEMPLATES_KEPT:]:
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder
