"""The preview's search index, made again in the background after each rebuild
(serve_search): the newest rebuild's index wins, and the output folder stays one that
the writer's manifest describes, for the preview and for the next `masthead build`."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import logging
import os
import signal
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from masthead.building.build import BuildOptions
from masthead.commands.serve import Preview, ServeOptions
from masthead.outputs.search import find_pagefind
from masthead.outputs.writer import MANIFEST
from tests.conftest import Scratch, masthead
from tests.test_live_reload import Serve

OLD_TITLE = "Walrus spotted near the pier"
NEW_TITLE = "Narwhal spotted near the pier"
STORY = "2026-11-18-pier.md"
URL = "https://news.example/pier"
"""The story's address: the same before and after the edit, so that it stays one story."""


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    scratch.config('title = "Preview search"\n')
    scratch.add(STORY, title=OLD_TITLE, url=URL)
    scratch.add("2026-11-17-tide.md", title="Tide gauge replaced", when="2026-11-17T08:00:00Z")
    return scratch


@pytest.fixture
def preview(site: Scratch) -> Iterator[Preview]:
    """A preview of `site` whose rebuilds the test calls itself (no watcher, no HTTP)."""
    preview = Preview(ServeOptions(BuildOptions(site_dir=site.root), port=0))
    yield preview
    preview.stop()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _landings(capsys: pytest.CaptureFixture[str], seen: list[str]) -> int:
    seen.append(capsys.readouterr().out)
    return "".join(seen).count("Search index updated")


def _indexed_titles(output: Path) -> set[str]:
    """The titles of the pages in the search bundle (its fragments are gzipped JSON)."""
    titles = set()
    for fragment in (output / "pagefind").rglob("fragment/*.pf_fragment"):
        data = gzip.decompress(fragment.read_bytes())
        titles.add(json.loads(data[data.index(b"{") :])["meta"]["title"])
    return titles


def _on_disk(output: Path) -> dict[str, str]:
    return {
        p.relative_to(output).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in output.rglob("*")
        if p.is_file() and not p.name.startswith(".masthead")
    }


def _assert_consistent(output: Path) -> None:
    """The manifest lists exactly the files there, with their bytes; no work folder left."""
    manifest = json.loads((output / MANIFEST).read_text())["files"]
    assert manifest == _on_disk(output)
    assert sorted(p.name for p in output.iterdir() if p.name.startswith(".")) == [MANIFEST]


def _pagefind_behind(folder: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Put a shell script in front of Pagefind, `script` with `{real}` for Pagefind."""
    real = find_pagefind()
    assert real is not None
    fake = folder / "wrapped-pagefind"
    fake.write_text("#!/bin/sh\n" + script.replace("{real}", str(real)))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))


def _stuck_pagefind(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make Pagefind's first run hang for a minute (later ones run at once); return the
    file where that run writes its process id and its parent's, the indexer's."""
    pids, once = folder / "pids", folder / "once"
    _pagefind_behind(
        folder,
        monkeypatch,
        f'if mkdir "{once}" 2>/dev/null; then echo $$ $PPID > "{pids}"; sleep 60; fi\n'
        'exec "{real}" "$@"\n',
    )
    return pids


def _stuck(pids: Path) -> list[int]:
    """The stuck Pagefind and its indexer, once it runs."""
    _wait(lambda: pids.is_file() and len(pids.read_text().split()) == 2, "Pagefind to run")
    return [int(pid) for pid in pids.read_text().split()]


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat_file = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat_file.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def test_a_newer_rebuild_supersedes_the_index_being_made(
    site: Scratch,
    preview: Preview,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pids = _stuck_pagefind(tmp_path, monkeypatch)
    seen: list[str] = []
    preview.rebuild(set())  # the first build; its index is under way, and stuck
    stuck = _stuck(pids)
    path = site.add(STORY, title=NEW_TITLE, url=URL)
    started = time.monotonic()
    preview.rebuild({path})
    assert time.monotonic() - started < 30, "the rebuild waited for the index"
    assert "Narwhal" in (site.output / "news/2026/11/18/pier/index.html").read_text()
    _wait(lambda: _landings(capsys, seen) >= 1, "the search index")
    assert not any(_alive(pid) for pid in stuck), "the first run should have been stopped"
    assert _landings(capsys, seen) == 1
    assert NEW_TITLE in _indexed_titles(site.output)
    assert OLD_TITLE not in _indexed_titles(site.output)
    _assert_consistent(site.output)


def test_after_the_preview_indexed_the_output_is_whole_for_the_next_build(
    site: Scratch, preview: Preview, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []
    preview.rebuild(set())
    _wait(lambda: _landings(capsys, seen) >= 1, "the search index")
    _assert_consistent(site.output)
    assert OLD_TITLE in _indexed_titles(site.output)
    # The builder took the new manifest as its own: a title edit keeps the fast path,
    # which patches the model without scanning the site, and carries the index over.
    preview.rebuild({site.add(STORY, title=NEW_TITLE, url=URL)})
    report = preview.last_report
    assert report is not None and not report.failed and "scan" not in report.timings
    assert not any(p.startswith("pagefind/") for p in report.written_paths)
    _wait(lambda: _landings(capsys, seen) >= 2, "the second search index")
    preview.stop()
    _assert_consistent(site.output)
    done = masthead("build", cwd=site.root)
    assert done.returncode == 0, done.stderr
    assert "stopped while it replaced" not in done.stderr and "WARNING" not in done.stderr
    _assert_consistent(site.output)
    assert NEW_TITLE in _indexed_titles(site.output)


def test_a_save_during_the_first_build_is_built_once_the_watcher_runs(
    site: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher starts after the preview's first build (which forks its workers only
    while no thread runs): a record saved during that build, which no watcher saw, is
    built as soon as one runs, not at the next change."""
    from masthead.building import phases

    real = phases.load

    def load_then_save(*args: Any) -> Any:
        loaded = real(*args)
        if not saved:  # after the first build read the records
            saved.append(site.add(STORY, title=NEW_TITLE, url=URL))
        return loaded

    saved: list[Path] = []
    monkeypatch.setattr(phases, "load", load_then_save)
    preview = Preview(ServeOptions(BuildOptions(site_dir=site.root, search=False), port=0))
    try:
        preview.start()
        page = (site.output / "news/2026/11/18/pier/index.html").read_text()
        assert saved and NEW_TITLE in page and OLD_TITLE not in page
        # Nothing saved since: a start without a save builds once, its index not stopped.
        assert preview.builder.inputs_unchanged()
    finally:
        preview.stop()


def _logged_pagefind(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pagefind, with what its indexing service is sent copied to a file; return it."""
    log = folder / "sent"
    _pagefind_behind(
        folder,
        monkeypatch,
        f'if [ "$1" = --service ]; then tee -a "{log}" | "{{real}}" "$@"; '
        'else exec "{real}" "$@"; fi\n',
    )
    return log


def _pages_sent(log: Path) -> list[str]:
    """The URLs of the documents the service was given, as pages or records (its
    messages: base64 JSON, each ended by a comma), emptying the log."""
    messages = [json.loads(base64.b64decode(m)) for m in log.read_bytes().split(b",") if m]
    log.write_bytes(b"")
    added = ("AddFile", "AddRecord")
    return [m["payload"]["url"] for m in messages if m["payload"]["type"] in added]


def test_an_edit_indexes_only_its_story_s_shard_again(
    site: Scratch, preview: Preview, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The preview's background index is made by shard, as `masthead build` makes it: a
    story edited in November 2026 indexes 2026's stories again, not 2025's."""
    site.add("2025-06-01-wall.md", title="Harbour wall rebuilt", when="2025-06-01T08:00:00Z")
    log = _logged_pagefind(tmp_path, monkeypatch)
    seen: list[str] = []
    preview.rebuild(set())
    _wait(lambda: _landings(capsys, seen) >= 1, "the first search index")
    assert len(_pages_sent(log)) == 3
    preview.rebuild({site.add(STORY, title=NEW_TITLE, url=URL)})
    _wait(lambda: _landings(capsys, seen) >= 2, "the search index after the edit")
    assert sorted(_pages_sent(log)) == ["/news/2026/11/17/tide/", "/news/2026/11/18/pier/"]
    titles = _indexed_titles(site.output)
    assert {NEW_TITLE, "Harbour wall rebuilt"} <= titles and OLD_TITLE not in titles
    _assert_consistent(site.output)
    # What the preview made is what `masthead build` makes of the same site.
    preview.stop()
    bundle = {k: v for k, v in _on_disk(site.output).items() if k.startswith("pagefind/")}
    clean = masthead("build", "--no-cache", "--output", str(tmp_path / "clean"), cwd=site.root)
    assert clean.returncode == 0, clean.stderr
    assert bundle == {
        k: v for k, v in _on_disk(tmp_path / "clean").items() if k.startswith("pagefind/")
    }


def test_waiting_for_the_index_finds_it_on_disk(site: Scratch, preview: Preview) -> None:
    """`wait()` returns once the run in the background has committed, without stopping
    it: the new title is in the bundle then, and the output is whole."""
    preview.rebuild(set())
    assert preview.search.wait(60)
    assert OLD_TITLE in _indexed_titles(site.output)
    preview.rebuild({site.add(STORY, title=NEW_TITLE, url=URL)})
    assert preview.search.wait(60)
    titles = _indexed_titles(site.output)
    assert NEW_TITLE in titles and OLD_TITLE not in titles
    _assert_consistent(site.output)


def test_a_failing_pagefind_is_a_warning_and_the_preview_goes_on(
    site: Scratch, preview: Preview, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    fake = tmp_path / "broken-pagefind"
    fake.write_text("#!/bin/sh\necho 'index exploded' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    with caplog.at_level(logging.WARNING):
        preview.rebuild(set())
        _wait(lambda: "search index not updated" in caplog.text, "the warning")
    assert "search index not updated: Pagefind failed (exit 3): index exploded;" in caplog.text
    assert "--no-search" not in caplog.text  # the build's advice, not an option of serve
    assert "the preview goes on" in caplog.text
    assert preview.last_report is not None and not preview.last_report.failed
    preview.rebuild({site.add(STORY, title=NEW_TITLE, url=URL)})  # and rebuilds as before
    assert "Narwhal" in (site.output / "news/2026/11/18/pier/index.html").read_text()
    _assert_consistent(site.output)


def test_without_pagefind_the_preview_says_search_is_off_once(
    site: Scratch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", os.fspath(site.root / "no-such-pagefind"))
    with caplog.at_level(logging.WARNING):
        preview = Preview(ServeOptions(BuildOptions(site_dir=site.root), port=0))
        try:
            preview.rebuild(set())
            (site.root / "site.toml").write_text('title = "Renamed"\n')  # a full rebuild
            preview.rebuild({site.root / "site.toml"})
        finally:
            preview.stop()
    assert caplog.text.count("search is off") == 1
    assert not (site.output / "pagefind").exists() and not (site.output / "search").exists()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_preview_leaves_no_indexing_process_behind(
    site: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: signal.Signals
) -> None:
    """`masthead serve` killed while its indexer runs Pagefind: the indexer and its
    Pagefind end too, rather than hold the output lock meanwhile. SIGTERM stops the
    preview as Ctrl-C does; SIGKILL leaves no cleanup to it."""
    pids = _stuck_pagefind(tmp_path, monkeypatch)
    served = Serve(site.root, inside=True)
    stuck: list[int] = []
    try:
        stuck = _stuck(pids)
        served.proc.send_signal(how)
        code, _ = served.finish()
        if how == signal.SIGTERM:  # stopped as by Ctrl-C: its indexer stopped, cache saved
            assert code == 0
        _wait(lambda: not any(_alive(pid) for pid in stuck), "the indexer to end", 10)
    finally:
        for pid in stuck:  # only when the test failed: not left running for a minute
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
