"""Sync files into a folder masthead shares with others: a web root, say.

The folder's other files are the user's: masthead replaces or deletes only files it
wrote there itself, and only while they still hold what it wrote. What it wrote is
listed in a manifest kept outside the folder (in the site's build cache, named after
the folder's real path), so that no bookkeeping of masthead's is ever served from a web
root. A file in the way that masthead did not write stops the sync before anything is
written, unless the caller says such files may be replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from masthead.diagnostics import MastheadError, plural, shown_path
from masthead.hashing import bytes_digest, text_digest
from masthead.outputs.writer import MANIFEST, MANIFEST_VERSION, read_manifest, remove_if_ours

MANIFESTS = "published"
"""Folder of the build cache that holds one manifest per folder published to."""
LEGACY_MANIFEST = MANIFEST
"""Where earlier versions kept the manifest: inside the target. Read once, then removed."""
SHOWN = 10
"""Conflicting files named in the message; the rest are counted."""


class SyncConflict(MastheadError):
    """Files masthead did not write are in the way; nothing was written."""


def manifest_path(cache_dir: Path, target: Path) -> Path:
    """The manifest of `target`, keyed by its real path: one site may publish to many."""
    real = os.path.realpath(target)
    return cache_dir / MANIFESTS / (text_digest(real)[:32] + ".json")


@dataclass(slots=True)
class SyncResult:
    files: int = 0
    copied: int = 0
    removed: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    """Files of others that were replaced, with the caller's leave."""


@dataclass(slots=True)
class FolderSync:
    target: Path
    manifest: Path
    overwrite: bool = False
    """Replace files masthead did not write (they become its own); else they stop the sync."""
    _folders: dict[str, str | None] = field(default_factory=dict)

    def run(self, files: Mapping[str, Path]) -> SyncResult:
        """Make the target hold `files` (path there -> source), and drop what left them."""
        previous, legacy = self._previous()
        wanted: dict[str, str] = {}
        todo: list[str] = []
        conflicts: list[tuple[str, str]] = []
        for rel, source in files.items():
            data = source.read_bytes()
            wanted[rel] = digest = bytes_digest(data)
            state = self._state(rel, digest, len(data), previous.get(rel))
            if state in ("missing", "ours"):
                todo.append(rel)
            elif state != "same":
                conflicts.append((rel, state))
        theirs = [rel for rel, why in conflicts if why == "theirs"]
        if len(theirs) < len(conflicts) or (theirs and not self.overwrite):
            raise SyncConflict(self._conflict_message(conflicts))
        todo.extend(theirs)
        result = SyncResult(files=len(wanted), replaced=theirs)
        self.target.mkdir(parents=True, exist_ok=True)
        self._copy({rel: files[rel] for rel in todo})
        result.copied = len(todo)
        result.removed = self._remove_stale(previous, wanted)
        self._save(wanted)
        if legacy:
            with contextlib.suppress(OSError):
                (self.target / LEGACY_MANIFEST).unlink()
        return result

    def _previous(self) -> tuple[dict[str, str], bool]:
        """What masthead wrote into the target before, and whether that came from the
        manifest an earlier version kept inside the target."""
        for path, legacy in ((self.manifest, False), (self.target / LEGACY_MANIFEST, True)):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                files = read_manifest(path)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                raise MastheadError(
                    f"{shown_path(path)}: unreadable manifest of what masthead published to "
                    f"{shown_path(self.target)} ({exc}); delete it, and masthead will take "
                    "no file in the folder for its own"
                ) from exc
            return files, legacy
        return {}, False

    def _state(self, rel: str, digest: str, size: int, before: str | None) -> str:
        """missing, same (already holds these bytes), ours (masthead's, to replace),
        theirs (someone else's file), or why no file can go there (folder, link)."""
        folder = rel.rpartition("/")[0]
        why = self._folder_state(folder)
        if why is not None:
            return why
        path = self.target / rel
        if path.is_symlink():
            return "link"
        if not path.exists():
            return "missing"
        if not path.is_file():
            return "folder"
        if before == digest and path.stat().st_size == size:
            return "same"
        try:
            on_disk = bytes_digest(path.read_bytes())
        except OSError:
            return "theirs"
        if on_disk == digest:
            return "same"
        return "ours" if on_disk == before else "theirs"

    def _folder_state(self, folder: str) -> str | None:
        """None when files can go in `folder` of the target (it is there, or can be made);
        else what is in the way. No symbolic link is ever followed."""
        if not folder:
            return None
        if folder not in self._folders:
            why = self._folder_state(folder.rpartition("/")[0])
            path = self.target / folder
            if why is None and path.is_symlink():
                why = "link in the path"
            elif why is None and path.exists() and not path.is_dir():
                why = "file where a folder goes"
            self._folders[folder] = why
        return self._folders[folder]

    def _conflict_message(self, conflicts: list[tuple[str, str]]) -> str:
        named = ", ".join(
            rel if why == "theirs" else f"{rel} ({why})" for rel, why in conflicts[:SHOWN]
        )
        more = f" and {len(conflicts) - SHOWN} more" if len(conflicts) > SHOWN else ""
        return (
            f"{shown_path(self.target)} holds {plural(len(conflicts), 'file')} that masthead "
            f"did not write and would replace: {named}{more}. Nothing was published. Move "
            "them away, or pass --overwrite to let masthead replace them (they become its "
            "own: a later publish deletes them when the site no longer has them); folders "
            "and symbolic links in the way are never replaced"
        )

    def _copy(self, files: Mapping[str, Path]) -> None:
        """Write every file beside its place first, then rename them all into place, so a
        failure while writing (a full disk) leaves the target as it was."""
        staged: list[tuple[str, Path]] = []
        try:
            for rel, source in sorted(files.items()):
                dest = self.target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".masthead-", dir=dest.parent)
                staged.append((tmp, dest))
                with os.fdopen(fd, "wb") as f:
                    f.write(source.read_bytes())
                os.chmod(tmp, 0o644)
            for tmp, dest in staged:
                os.replace(tmp, dest)
        except BaseException:
            for tmp, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise

    def _remove_stale(self, previous: Mapping[str, str], wanted: Mapping[str, str]) -> list[str]:
        real_root = self.target.resolve()
        return [
            rel
            for rel in sorted(set(previous) - set(wanted))
            if remove_if_ours(self.target, real_root, rel, (previous[rel],))
        ]

    def _save(self, files: Mapping[str, str]) -> None:
        data = {
            "version": MANIFEST_VERSION,
            "target": os.path.realpath(self.target),
            "files": dict(sorted(files.items())),
        }
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest.with_name(self.manifest.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=0, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.manifest)
