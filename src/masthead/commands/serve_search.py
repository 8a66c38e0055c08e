"""The preview's search index, made again in the background after each rebuild.

The preview's builds carry the last index over (`BuildOptions.defer_search`), so a save
reloads the page without waiting for Pagefind. After a build, `BackgroundIndex.start()`
runs `python -m masthead.commands.serve_search OUTPUT PID [CACHE]`: a process of its own
that holds the output lock (a `masthead build` into the same folder waits for it), keeps
every file but the old bundle, makes the bundle again and commits it through the writer
(staging, journal, manifest), then prints the new manifest as one line of JSON. The
preview sends it the stories (`Builder.search_input`) on its standard input, each with
its document only if it changed since the last index that landed; it then makes again
only the shards that changed (search_shards), as `masthead build` does. Without them
(a site with its own article template) or when the last index is not at hand, it runs
Pagefind over the committed pages (search.reindex). A newer rebuild first stops it
(`settle()`): SIGTERM kills the process and its Pagefind at once, leaving only work
folders the next writer removes, unless the commit is under way, which then ends first.
So no half-written bundle is ever live, and the manifest always lists what is on disk.
The process stops the same way when the preview (process PID) is gone without stopping
it: killed, not Ctrl-C'd.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from masthead.diagnostics import MastheadError
from masthead.outputs.search import BUNDLE, SearchError, find_pagefind, reindex
from masthead.outputs.search_records import SearchDoc, SearchInput
from masthead.outputs.search_shards import update_shards
from masthead.outputs.writer import MANIFEST, OutputWriter, output_lock
from masthead.records.loader import Stamp, stamp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Landed:
    """A new index is live: the manifest digest it started from, the manifest it
    committed with the file's stamp, and how long it took."""

    before: str
    after: dict[str, str]
    manifest: Stamp | None
    seconds: float


@dataclass(frozen=True, slots=True)
class Failed:
    message: str


Outcome = Landed | Failed | None
"""What one run came to; None: stopped by a newer rebuild, or nothing to index."""


@dataclass
class _Job:
    process: subprocess.Popen[str]
    started: float
    stories: str | None
    """What the process is sent: the stories as JSON (_stories_message)."""
    keys: dict[str, str]
    """Each story's key in what was sent: what the index has, once it lands."""
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome = None


class BackgroundIndex:
    """At most one indexing process for one output folder. The preview calls `start`,
    `settle` and `collect` under one lock; `ready` is called from a waiting thread when a
    run ended by itself, and takes that lock to `collect` what it came to."""

    def __init__(self, output_dir: Path, ready: Callable[[], None]) -> None:
        self.output_dir = output_dir
        self.ready = ready
        self._job: _Job | None = None
        self._indexed: dict[str, str] = {}
        """Story URL -> key of its document in the last index that landed."""

    def start(
        self, stories: SearchInput | None = None, language: str = "", cache: Path | None = None
    ) -> None:
        """Index the output as it is now committed (stopping any run still going): from
        `stories` in `language`, by shard, with the build cache `cache`; without them,
        from the pages."""
        self.settle()
        pid = str(os.getpid())  # the process ends when this one is gone
        command = [
            sys.executable,
            "-m",
            "masthead.commands.serve_search",
            str(self.output_dir),
            pid,
        ]
        message, keys = None, {}
        if stories is not None:
            # Without a build cache, no shard's documents are kept: send every story's.
            indexed = self._indexed if cache is not None else {}
            message, keys = _stories_message(stories, language, indexed)
            command.append(str(cache) if cache is not None else "")
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if message is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # Ctrl-C is the preview's; SIGTERM kills the group
            )
        except OSError as exc:
            log.warning("search index not updated: cannot start Python (%s)", exc)
            return
        job = self._job = _Job(process, time.perf_counter(), message, keys)
        threading.Thread(
            target=self._wait, args=(job,), name="masthead-search", daemon=True
        ).start()

    def settle(self) -> Outcome:
        """Stop the run still going, if any, and return what the last run came to, once:
        a run that committed before it could be stopped counts as landed."""
        job = self._job
        if job is None:
            return None
        if job.process.poll() is None:
            job.process.terminate()
        job.done.wait()
        return self._take(job)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run to end by itself (nothing is stopped); whether none is
        left running. Its files are then on disk; the preview lands it as ever."""
        job = self._job
        return job is None or job.done.wait(timeout)

    def collect(self) -> Outcome:
        """What the current run came to, once it has ended by itself; None meanwhile."""
        job = self._job
        return self._take(job) if job is not None and job.done.is_set() else None

    def _take(self, job: _Job) -> Outcome:
        self._job = None  # each run's outcome is taken once
        if isinstance(job.outcome, Landed):
            self._indexed = job.keys
        return job.outcome

    def _wait(self, job: _Job) -> None:
        try:
            out, err = job.process.communicate(job.stories)
            seconds = time.perf_counter() - job.started
            job.outcome = _outcome(job.process.returncode, out, err, seconds)
        except Exception as exc:  # never leave settle() waiting
            job.outcome = Failed(f"unreadable answer from the indexing process: {exc!r}")
        finally:
            job.done.set()
        code = job.process.returncode
        if code is None or code >= 0:  # not stopped by settle()
            self.ready()


def _outcome(code: int, out: str, err: str, seconds: float) -> Outcome:
    if code == 0:
        lines = out.strip().splitlines()
        if not lines:
            return None  # no manifest to go by: nothing was written
        data = json.loads(lines[-1])
        manifest = tuple(data["manifest"]) if data["manifest"] else None
        return Landed(data["before"], data["after"], manifest, seconds)  # type: ignore[arg-type]
    if code < 0:
        return None  # stopped by a newer rebuild
    lines = [line.removeprefix("error: ") for line in err.splitlines() if line.strip()]
    return Failed(lines[-1] if lines else f"the indexing process ended with exit {code}")


def _stories_message(
    stories: SearchInput, language: str, indexed: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """The stories as the indexing process reads them, each story's document only if its
    key is not the one `indexed` (the last index that landed) has; and the keys sent."""
    docs, unchanged, keys = [], list(stories.unplanned), {}
    for doc in stories.docs:
        keys[doc.url] = doc.key
        if doc.key and indexed.get(doc.url) == doc.key:
            unchanged.append(doc.url)
        else:
            docs.append([doc.url, doc.year, doc.month, doc.time, doc.key, doc.document])
    message = {"language": language, "docs": docs, "unchanged": unchanged}
    return json.dumps(message, separators=(",", ":")), keys


def _read_stories(text: str) -> tuple[str, SearchInput]:
    """What _stories_message wrote: the language, and the stories to index."""
    message = json.loads(text)
    docs = [SearchDoc.given(*doc) for doc in message["docs"]]  # as sent
    return message["language"], SearchInput(docs, message["unchanged"])


# The indexing process -------------------------------------------------------------

_committing = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    """Stop at once, Pagefind too (it is in this process group), unless the commit is
    under way: that ends first, so that the output is left whole."""
    if not _committing:
        os.killpg(0, signal.SIGKILL)


def _end_with_parent(parent: int) -> None:
    """Stop as on SIGTERM once the preview that started this process is gone: killed (by
    SIGTERM or SIGKILL) it could not stop it, and an orphan would run Pagefind and hold
    the output lock for nothing. (A process whose parent dies gets another parent.)"""
    while os.getppid() == parent:
        time.sleep(0.2)
    _on_term(signal.SIGTERM, None)


def index_output(
    root: Path, stories: tuple[str, SearchInput] | None = None, cache: Path | None = None
) -> dict[str, object] | None:
    """Index `root` again and commit the new bundle: from `stories` (language, stories)
    by shard, with the build cache `cache`, when the last index is at hand; else from the
    pages committed. The manifest before (digest) and after, or None when there is no
    whole output to index."""
    global _committing
    if not root.is_dir():  # never make the folder (the site may have been deleted)
        return None
    with output_lock(root):
        writer = OutputWriter(root)
        if writer.previous is None or writer.untrusted:
            return None  # the next build writes it whole first
        before = OutputWriter.digest_of(writer.previous)
        for rel in writer.previous:
            if not rel.startswith(BUNDLE + "/"):
                writer.keep(rel)
        try:
            _index(writer, stories, cache)
        except BaseException:
            writer.abort()
            raise
        _committing = True
        writer.commit()
        manifest = stamp(root / MANIFEST) if (root / MANIFEST).is_file() else None
        return {"before": before, "after": writer.current, "manifest": manifest}


def _index(
    writer: OutputWriter, stories: tuple[str, SearchInput] | None, cache: Path | None
) -> None:
    binary = find_pagefind()
    if stories is not None and binary is not None:
        language, found = stories
        if update_shards(binary, language, found, writer, cache) is not None:
            return
        log.info("search: the last index is not at hand; indexing the pages as built")
    reindex(writer)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _on_term)
    if len(args) > 1:
        parent = int(args[1])
        threading.Thread(target=_end_with_parent, args=(parent,), daemon=True).start()
    with contextlib.suppress(OSError):
        os.nice(10)  # Pagefind too: the preview's rebuilds and requests come first
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.WARNING)
    try:
        stories = _read_stories(sys.stdin.read()) if len(args) > 2 else None
        cache = Path(args[2]) if len(args) > 2 and args[2] else None
        result = index_output(Path(args[0]), stories, cache)
    except SearchError as exc:
        print(f"error: {exc.why}", file=sys.stderr)  # not the build's advice (--no-search)
        return 1
    except MastheadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if result is not None:
        print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
