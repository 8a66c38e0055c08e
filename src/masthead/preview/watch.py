"""Watching a site: a pure classify() of changed paths, and a debounced watchdog loop."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from masthead.config import CONFIG_FILE
from masthead.records.loader import RECORD_SUFFIXES

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.02
"""Quiet time after the last event before a rebuild: a burst of saves becomes one build."""
MAX_DELAY_SECONDS = 0.5
"""A steady stream of events still gets a rebuild this often."""
POLL_SECONDS = 1.0
"""How often the site folder is checked while no event comes: moving it away sends none."""

_EDITOR_DEBRIS = (".swp", ".swx", ".swo", ".tmp", ".kate-swp", "~")


class ChangeKind(enum.Enum):
    CONTENT = "content"
    TEMPLATE = "template"
    STATIC = "static"
    DATA = "data"
    CONFIG = "config"


@dataclass(frozen=True, slots=True)
class SiteLayout:
    """The folders and files of a site that a rebuild depends on."""

    site_dir: Path
    content_dir: Path
    extra_template_dirs: tuple[Path, ...] = ()

    @property
    def folders(self) -> dict[Path, ChangeKind]:
        folders = {
            self.content_dir: ChangeKind.CONTENT,
            self.site_dir / "templates": ChangeKind.TEMPLATE,
            self.site_dir / "static": ChangeKind.STATIC,
            self.site_dir / "data": ChangeKind.DATA,
        }
        folders.update(dict.fromkeys(self.extra_template_dirs, ChangeKind.TEMPLATE))
        return {p.resolve(): kind for p, kind in folders.items()}


def classify(path: Path, layout: SiteLayout) -> ChangeKind | None:
    """What a change at `path` touches, or None for files no build reads (editor debris)."""
    name = path.name
    if name.startswith((".", "#")) or name.endswith(_EDITOR_DEBRIS) or name == "4913":
        return None  # dotfiles, Emacs/Vim swap and backup files, Vim's write probe
    path = path.resolve() if path.is_absolute() else (layout.site_dir / path).resolve()
    if path == (layout.site_dir / CONFIG_FILE).resolve():
        return ChangeKind.CONFIG
    for folder, kind in layout.folders.items():
        if path == folder or path.is_relative_to(folder):
            if kind is ChangeKind.CONTENT and path.suffix and path.suffix not in RECORD_SUFFIXES:
                return None  # an image or note beside the records
            return kind
    return None


class Watcher:
    """Calls `on_change(paths)` after a burst of relevant file events has settled."""

    def __init__(
        self,
        layout: SiteLayout,
        on_change: Callable[[set[Path]], None],
        still_there: Callable[[], bool] = lambda: True,
    ) -> None:
        """`still_there` says whether the site folder is still the one watched; once it
        says no, the watcher stops and never calls `on_change` again."""
        self.layout = layout
        self.on_change = on_change
        self.still_there = still_there
        self._pending: set[Path] = set()
        self._events = 0
        self._lock = threading.Condition()
        self._stopped = False
        # Made in start(): watchdog's inotify observer starts a reader thread as soon as it
        # exists, and a process with a second thread builds without forking workers
        # (parallel.can_fork): the preview's first build, before start(), would lose them.
        self._observer: BaseObserver | None = None
        self._thread = threading.Thread(target=self._loop, name="masthead-rebuild", daemon=True)
        self._handler = _Handler(self)
        self._watched: set[Path] = set()

    def start(self) -> None:
        self._observer = Observer()
        self._watch_new_folders()
        # The site folder itself, not recursively: site.toml, and folders created later.
        self._observer.schedule(self._handler, str(self.layout.site_dir.resolve()), recursive=False)
        self._observer.start()
        self._thread.start()

    def _watch_new_folders(self) -> None:
        """Watch each layout folder that exists, including one created since the start."""
        assert self._observer is not None, "start() first"
        for folder in self.layout.folders:
            if folder not in self._watched and folder.is_dir():
                self._observer.schedule(self._handler, str(folder), recursive=True)
                self._watched.add(folder)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        if self._observer is not None:
            self._observer.stop()  # also ends its reader thread when it never started
            if self._observer.is_alive():
                self._observer.join(timeout=5)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def add(self, paths: Iterable[str]) -> None:
        if not self._check():
            return
        relevant = {Path(p) for p in paths if p and classify(Path(p), self.layout) is not None}
        if not relevant:
            return
        with self._lock:
            self._pending |= relevant
            self._events += 1
            self._lock.notify_all()

    def _check(self) -> bool:
        """False, and the loop told to end, once the site folder is gone."""
        if self._stopped:
            return False
        if self.still_there():
            return True
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        return False

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if not self._check() or not batch:
                continue  # gone (the next round ends the loop), or only a periodic check
            self._watch_new_folders()
            try:
                self.on_change(batch)
            except Exception:  # the watcher must outlive any one failed rebuild
                log.exception("rebuild failed")

    def _next_batch(self) -> set[Path] | None:
        """The next settled burst of paths; empty after POLL_SECONDS of quiet; None once
        stopped."""
        with self._lock:
            self._lock.wait_for(lambda: self._pending or self._stopped, POLL_SECONDS)
            if self._stopped:
                return None
            started, seen = time.monotonic(), -1
            # Debounce: wait until no event came for DEBOUNCE_SECONDS (saves of one
            # file count too), but no longer than MAX_DELAY_SECONDS in all.
            while self._pending and seen != self._events and not self._stopped:
                if time.monotonic() - started >= MAX_DELAY_SECONDS:
                    break
                seen = self._events
                self._lock.wait(DEBOUNCE_SECONDS)
            batch, self._pending = self._pending, set()
            return batch


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's listing changed: the events of the files in it say how
        self.watcher.add([str(event.src_path), str(getattr(event, "dest_path", "") or "")])
