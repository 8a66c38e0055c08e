"""`masthead serve`: build, serve the output, rebuild on change and tell the browser."""

from __future__ import annotations

import logging
import os
import sys
import threading
import webbrowser
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from masthead.building.build import Builder, BuildOptions, BuildReport, Mode, resolve_inputs
from masthead.commands.serve_search import BackgroundIndex, Failed, Landed, Outcome
from masthead.diagnostics import MastheadError, shown_path
from masthead.outputs.render import theme_dir
from masthead.outputs.search import find_pagefind
from masthead.preview.server import Change, DevServer, warn_if_public
from masthead.preview.watch import SiteLayout, Watcher
from masthead.urls import url_for_output

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    build: BuildOptions
    host: str = "127.0.0.1"
    port: int = 8000
    open_browser: bool = False
    around_build: Callable[[], AbstractContextManager[object]] = nullcontext
    """What each rebuild runs inside: the command line keeps the cyclic garbage collector
    off there (cli.collector_paused), an interpreter-wide switch a program embedding the
    preview may not want flipped. With it on, the collector walks the model kept in
    memory again and again while a build allocates: at 10,000 records a first build took
    17.4 s rather than 8.6, and a story added 2.8 s rather than 2.3."""


class Preview:
    """The running preview: one Builder, one DevServer, one Watcher."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        inputs = resolve_inputs(options.build)  # says "search is off" once, if it is
        search = options.build.search and find_pagefind() is not None
        self.builder = Builder(replace(options.build, mode=Mode.PREVIEW, search=search))
        try:
            self.server = DevServer(
                inputs.output_dir, options.host, options.port, inputs.config.base_path
            )
        except OSError as exc:
            raise MastheadError(
                f"cannot serve on {options.host} port {options.port}: {exc.strerror or exc} "
                "(is another preview running? --port chooses another port, --port 0 any free one)"
            ) from None
        self.site_dir = inputs.site_dir
        self._identity = _identity(inputs.site_dir)
        self.gone = threading.Event()
        """Set once the site folder was deleted or moved away: serve() then stops."""
        layout = SiteLayout(inputs.site_dir, inputs.content_dir, (theme_dir(),))
        self.watcher = Watcher(layout, self.rebuild, self.still_there)
        self.last_report: BuildReport | None = None
        self._shown: set[str] = set()
        self._lock = threading.RLock()
        """Held by each rebuild and by the landing of a search index: one at a time."""
        self.search = BackgroundIndex(inputs.output_dir, self._search_ready)
        self._search_stale = True
        """The pages changed since the search index was last made (or it never was)."""
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="masthead-http", daemon=True
        )

    def start(self) -> None:
        self.rebuild(set())
        self._thread.start()
        self.watcher.start()
        if not self.builder.inputs_unchanged():  # saved during the first build
            self.rebuild(set())

    def stop(self) -> None:
        """Stop whatever start() got to: watcher, search index, event streams, HTTP thread,
        socket."""
        self.watcher.stop()
        with self._lock:
            self._land(self.search.settle())
        if self.still_there():  # saving into a deleted folder would re-create it
            self.builder.save_cache()
        self.server.close_clients()
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()

    def still_there(self) -> bool:
        """Whether the site folder is still the one the preview started in (same device
        and inode): a build into a deleted or moved-away folder would re-create its path."""
        if not self.gone.is_set() and _identity(self.site_dir) != self._identity:
            self.gone.set()
        return not self.gone.is_set()

    def rebuild(self, paths: set[Path]) -> None:
        """Build (a search index still being made is stopped first), tell open pages what
        changed, then make the search index again in the background."""
        with self._lock:
            self._land(self.search.settle())
            self._rebuild(paths)
            config = self.builder.inputs.config if self.builder.inputs else None
            if self._search_stale and config is not None and config.search and self.still_there():
                cache = self.builder.inputs.cache_dir if self.builder.options.use_cache else None
                self.search.start(self.builder.search_input(), config.language, cache)

    def _rebuild(self, paths: set[Path]) -> None:
        with self.server.building():
            if not self.still_there():
                return
            try:
                with self.options.around_build():
                    report = self.builder.build(paths or None)
            except MastheadError as exc:
                self._report_failure(str(exc))
                return
            except Exception as exc:  # a bug must not take the preview down
                log.exception("build crashed")
                self._report_failure(f"masthead crashed while building: {exc!r}")
                return
            assert self.builder.inputs is not None
            self.server.root = self.builder.inputs.output_dir
            self.server.base_path = self.builder.inputs.config.base_path
        self.last_report = report
        messages = list(report.problem_lines())  # files named as `masthead build` names them
        for message in messages:
            if message not in self._shown:  # say each problem once, not on every rebuild
                print(message, file=sys.stderr, flush=True)
        self._shown = set(messages)
        # The overlay shows what `check` would fail on: errors (every one of a broken
        # record's), and strict warnings (a site path that leads nowhere).
        errors = [d.shown(report.files_root) for d in report.diagnostics if d.fails]
        base = self.server.base_path
        changed = [
            base + url_for_output(rel).lstrip("/")
            for rel in report.written_paths + report.removed_paths
        ]
        pages = [u for u in changed if not u.endswith(".css")]
        css = [u for u in changed if u.endswith(".css")]
        html = (*report.written_paths, *report.removed_paths)
        self._search_stale |= any(rel.endswith(".html") for rel in html)
        self.server.publish(Change(pages=pages, stylesheets=css, errors=errors))
        # The same line `masthead build` prints, after the first build and each rebuild.
        print(report.summary(), file=sys.stderr if report.failed else sys.stdout, flush=True)

    def _search_ready(self) -> None:
        """A search index run ended (called from its waiting thread)."""
        with self._lock:
            self._land(self.search.collect())

    def _land(self, outcome: Outcome) -> None:
        """Take in what an index run came to: the builder learns the new manifest, so the
        next edit keeps its fast path, and an open search page reloads."""
        if isinstance(outcome, Failed):
            self._search_stale = False  # tried again after the next change, not in a loop
            log.warning("search index not updated: %s; the preview goes on", outcome.message)
        if not isinstance(outcome, Landed):
            return
        self._search_stale = False
        self.builder.adopt_output(outcome.before, outcome.after, outcome.manifest)
        if self.builder.inputs is not None:
            url = self.server.base_path + self.builder.inputs.config.urls.search.lstrip("/")
            self.server.publish(Change(pages=[url], errors=self.server.errors))
        print(f"Search index updated ({outcome.seconds:.1f} s)", flush=True)

    def _report_failure(self, message: str) -> None:
        log.error("%s", message)
        self._shown = set()
        self.server.publish(Change(errors=[message]))


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def serve(options: ServeOptions) -> int:
    """Run the preview until Ctrl-C or until its site folder is gone; returns the exit
    code."""
    warn_if_public(options.host)
    preview = Preview(options)
    try:
        preview.start()
        url = preview.server.url
        print(f"Serving {shown_path(preview.server.root)} at {url} (Ctrl-C to stop)", flush=True)
        if options.open_browser:
            webbrowser.open(url)
        # Python runs signal handlers in the main thread only, between bytecodes: a wait
        # without a timeout sleeps through a Ctrl-C the kernel hands to another of the
        # preview's threads (seen in about one stop in four just after a rebuild).
        while not preview.gone.wait(0.2):
            pass
        print(
            f"error: the site folder {preview.site_dir} was deleted or moved away; "
            "stopping (start masthead serve again where the site now is)",
            file=sys.stderr,
            flush=True,
        )
        return 1
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
    finally:
        preview.stop()
    return 0
