"""The render phase: render the pages whose fingerprint changed, carry the others over.

Pages are fingerprinted (fingerprint.py) and rendered in worker processes, a chunk of
neighbouring pages at a time; what a worker returns is registered with the output
writer here, in plan order.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from masthead.building.context import Run
from masthead.building.fingerprint import (
    TemplateDigests,
    config_digest,
    page_fingerprint,
    records_in,
)
from masthead.building.phases import Plan, make_environment
from masthead.building.state import BuildState
from masthead.killpoint import kill_point
from masthead.outputs.memo import Memos
from masthead.outputs.newsletter import is_web_page
from masthead.outputs.plan import PageSpec
from masthead.outputs.render import build_memos, render_output, set_images, set_missing_paths
from masthead.parallel import default_jobs, run_chunks
from masthead.urls import output_path

RENDER_MIN_PER_JOB = 300
"""Below this many pages per worker process, one process renders faster than a pool."""

_PageResult = tuple[str, str | None, bool, str | None, Sequence[str]]
"""A page as a worker left it: output path, digest of what it staged (None: the file
is unchanged and stays), whether it staged it, fingerprint, records it shows."""


@dataclass(slots=True)
class _Pages:
    """What rendering the pages of one build needs, in this process and in its workers."""

    run: Run
    env: jinja2.Environment
    digests: TemplateDigests
    base: str
    """Digest of what every page shows: config, asset names, site paths leading nowhere."""
    remember: bool
    """Page fingerprints are kept (a build whose state is neither saved nor kept has no
    use for them)."""
    index: dict[str, list[str]] | None
    """Record path -> outputs showing it, made anew (None: the last build's stands)."""
    shown: dict[str, list[str]] | None
    """Output -> records it showed, by the last build's index (None: there was none),
    for making `index` anew:
    a page whose fingerprint did not change shows the records it showed (each reached
    through an Article, whose digest holds its path), which need not be looked for."""
    memos: Memos
    """What this build makes once of each story (feed entries, API items, cards)."""


def render(run: Run, plan: Plan, new: BuildState) -> None:
    """Render the pages whose fingerprint changed; carry the others over untouched.

    `plan.affected` (when only records changed, and kept their place) names the only
    outputs that can have changed; the others keep their fingerprint without it being
    computed again.
    """
    pages = _setup(run, plan)
    todo = _todo(run, plan, new)
    for names in dict.fromkeys(spec.templates for spec, _ in todo if spec.templates):
        _precompile(pages.env, names)  # once here, not once per forked worker
        if pages.remember:
            pages.digests.for_names(names)  # likewise; and what it looked up is saved
    rendered = _collect(pages, todo, new)
    pages.memos.close()  # let go of this build's stories
    state, report = run.state, run.report
    new.outputs_of = pages.index if pages.index is not None else state.outputs_of
    new.template_references = {**state.template_references, **pages.digests.references}
    report.rendered = rendered
    report.pages = sum(1 for s in plan.specs if is_web_page(output_path(s.url)))
    report.files = len(plan.specs)


def _setup(run: Run, plan: Plan) -> _Pages:
    memory, options, state = run.memory, run.options, run.state
    if plan.affected is not None and memory.env is not None:
        env, digests = memory.env  # only records changed: same config, templates, assets
    else:
        env = plan.env or make_environment(options, run.inputs, plan.assets)
        digests = TemplateDigests(env, state.template_references)
        if options.keep_model:
            memory.env = (env, digests)
    remember = options.use_cache or options.keep_model
    # Asset names are in every page (hashed stylesheet links): a new name re-renders all.
    # So does a site path that leads nowhere, or somewhere again (rare: only when fixed).
    # So do the terms' logos' copies (images.py); a record's images' copies are in the
    # fingerprints of the pages that show the record only (_Worker).
    base = config_digest(run.inputs.config) + plan.assets.digest + memory.site_paths.digest
    base += memory.images.digest
    set_missing_paths(env, memory.site_paths.missing)
    set_images(env, memory.images)
    index: dict[str, list[str]] | None = {} if remember and plan.affected is None else None
    shown: dict[str, list[str]] | None = None
    if index is not None:
        if state.outputs_of is not None:
            shown = {}
            for path, outputs in state.outputs_of.items():
                for rel in outputs:
                    shown.setdefault(rel, []).append(path)
        state.outputs_of = None  # replaced by this build's: no need to hold both
    # What the last build made of its stories may be out of date: this build's own memos.
    return _Pages(run, env, digests, base, remember, index, shown, build_memos(env))


def _todo(run: Run, plan: Plan, new: BuildState) -> list[tuple[PageSpec, str]]:
    """The pages to fingerprint (and render if changed); the unaffected ones are kept.

    Files this Builder wrote itself are not looked for on disk."""
    state, writer, affected = run.state, run.writer, plan.affected
    trusted = plan.output_checked or run.memory.manifest is not None
    todo: list[tuple[PageSpec, str]] = []
    for spec in plan.specs:
        rel = output_path(spec.url)
        unaffected = affected is not None and rel not in affected and rel in state.pages
        if unaffected and writer.keep(rel, check=not trusted):
            new.pages[rel] = state.pages[rel]
            continue
        todo.append((spec, rel))
    # Pages of neighbouring dates show the same stories: run in one worker, they make
    # each story's card and feed entries once there rather than once in every worker.
    todo.sort(key=_newest_first)
    return todo


def _collect(pages: _Pages, todo: list[tuple[PageSpec, str]], new: BuildState) -> int:
    """Render `todo` in workers; register each page with the writer. Returns how many
    pages were rendered."""
    run = pages.run
    writer, report, index = run.writer, run.report, pages.index
    worker = _Worker(pages)
    progress = _Progress(len(todo)) if run.options.progress and len(todo) > 500 else None
    rendered = 0
    for rel, digest, staged, fp, paths in run_chunks(
        worker,
        todo,
        run.options.jobs or default_jobs(),
        min_per_job=RENDER_MIN_PER_JOB,
        arrived=progress.step if progress else None,
    ):
        kill_point("render")
        if digest is None:
            writer.register(rel, (writer.previous or {})[rel], False)  # carried over
        else:
            writer.register(rel, digest, staged)
            report.written += staged
            rendered += 1
        if fp is not None:
            new.pages[rel] = fp
        if index is not None:
            for path in paths:
                index.setdefault(path, []).append(rel)
    worker.forget()
    if progress:
        progress.done()
    return rendered


class _Worker:
    """Fingerprints and renders a chunk of pages (in a worker process, when forked).

    Each keeps its own memo of the objects it has seen (they stay alive: the model
    outlives the loop). A memo lasts one chunk: neighbouring pages share their stories,
    and a worker that kept every object's digest grew by 50 MiB at 100,000 records, for
    no time saved.
    """

    def __init__(self, pages: _Pages) -> None:
        self.pages = pages
        self.memo: dict[int, Any] = {}
        self.shown: dict[int, tuple[str, ...]] = {}

    def __call__(self, chunk: Sequence[tuple[PageSpec, str]]) -> list[_PageResult]:
        self.forget()
        pages, out = self.pages, []
        run = pages.run
        state, writer, config = run.state, run.writer, run.inputs.config
        images = run.memory.images
        # The images of the records a page shows are part of its fingerprint.
        marked = pages.remember and bool(images.marks)
        for spec, rel in chunk:
            paths: Sequence[str] | None = None
            base = pages.base
            if marked:
                paths = records_in(spec.context, self.shown)
                base += images.digest_for(paths)
            fp = (
                page_fingerprint(
                    spec.url, spec.templates, spec.context, base, pages.digests, self.memo
                )
                if pages.remember
                else None
            )
            same = fp is not None and state.pages.get(rel) == fp
            if paths is None:
                if pages.index is None:
                    paths = ()
                elif same and pages.shown is not None:
                    paths = pages.shown.get(rel, ())
                else:
                    paths = records_in(spec.context, self.shown)
            if same and writer.still_there(rel):
                out.append((rel, None, False, fp, paths))  # unchanged and still there
            else:
                data = render_output(pages.env, spec, config, pages.memos)
                out.append((rel, *writer.stage(rel, data), fp, paths))
        return out

    def forget(self) -> None:
        self.memo.clear()
        self.shown.clear()


def _newest_first(entry: tuple[PageSpec, str]) -> float:
    """The date of the newest story a page shows, negated. A page of a list shows its own
    stories: page 40 of a topic shares its lastmod (the topic's newest) with page 1, but
    its cards with the edition and month pages of its own dates."""
    spec = entry[0]
    pager = spec.context.get("pager")
    if pager is not None and pager.items:
        return -max(a.date for a in pager.items).timestamp()
    return -spec.lastmod.timestamp() if spec.lastmod is not None else math.inf


def _precompile(env: jinja2.Environment, names: tuple[str, ...]) -> None:
    with contextlib.suppress(jinja2.TemplateError):  # render_page reports it, with file and line
        env.select_template(list(names))


class _Progress:
    """A one-line progress counter for terminals."""

    def __init__(self, total: int) -> None:
        self.total, self.count, self.shown = total, 0, -1

    def step(self, pages: int) -> None:
        self.count += pages
        percent = self.count * 100 // self.total
        if percent != self.shown:
            self.shown = percent
            sys.stderr.write(f"\rRendering {self.count}/{self.total} pages ({percent}%)")
            sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
