"""Hostile or failing folders around a build: work folders planted as symlinks, a build
cache that cannot be used, an output disk that is full or read-only.

Full and read-only disks are real: a tiny tmpfs mounted by the test (the tests run as
root). Where mounting is not allowed, the output tests inject the same errors
in-process at the OS-call level instead (os.open and os.mkdir raising ENOSPC or EROFS),
and the cache tests that need a mount are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from masthead.commands import cli
from masthead.outputs.writer import JOURNAL, MANIFEST, SEARCH_WORK, STAGING
from tests.conftest import Scratch, masthead, record_text, tree


def _site(scratch: Scratch, count: int = 3, extra: str = "") -> None:
    for i in range(count):
        scratch.add(
            f"2026-03-{1 + i % 28:02}-story-{i}.md",
            record_text(title=f"Story {i}{extra}", when=f"2026-03-{1 + i % 28:02}T09:00:00Z"),
        )


def _clean(scratch: Scratch, tmp_path: Path, **options: object) -> dict[str, bytes | None]:
    """The output of a clean build of the scratch site as it is now."""
    reference = tmp_path / "reference"
    assert not scratch.build(output_dir=reference, use_cache=False, **options).failed
    return tree(reference)


# Break 11: every work folder, every kind of thing planted at its name ---------------

WORK = [STAGING, SEARCH_WORK, JOURNAL, MANIFEST + ".tmp", JOURNAL + ".tmp"]


def _plant(path: Path, kind: str, outside: Path) -> None:
    if kind == "symlink-to-folder":
        path.symlink_to(outside, target_is_directory=True)
    elif kind == "symlink-to-file":
        path.symlink_to(outside / "secret.txt")
    elif kind == "dangling-symlink":
        path.symlink_to(outside / "missing" / "deeper")
    elif kind == "symlink-loop":
        path.symlink_to(path)
    elif kind == "file":
        path.write_text("planted")
    else:  # a real folder whose insides lead out
        path.mkdir()
        for name in ("site", "bundle", "index.html", "link"):
            (path / name).symlink_to(outside, target_is_directory=True)


KINDS = [
    "symlink-to-folder",
    "symlink-to-file",
    "dangling-symlink",
    "symlink-loop",
    "file",
    "folder-of-symlinks",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", WORK)
def test_nothing_planted_at_a_work_folder_name_is_followed(
    scratch: Scratch, tmp_path: Path, name: str, kind: str
) -> None:
    search = name == SEARCH_WORK  # Pagefind's folder is made only when it runs
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("mine")
    _site(scratch)
    assert not scratch.build(search=search).failed
    before = tree(outside)
    _plant(scratch.output / name, kind, outside)
    scratch.add(
        "2026-03-01-story-0.md",
        record_text(title="Story 0, edited", when="2026-03-01T09:00:00Z"),
    )
    assert not scratch.build(search=search).failed
    assert tree(outside) == before
    assert not os.path.lexists(scratch.output / name)
    assert tree(scratch.output) == _clean(scratch, tmp_path, search=search)


# Break 12: a build cache that cannot be used is not used at all ---------------------


@contextlib.contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[bool]:
    """Mount a tmpfs of `size` at `path`; yields False where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=True)


def _read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


CACHE_KINDS = ["a-file", "a-dangling-symlink", "a-read-only-folder", "a-full-disk"]


@pytest.mark.parametrize("kind", CACHE_KINDS)
def test_a_cache_that_cannot_be_used_means_one_warning_and_a_whole_build(
    scratch: Scratch, tmp_path: Path, kind: str
) -> None:
    _site(scratch, 4)
    cache = scratch.root / ".masthead-cache"
    with contextlib.ExitStack() as stack:
        if kind == "a-file":
            cache.write_text("not a folder")
        elif kind == "a-dangling-symlink":
            cache.symlink_to(tmp_path / "gone" / "cache")
        else:
            size = "16k" if kind == "a-full-disk" else "1m"
            if not stack.enter_context(_tmpfs(cache, size)):
                pytest.skip("cannot mount a tmpfs here")
            if kind == "a-read-only-folder":
                _read_only(cache)
        for _ in range(2):  # and the build after it, too
            done = masthead("build", "--site", scratch.root, "--no-search")
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr
            warnings = [line for line in done.stderr.splitlines() if line.strip()]
            assert len(warnings) == 1 and "build cache" in warnings[0], done.stderr
            assert str(cache) in warnings[0]
    assert tree(scratch.output) == _clean(scratch, tmp_path, search=False)


# Break 14: a full or read-only output disk: one clear message, the old site intact ---


def _inject(monkeypatch: pytest.MonkeyPatch, under: Path, code: int) -> None:
    """os.open for writing and os.mkdir fail with `code` below `under` (in-process)."""
    real_open, real_mkdir = os.open, os.mkdir

    def refuse(path: object) -> None:
        if str(path).startswith(str(under)):
            raise OSError(code, os.strerror(code), str(path))

    def fake_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    def fake_mkdir(path: object, *args: object, **kwargs: object) -> None:
        refuse(path)
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


def _failing_build(
    scratch: Scratch,
    output: Path,
    capsys: pytest.CaptureFixture[str],
    break_disk: Callable[[], None],
) -> str:
    """Build into `output`, break its disk, build a changed site: return stderr."""
    argv = ["build", "--site", str(scratch.root), "--output", str(output), "--no-search"]
    assert cli.main(argv) == 0
    before = tree(output)
    _site(scratch, 40, extra=" with a much longer title to take up room on the disk" * 4)
    capsys.readouterr()
    break_disk()
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert tree(output) == before
    return err


@pytest.mark.parametrize("reason", ["read-only", "full"])
def test_a_full_or_read_only_output_disk_gives_one_message_and_keeps_the_old_site(
    scratch: Scratch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    reason: str,
) -> None:
    _site(scratch, 2)
    output = tmp_path / "disk"
    code = errno.EROFS if reason == "read-only" else errno.ENOSPC
    with _tmpfs(output, "300k") as mounted:
        if not mounted:  # no mounting here: the same error, raised by the OS calls
            err = _failing_build(
                scratch, output, capsys, lambda: _inject(monkeypatch, output, code)
            )
        elif reason == "read-only":
            err = _failing_build(scratch, output, capsys, lambda: _read_only(output))
        else:
            err = _failing_build(scratch, output, capsys, lambda: None)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines[-1].startswith(f"error: cannot write to the output folder {output}: ")
    assert os.strerror(code) in lines[-1]
