"""Builds killed anywhere (kill -9, Ctrl-C) and builds run at once: the next ordinary build
always gives exactly the output of a clean build, and a killed build leaves no process.

The installed `masthead` runs as a subprocess; `MASTHEAD_TEST_KILL=phase[:n]` (see
masthead.killpoint) makes it kill itself at an exact point, such as between two renames
of the commit, so each case is deterministic.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from masthead.outputs.writer import BOOKKEEPING
from tests.conftest import MASTHEAD, masthead, record_text, tree


def _write_site(site: Path, version: int) -> None:
    """Version 1, or version 2: one title edited, one story gone, one new (in a new folder)."""
    content = site / "content"
    if content.exists():
        for old in content.iterdir():
            old.unlink()
    content.mkdir(parents=True, exist_ok=True)
    stories = {i: f"Story {i}" for i in range(1, 6)}
    if version == 2:
        stories[2] = "Story two, retitled"
        del stories[5]
        stories[6] = "Story six"
    for i, title in stories.items():
        (content / f"2026-02-0{i}-s{i}.md").write_text(
            record_text(
                title=title,
                when=f"2026-02-0{i}T09:00:00Z",
                url=f"https://ledger.example/{i}",
                topics=(f"Topic {i % 3}",),
                provider=f"Provider {i % 2}",
            )
        )


def _env(kill: str | None = None, sig: str = "KILL") -> dict[str, str]:
    """This environment without its MASTHEAD_TEST_ settings; with `kill`, the build is
    to kill itself at that point with `sig`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD_TEST_")}
    if kill:
        env |= {"MASTHEAD_TEST_KILL": kill, "MASTHEAD_TEST_SIGNAL": sig}
    return env


def _masthead(site: Path, *args: str, kill: str | None = None, sig: str = "KILL") -> int:
    done = masthead("build", "--site", site, *args, env=_env(kill, sig))
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, bytes | None]]:
    """The output of a clean build of each version, by version."""
    trees = {}
    for version in (1, 2):
        site = tmp_path_factory.mktemp(f"clean{version}")
        _write_site(site, version)
        assert _masthead(site, "--no-cache") == 0
        trees[version] = tree(site / "public")
    return trees


KILLS = [
    "scan",
    "render:5",
    "search",
    "commit:0",
    "commit:1",
    "commit:10",
    "commit:30",
    "committed",
    "cache",
]


@pytest.mark.parametrize("kill", KILLS)
def test_a_build_killed_anywhere_is_made_whole_by_the_next(
    tmp_path: Path, clean: dict[int, dict[str, bytes | None]], kill: str
) -> None:
    site = tmp_path / "site"
    _write_site(site, 1)
    assert _masthead(site) == 0
    _write_site(site, 2)
    assert _masthead(site, kill=kill) == -signal.SIGKILL, "the build was not killed"
    if kill == "search":
        time.sleep(0.5)  # Pagefind, had it outlived the build, would be writing meanwhile
    assert _masthead(site) == 0
    assert tree(site / "public") == clean[2]


@pytest.mark.parametrize("kill", ["commit:1", "commit:30"])
def test_after_a_killed_commit_going_back_to_the_old_records_gives_the_old_site(
    tmp_path: Path, clean: dict[int, dict[str, bytes | None]], kill: str
) -> None:
    """The case that kept stale pages: files of the killed build hold bytes the old
    manifest does not list, and the old records hash to what it does list."""
    site = tmp_path / "site"
    _write_site(site, 1)
    assert _masthead(site) == 0
    _write_site(site, 2)
    assert _masthead(site, kill=kill) == -signal.SIGKILL
    _write_site(site, 1)
    assert _masthead(site) == 0
    assert tree(site / "public") == clean[1]


def test_ctrl_c_during_the_commit_exits_130_and_the_next_build_completes_it(
    tmp_path: Path, clean: dict[int, dict[str, bytes | None]]
) -> None:
    site = tmp_path / "site"
    _write_site(site, 1)
    assert _masthead(site) == 0
    _write_site(site, 2)
    assert _masthead(site, kill="commit:10", sig="INT") == 130
    assert not any(name in BOOKKEEPING - {".masthead-manifest.json", ".masthead-commit.json"}
                   for name in os.listdir(site / "public"))  # fmt: skip
    assert _masthead(site, "--no-cache") == 0
    assert tree(site / "public") == clean[2]


def test_ctrl_c_while_the_cache_is_written_beside_the_index_leaves_the_cache_whole(
    tmp_path: Path, clean: dict[int, dict[str, bytes | None]]
) -> None:
    """The build cache's files are begun in forked processes before the search index is
    made: a Ctrl-C then waits for them, drops the records staged for after the commit,
    and exits 130; the next build, with the cache, gives the clean output."""
    site = tmp_path / "site"
    _write_site(site, 1)
    assert _masthead(site) == 0
    _write_site(site, 2)
    assert _masthead(site, kill="search", sig="INT") == 130
    assert not list((site / ".masthead-cache").glob("*.next"))
    assert _masthead(site) == 0
    assert tree(site / "public") == clean[2]


def _stopped(pid: int) -> bool:
    """Is process `pid` stopped (by SIGSTOP)?"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def _processes_in_group(group: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                found.append(int(entry))
    return found


@pytest.fixture
def big_site(tmp_path: Path) -> Iterator[Path]:
    """Enough records that a build renders its pages in two worker processes."""
    site = tmp_path / "big"
    content = site / "content"
    content.mkdir(parents=True)
    for i in range(1000):
        day = f"2025-{1 + i % 12:02}-{1 + i % 28:02}"
        (content / f"{day}-s{i}.md").write_text(
            record_text(title=f"Story {i}", when=f"{day}T09:00:00Z", topics=(f"T{i % 9}",))
        )
    yield site


def test_the_workers_of_a_killed_build_exit(big_site: Path) -> None:
    env = os.environ | {"MASTHEAD_TEST_KILL": "render:0"}
    build = subprocess.Popen(
        [MASTHEAD, "build", "--site", str(big_site), "--jobs", "2", "--no-search"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers share its process group, named by its pid
    )
    try:
        assert build.wait(timeout=120) == -signal.SIGKILL
        deadline = time.monotonic() + 5
        while _processes_in_group(build.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_in_group(build.pid) == []
    finally:
        for pid in _processes_in_group(build.pid):
            os.kill(pid, signal.SIGKILL)


def test_records_bin_is_written_while_the_pages_are_made(big_site: Path, tmp_path: Path) -> None:
    """A build that parsed every record afresh writes records.bin, under a staged name, in
    a process of its own while it makes the model and pages: stopped at its first page,
    the build has the file written already, and moves it into place once let go. A Ctrl-C
    at the same point waits for that process and leaves no staged file; the next build
    gives the output of a clean build."""
    cache = big_site / ".masthead-cache"
    staged, records = cache / "records.bin.next", cache / "records.bin"
    command = [MASTHEAD, "build", "--site", str(big_site), "--no-search"]
    assert _masthead(big_site, "--no-search", kill="render:0", sig="INT") == 130
    assert not staged.exists() and not records.exists()
    build = subprocess.Popen(command, env=_env("render:0", "STOP"), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (_stopped(build.pid) and staged.exists()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _stopped(build.pid) and staged.exists() and not records.exists()
    finally:
        build.send_signal(signal.SIGCONT)
    assert build.wait(timeout=120) == 0
    assert records.exists() and not staged.exists()
    clean = tmp_path / "clean"
    shutil.copytree(big_site / "content", clean / "content")
    assert _masthead(clean, "--no-search", "--no-cache") == 0
    assert tree(big_site / "public") == tree(clean / "public")


def test_a_second_build_into_the_same_output_waits_for_the_first(
    tmp_path: Path, clean: dict[int, dict[str, bytes | None]]
) -> None:
    """The first stops half-way through staging its pages (SIGSTOP); the second must
    not touch the output meanwhile, and both then end well."""
    site = tmp_path / "site"
    _write_site(site, 2)
    command = [MASTHEAD, "build", "--site", str(site), "--no-cache"]
    first = subprocess.Popen(
        command, env=_env("render:5", "STOP"), stderr=subprocess.PIPE, text=True
    )
    second = None
    try:
        deadline = time.monotonic() + 60
        while Path(f"/proc/{first.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
            assert time.monotonic() < deadline and first.poll() is None, "never stopped"
            time.sleep(0.05)
        second = subprocess.Popen(command, env=_env(), stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        assert second.poll() is None, "the second build did not wait"
        os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=60) == 0
        assert second.wait(timeout=60) == 0
        errors = first.stderr.read() + second.stderr.read()  # type: ignore[union-attr]
        assert "Traceback" not in errors
        assert "another build is writing this folder" in errors
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert tree(site / "public") == clean[2]
