"""The writer: stages changed files, swaps them in at the end, removes only its own stale files.

A build writes into `<output>/.masthead-staging/` first. Nothing in the live output
changes until `commit()`, so a build that fails part-way leaves the previous site as it
was. `.masthead-manifest.json` lists every file masthead wrote, with its hash; only those
files are ever deleted, and only while they still hold the bytes masthead wrote.

The swap itself is many renames, which a kill can cut short. So `commit()` first writes
the new manifest as a journal (`.masthead-commit.json`), and renames it over the
manifest only once every file is in place. A writer that finds a journal knows the last
commit was cut short: it trusts neither manifest about what is on disk and writes every
file again, and may delete what either manifest lists. Work folders left by a killed
build (staging, search) are removed before anything else, never followed if they are
symbolic links, and never published. Before any of that, `check_folders` refuses an
output (or cache) folder that would overlap the user's own folders.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Collection, Iterator
from itertools import chain
from pathlib import Path

from masthead.diagnostics import ConfigError, OutputError, shown_path
from masthead.hashing import bytes_digest, text_digest
from masthead.killpoint import kill_point

log = logging.getLogger(__name__)

MANIFEST = ".masthead-manifest.json"
STAGING = ".masthead-staging"
JOURNAL = ".masthead-commit.json"
"""The manifest of a commit under way; renamed over MANIFEST when it is done."""
SEARCH_WORK = ".masthead-search"
"""The search index's work folder (search.py)."""
LEFTOVERS = (STAGING, SEARCH_WORK, MANIFEST + ".tmp", JOURNAL + ".tmp")
"""What a killed build can leave behind: removed by the next writer."""
BOOKKEEPING = frozenset({MANIFEST, JOURNAL, *LEFTOVERS})
"""masthead's own names at the top of an output folder: never pages, never published."""
MANIFEST_VERSION = 1
_UNTRUSTED = ""
"""The digest of a file whose content is not known (an interrupted commit's)."""


class OutputWriter:
    """Collects one build's files; `commit()` makes them live, `abort()` forgets them."""

    def __init__(
        self,
        root: Path,
        *,
        previous: dict[str, str] | None = None,
        created_root: bool | None = None,
    ) -> None:
        """`previous` is the manifest as the caller last committed it, when it knows the
        file is unchanged since.
        `created_root`: the caller made the output folder for this build (output_lock)."""
        self.root = root
        self.staging = root / STAGING
        self.current: dict[str, str] = {}
        self.staged: list[str] = []
        self.removed: list[str] = []
        self._folders: set[str] = set()
        """Staging folders made so far (by this process: each render worker has its own)."""
        self.created_root = not root.exists() if created_root is None else created_root
        if root.exists() and not root.is_dir():
            raise OutputError(f"output {root} exists and is not a folder")
        self._removable: dict[str, tuple[str, ...]] = {}
        """Digests a stale file may hold to be deleted, beyond its `previous` one."""
        self.untrusted = False
        """The last commit was cut short: no file on disk is known to hold anything."""
        with _os_errors(root):
            if os.path.lexists(root / JOURNAL):
                self.previous: dict[str, str] | None = self._recover()
            else:
                self.previous = previous if previous is not None else self._read_manifest()
            if (
                self.previous is None
                and root.is_dir()
                and any(p.name not in BOOKKEEPING for p in root.iterdir())
            ):
                raise OutputError(
                    f"output folder {root} is not empty and was not written by masthead "
                    f"(no {MANIFEST}); empty it or choose another --output"
                )
            for name in LEFTOVERS:
                clear_work_folder(root / name)

    def _recover(self) -> dict[str, str]:
        """The files an interrupted commit may have left, as `previous`, none trusted."""
        old = self._read_manifest() or {}
        try:
            new = read_manifest(self.root / JOURNAL)
        except (ValueError, KeyError, TypeError, OSError):
            new = {}  # not a journal masthead wrote whole: only the old manifest is known
        log.warning(
            "%s: the last build was stopped while it replaced the output; this build "
            "writes every file again",
            shown_path(self.root),
        )
        self.untrusted = True
        for rel in old.keys() | new.keys():
            self._removable[rel] = tuple(d for d in (old.get(rel), new.get(rel)) if d)
        return dict.fromkeys(sorted(old.keys() | new.keys()), _UNTRUSTED)

    def _clear_staging(self) -> None:
        self._folders.clear()
        clear_work_folder(self.staging)

    def _read_manifest(self) -> dict[str, str] | None:
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        try:
            return read_manifest(path)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            # A manifest we cannot read means we cannot tell our files from the user's.
            raise OutputError(
                f"{path}: unreadable manifest ({exc}); remove the output folder to rebuild"
            ) from exc

    @staticmethod
    def digest_of(files: dict[str, str] | None) -> str:
        """Identifies an output folder's content by its manifest, for caches built on it.

        Its paths and digests joined by NULs, which neither holds (is_safe_rel): half the
        time of hashing the items' repr, taken twice by a build after an edit."""
        return text_digest("\0".join(chain.from_iterable(sorted((files or {}).items()))))

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
        if not is_safe_rel(rel) or rel == MANIFEST or rel.split("/", 1)[0] == STAGING:
            raise OutputError(f"refusing to write outside the output folder: {rel!r}")
        digest = bytes_digest(data)
        if (self.previous or {}).get(rel) == digest and _same_size(self.root / rel, len(data)):
            return digest, False
        folder, _, _ = rel.rpartition("/")
        path = os.path.join(self.staging, rel)
        try:
            if folder not in self._folders:  # one mkdir per folder, not per file
                self._make_folder(folder)
            # os.open and os.write rather than open(): no buffered file object for one
            # write, a sixth of the cost of writing a page.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.filename is None:
                exc.filename = path  # os.write names no file
            raise write_error(exc, self.root) from None
        return digest, True

    def _make_folder(self, folder: str) -> None:
        """Make a staging folder after its parents; unlike os.makedirs, without looking
        on disk for the parents this process has made already."""
        if not folder:
            os.makedirs(self.root, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # made by a forked render worker
                os.mkdir(self.staging)  # never through a symlink planted since
            if os.path.islink(self.staging) or not os.path.isdir(self.staging):
                raise OutputError(f"{self.staging} was replaced while the build ran; not written")
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
        if digest is None or digest == _UNTRUSTED or rel in self.current:
            return False
        if check and not self.still_there(rel):
            return False  # deleted since: the caller renders it again
        self.current[rel] = digest
        return True

    def still_there(self, rel: str) -> bool:
        """Did the last build write `rel`, and is a file still there? Touches no
        bookkeeping, so forked render workers can ask it."""
        return (
            not self.untrusted
            and rel in (self.previous or {})
            and os.path.isfile(os.path.join(self.root, rel))
        )

    def commit(self) -> None:
        """Move staged files into place, delete stale files of earlier builds, save the manifest.

        The new manifest goes to the journal first and over the old one last (see the
        module's docstring), so a commit cut short anywhere is found and redone.
        """
        manifest = json.dumps(
            {"version": MANIFEST_VERSION, "files": dict(sorted(self.current.items()))},
            separators=(",", ":"),  # compact, so the C encoder writes it
        ).encode("utf-8")
        stale = set(self.previous or {}) - set(self.current)
        with _os_errors(self.root):
            if not (self.staged or stale or self.untrusted) and _holds(
                self.root / MANIFEST, manifest
            ):
                self._clear_staging()
                return  # an unchanged build touches no file at all, not even the manifest
            self.root.mkdir(parents=True, exist_ok=True)
            real_root = self.root.resolve()
            if self.staged:
                # Check every target before moving any, so a refusal leaves the old site whole.
                _merge_tree(str(self.staging), str(self.root), move=False)
            _write_atomically(self.root / JOURNAL, manifest)
            kill_point("commit")
            if self.staged:
                # New paths first, then the files they replace, then the stale ones go:
                # a reader finds a page or a search entry only once all it names is there.
                _merge_tree(str(self.staging), str(self.root), move=True, only_new=True)
                _merge_tree(str(self.staging), str(self.root), move=True)
            self._clear_staging()
            self._remove_stale(real_root, stale)
            os.replace(self.root / JOURNAL, self.root / MANIFEST)
        self.untrusted = False

    def abort(self) -> None:
        """Forget the staged files; the live output stays as it is (and if a commit was
        cut short, its journal stays for the next build to find)."""
        with contextlib.suppress(OSError):
            self._clear_staging()
            if self.created_root:  # a failed first build leaves no trace, not even a folder
                self.root.rmdir()

    def _remove_stale(self, real_root: Path, stale: set[str]) -> None:
        for rel in sorted(stale):
            ours = self._removable.get(rel) or ((self.previous or {})[rel],)
            if remove_if_ours(self.root, real_root, rel, ours):
                self.removed.append(rel)
                kill_point("commit")


def remove_if_ours(root: Path, real_root: Path, rel: str, digests: Collection[str]) -> bool:
    """Delete file `rel` of `root` if it still holds bytes masthead wrote there (one of
    `digests`), then the folders that left empty; True when it did.

    Never through a symbolic link, never outside `real_root` (root's real path); a file
    that changed since is someone's now, and stays.
    """
    path = root / rel
    try:
        if (
            path.is_symlink()
            or not path.is_file()
            or not path.parent.resolve().is_relative_to(real_root)
        ):
            return False
        if bytes_digest(path.read_bytes()) not in digests:
            log.warning("%s: changed since masthead wrote it; left in place", shown_path(path))
            return False
        path.unlink()
    except OSError as exc:
        log.warning("%s: could not remove stale file: %s", shown_path(path), exc)
        return False
    prune_empty_dirs(path.parent, root)
    return True


def _merge_tree(src: str, dst: str, move: bool, only_new: bool = False) -> None:
    """Move the staged tree `src` into `dst`; with move=False only check that it can be,
    and with only_new=True move only what `dst` does not hold yet (nothing live names it).

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
                        kill_point("commit")
                elif os.path.isdir(target):
                    _merge_tree(entry.path, target, move, only_new)
                else:
                    raise OutputError(f"{target} is a file where a folder belongs")
            elif os.path.isdir(target):
                raise OutputError(f"{target} is a folder where a file belongs")
            elif move and not (only_new and os.path.lexists(target)):
                os.replace(entry.path, target)
                kill_point("commit")


def clear_work_folder(path: Path) -> None:
    """Remove a work file or folder of masthead's, never following a symlink planted there."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)  # does not follow symlinks inside either


def make_work_folder(path: Path) -> None:
    """A new, empty work folder at `path`, made here, whatever was there before."""
    clear_work_folder(path)
    os.mkdir(path)  # fails rather than follow anything planted in between


@contextlib.contextmanager
def output_lock(root: Path) -> Iterator[bool]:
    """Hold the output folder for one build: a second build into it waits for the first.

    The lock is the folder's own (flock on it), so no lock file is left anywhere. Yields
    whether the folder was made for this build; it is removed again if still empty.
    """
    created = not os.path.lexists(root)
    if not created and not root.is_dir():
        raise OutputError(f"output {root} exists and is not a folder")
    while True:
        with _os_errors(root):
            root.mkdir(parents=True, exist_ok=True)
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning(
                "%s: another build is writing this folder; waiting for it to end", shown_path(root)
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            held, now = os.fstat(fd), os.stat(root)
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                break  # still the folder at that path, not one removed meanwhile
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield created
    finally:
        if created:
            with contextlib.suppress(OSError):
                root.rmdir()
        os.close(fd)


def write_error(exc: OSError, root: str | Path) -> OutputError:
    """An OutputError naming the folder, the file and the system's reason (a full disk,
    a read-only one), for one clear line instead of a traceback."""
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(root) else ""
    return OutputError(f"cannot write to the output folder {root}: {reason}{where}")


@contextlib.contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise write_error(exc, path) from None


def read_manifest(path: Path) -> dict[str, str]:
    """The files listed in a manifest (or journal) file, by safe relative path."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with open(fd, encoding="utf-8") as f:
        data = json.load(f)
    files = data["files"]
    if data.get("version") != MANIFEST_VERSION or not isinstance(files, dict):
        raise ValueError("unknown manifest version")
    return {
        k: v
        for k, v in files.items()
        if k.__class__ is str and v.__class__ is str and is_safe_rel(k)
    }


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all; a folder planted at its name is removed, a
    symlink replaced (never followed)."""
    tmp = path.with_name(path.name + ".tmp")
    clear_work_folder(tmp)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    with open(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def is_safe_rel(rel: str) -> bool:
    """A normalised relative POSIX path that stays inside the folder: no part empty, `.`
    or `..`. Checked on every manifest entry and every file staged, so as substring
    tests of the path between slashes, a quarter of the cost of splitting it."""
    framed = f"/{rel}/"
    return not (
        "//" in framed or "/./" in framed or "/../" in framed or "\\" in rel or "\x00" in rel
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


def prune_empty_dirs(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


# Refusals that keep a build from writing over, or deleting, the user's own files.
PROTECTED_SITE_FOLDERS = ("content", "templates", "static", "data", ".git")


def check_folders(
    site_dir: Path, content_dir: Path, output_dir: Path, role: str = "output folder"
) -> None:
    """Raise ConfigError when the folder masthead writes (`role`) would overlap the user's own."""
    site, content, output = (p.resolve() for p in (site_dir, content_dir, output_dir))
    refuse = {
        site: "the site folder",
        content: "the content folder",
        Path.home().resolve(): "your home folder",
        Path(output.anchor): "the file system root",
    }
    protected = {site / name: f"the site's {name}/ folder" for name in PROTECTED_SITE_FOLDERS}
    refuse.update(protected)
    if output in refuse:
        raise ConfigError(f"refusing to use {refuse[output]} ({output}) as the {role}")
    if output in site.parents:
        raise ConfigError(f"refusing {role} {output}: it contains the site folder {site}")
    for folder, name in (*protected.items(), (content, "the content folder")):
        if output.is_relative_to(folder):
            raise ConfigError(f"refusing {role} {output} inside {name} {folder}")
    if content.is_relative_to(output):
        raise ConfigError(f"refusing content folder {content} inside the {role} {output}")


def check_cache_folder(
    site_dir: Path, content_dir: Path, output_dir: Path, cache_dir: Path
) -> None:
    """Raise ConfigError for a cache folder among the user's folders or overlapping the
    output: the cache holds every record, unpublished ones too, and must not be served."""
    check_folders(site_dir, content_dir, cache_dir, role="cache folder")
    cache, output = cache_dir.resolve(), output_dir.resolve()
    if cache.is_relative_to(output) or output.is_relative_to(cache):
        raise ConfigError(f"refusing cache folder {cache}: it overlaps the output folder {output}")
