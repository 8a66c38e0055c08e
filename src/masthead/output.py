"""The writer: stages changed files, swaps them in at the end, removes only its own stale files.

A build writes into `<output>/.masthead-staging/` first. Nothing in the live output
changes until `commit()`, so a build that fails part-way leaves the previous site as it
was. `.masthead-manifest.json` lists every file masthead wrote, with its hash; only those
files are ever deleted, and only while they still hold the bytes masthead wrote.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from masthead.diagnostics import OutputError
from masthead.digest import digest_of

log = logging.getLogger(__name__)

MANIFEST = ".masthead-manifest.json"
STAGING = ".masthead-staging"
_MANIFEST_VERSION = 1


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class OutputWriter:
    """Collects one build's files; `commit()` makes them live, `abort()` forgets them."""

    def __init__(
        self, root: Path, *, share_folder: bool = False, previous: dict[str, str] | None = None
    ) -> None:
        """`share_folder` accepts a folder holding files of others (a web root); still, only
        files listed in the manifest are ever deleted. `previous` is the manifest as the
        caller last committed it, when it knows the file is unchanged since."""
        self.root = root
        self.staging = root / STAGING
        self.previous = previous if previous is not None else self._read_manifest()
        self.current: dict[str, str] = {}
        self.staged: list[str] = []
        self.removed: list[str] = []
        self._folders: set[str] = set()
        """Staging folders made so far (by this process: each render worker has its own)."""
        self.created_root = not root.exists()
        if root.exists() and not root.is_dir():
            raise OutputError(f"output {root} exists and is not a folder")
        if (
            self.previous is None
            and not share_folder
            and root.is_dir()
            and any(p.name != STAGING for p in root.iterdir())
        ):
            raise OutputError(
                f"output folder {root} is not empty and was not written by masthead "
                f"(no {MANIFEST}); empty it or choose another --output"
            )
        self._clear_staging()

    def _clear_staging(self) -> None:
        self._folders.clear()
        # A symlink planted at the staging path must not carry writes elsewhere.
        if self.staging.is_symlink() or self.staging.is_file():
            self.staging.unlink()
        else:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _read_manifest(self) -> dict[str, str] | None:
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = data["files"]
            if data.get("version") != _MANIFEST_VERSION or not isinstance(files, dict):
                raise ValueError("unknown manifest version")
            return {str(k): str(v) for k, v in files.items() if _is_safe_rel(str(k))}
        except (ValueError, KeyError, TypeError, OSError) as exc:
            # A manifest we cannot read means we cannot tell our files from the user's.
            raise OutputError(
                f"{path}: unreadable manifest ({exc}); remove the output folder to rebuild"
            ) from exc

    @staticmethod
    def digest_of(files: dict[str, str] | None) -> str:
        """Identifies an output folder's content by its manifest, for caches built on it."""
        return digest_of(sorted((files or {}).items()))

    def write(self, rel: str, data: bytes) -> bool:
        """Queue `data` for output path `rel`; return True when it differs from what is there."""
        digest, staged = self.stage(rel, data)
        self.register(rel, digest, staged)
        return staged

    def stage(self, rel: str, data: bytes) -> tuple[str, bool]:
        """Put `data` in the staging folder unless the live file already holds it.

        Touches no bookkeeping, so forked render workers can call it; the parent then
        calls `register()` with the result.
        """
        if not _is_safe_rel(rel) or rel == MANIFEST or rel.split("/", 1)[0] == STAGING:
            raise OutputError(f"refusing to write outside the output folder: {rel!r}")
        digest = _digest(data)
        if (self.previous or {}).get(rel) == digest and _same_size(self.root / rel, len(data)):
            return digest, False
        folder, _, _ = rel.rpartition("/")
        if folder not in self._folders:  # one mkdir per folder, not per file
            self._make_folder(folder)
        # os.open and os.write rather than open(): no buffered file object for one write,
        # a sixth of the cost of writing a page.
        fd = os.open(os.path.join(self.staging, rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        return digest, True

    def _make_folder(self, folder: str) -> None:
        """Make a staging folder after its parents; unlike os.makedirs, without looking
        on disk for the parents this process has made already."""
        if not folder:
            os.makedirs(self.staging, exist_ok=True)  # and the output folder, if new
        else:
            parent = folder.rpartition("/")[0]
            if parent not in self._folders:
                self._make_folder(parent)
            path = os.path.join(self.staging, folder)
            try:
                os.mkdir(path)
            except FileExistsError:
                if not os.path.isdir(path):
                    raise
        self._folders.add(folder)

    def register(self, rel: str, digest: str, staged: bool) -> None:
        if rel in self.current:
            raise OutputError(f"two pages want the same output file: {rel}")
        self.current[rel] = digest
        if staged:
            self.staged.append(rel)

    def keep(self, rel: str, check: bool = True) -> bool:
        """Carry an unchanged file over from the last build without reading or rendering it.

        Returns False when it cannot (not written last time, or gone since), and the caller
        must produce it. `check=False` skips looking at the disk: the preview's fast path
        trusts the output it wrote itself a moment ago.
        """
        digest = (self.previous or {}).get(rel)
        if digest is None or rel in self.current:
            return False
        if check and not self.still_there(rel):
            return False  # deleted since: the caller renders it again
        self.current[rel] = digest
        return True

    def still_there(self, rel: str) -> bool:
        """Did the last build write `rel`, and is a file still there? Touches no
        bookkeeping, so forked render workers can ask it."""
        return rel in (self.previous or {}) and os.path.isfile(os.path.join(self.root, rel))

    def commit(self) -> None:
        """Move staged files into place, delete stale files of earlier builds, save the manifest."""
        self.root.mkdir(parents=True, exist_ok=True)
        real_root = self.root.resolve()
        if self.staged:
            # Check every target before moving any, so a refusal leaves the old site whole.
            _merge_tree(str(self.staging), str(self.root), move=False)
            _merge_tree(str(self.staging), str(self.root), move=True)
        self._clear_staging()
        self._remove_stale(real_root)
        manifest = json.dumps(
            {"version": _MANIFEST_VERSION, "files": dict(sorted(self.current.items()))},
            separators=(",", ":"),  # compact, so the C encoder writes it
        ).encode("utf-8")
        if _holds(self.root / MANIFEST, manifest):
            return  # an unchanged build touches no file at all, not even the manifest
        tmp = self.root / (MANIFEST + ".tmp")
        tmp.unlink(missing_ok=True)
        tmp.write_bytes(manifest)
        os.replace(tmp, self.root / MANIFEST)

    def abort(self) -> None:
        self._clear_staging()
        if self.created_root:  # a failed first build leaves no trace, not even an empty folder
            with contextlib.suppress(OSError):
                self.root.rmdir()

    def _remove_stale(self, real_root: Path) -> None:
        for rel in sorted(set(self.previous or {}) - set(self.current)):
            path = self.root / rel
            try:
                if (
                    path.is_symlink()
                    or not path.is_file()
                    or not path.parent.resolve().is_relative_to(real_root)
                ):
                    continue
                if _digest(path.read_bytes()) != (self.previous or {})[rel]:
                    log.warning("%s: changed since masthead wrote it; left in place", path)
                    continue
                path.unlink()
            except OSError as exc:
                log.warning("%s: could not remove stale file: %s", path, exc)
                continue
            self.removed.append(rel)
            _prune_empty_dirs(path.parent, self.root)


def _merge_tree(src: str, dst: str, move: bool) -> None:
    """Move the staged tree `src` into `dst`; with move=False only check that it can be.

    A folder that does not exist yet in the output moves in one rename, whole (a first
    build is a handful of renames); an existing one is merged file by file. No symlink in
    the output is ever followed.
    """
    with os.scandir(src) as entries:
        for entry in entries:
            target = os.path.join(dst, entry.name)
            if os.path.islink(target):
                raise OutputError(
                    f"{target} leads outside the output folder (symlink); not written"
                )
            if entry.is_dir(follow_symlinks=False):
                if not os.path.lexists(target):
                    if move:
                        os.replace(entry.path, target)
                elif os.path.isdir(target):
                    _merge_tree(entry.path, target, move)
                else:
                    raise OutputError(f"{target} is a file where a folder belongs")
            elif os.path.isdir(target):
                raise OutputError(f"{target} is a folder where a file belongs")
            elif move:
                os.replace(entry.path, target)


def _is_safe_rel(rel: str) -> bool:
    """A normalised relative POSIX path that stays inside the folder (checked on every
    manifest entry, so string tests rather than PurePosixPath)."""
    return (
        bool(rel)
        and not rel.startswith("/")
        and "\\" not in rel
        and "\x00" not in rel
        and not any(part in ("", ".", "..") for part in rel.split("/"))
    )


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def _same_size(path: Path, size: int) -> bool:
    """With an equal hash in the manifest, an equal size is enough: reading every file back
    would cost as much as writing it."""
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _prune_empty_dirs(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
