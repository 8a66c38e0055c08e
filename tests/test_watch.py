"""Watching: classify() as a table, and the real watchdog loop on a scratch site."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from masthead.preview.watch import ChangeKind, SiteLayout, Watcher, classify


@pytest.fixture
def layout(tmp_path: Path) -> SiteLayout:
    site = tmp_path / "site"
    for folder in ("content/2026", "templates", "static", "data/topics"):
        (site / folder).mkdir(parents=True)
    return SiteLayout(site, site / "content")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("content/2026-11-18-story.md", ChangeKind.CONTENT),
        ("content/2026/2026-11-18-story.markdown", ChangeKind.CONTENT),
        ("content/2026", ChangeKind.CONTENT),  # a folder moved or deleted
        ("content/photo.jpg", None),
        ("content/.2026-11-18-story.md.swp", None),
        ("content/2026-11-18-story.md~", None),
        ("content/#2026-11-18-story.md#", None),
        ("content/4913", None),
        ("templates/article.html", ChangeKind.TEMPLATE),
        ("static/assets/style.css", ChangeKind.STATIC),
        ("data/topics/climate.yaml", ChangeKind.DATA),
        ("site.toml", ChangeKind.CONFIG),
        ("public/index.html", None),
        (".masthead-cache/build-state.bin", None),
        ("README.md", None),
    ],
)
def test_classify(layout: SiteLayout, path: str, kind: ChangeKind | None) -> None:
    assert classify(layout.site_dir / path, layout) == kind


class Calls:
    def __init__(self) -> None:
        self.batches: list[set[Path]] = []
        self.event = threading.Event()

    def __call__(self, paths: set[Path]) -> None:
        self.batches.append({p.resolve() for p in paths})
        self.event.set()

    def wait(self, timeout: float = 10) -> set[Path]:
        assert self.event.wait(timeout), "no rebuild was asked for"
        time.sleep(0.3)  # anything that follows would be a second batch
        self.event.clear()
        return set().union(*self.batches)


@pytest.fixture
def watched(layout: SiteLayout):
    calls = Calls()
    watcher = Watcher(layout, calls)
    watcher.start()
    time.sleep(0.2)
    yield layout, calls
    watcher.stop()


def test_atomic_save_reports_only_the_record(watched) -> None:
    layout, calls = watched
    record = layout.content_dir / "2026-11-18-story.md"
    tmp = layout.content_dir / ".2026-11-18-story.md.tmp"
    tmp.write_text("---\ntitle: x\n---\n")
    os.replace(tmp, record)
    # No folder paths: those would make the preview rebuild everything.
    assert calls.wait() == {record.resolve()}


def test_burst_of_saves_is_one_rebuild(watched) -> None:
    layout, calls = watched
    record = layout.content_dir / "2026-11-18-story.md"
    for n in range(5):
        record.write_text(f"---\ntitle: save {n}\n---\n")
        time.sleep(0.005)
    assert calls.wait() == {record.resolve()}
    assert len(calls.batches) == 1


def test_folder_moves_and_new_folders_are_seen(watched) -> None:
    layout, calls = watched
    (layout.content_dir / "2026").rename(layout.content_dir / "archive")
    assert (layout.content_dir / "archive").resolve() in calls.wait()
    new = layout.content_dir / "archive" / "2026-11-19-later.md"
    new.write_text("---\ntitle: later\n---\n")
    assert new.resolve() in calls.wait()


def test_editor_debris_asks_for_nothing(watched) -> None:
    layout, calls = watched
    (layout.content_dir / ".story.md.swp").write_text("x")
    (layout.content_dir / "4913").write_text("x")
    assert not calls.event.wait(0.5)


def _threads_settle_to(
    expected: set[threading.Thread], timeout: float = 5
) -> set[threading.Thread]:
    """The threads alive once those beyond `expected` have had `timeout` s to end."""
    deadline = time.monotonic() + timeout
    while set(threading.enumerate()) - expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return set(threading.enumerate())


def test_a_watcher_runs_no_thread_before_start_nor_after_stop(layout: SiteLayout) -> None:
    """The preview builds before it starts watching, and a build forks its workers only
    in a single-threaded process (parallel.can_fork): a made watcher must not add a
    thread, and a stopped one, started or not, must leave none behind."""
    before = set(threading.enumerate())
    unstarted = Watcher(layout, Calls())
    assert set(threading.enumerate()) == before
    unstarted.stop()
    started = Watcher(layout, Calls())
    started.start()
    assert set(threading.enumerate()) > before
    started.stop()
    assert _threads_settle_to(before) == before
