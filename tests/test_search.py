"""The Pagefind search index: built by `masthead build`, reproducible, and optional."""

from __future__ import annotations

import gzip
import json
import logging
import multiprocessing
import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from masthead import parallel
from masthead.building import pipeline, rendering
from masthead.commands.cli import main
from masthead.outputs import search_records, search_shards
from masthead.outputs.pagefind_bundle import stabilise
from masthead.outputs.pagefind_service import ServiceError
from masthead.outputs.render import TemplateError
from masthead.outputs.search import SearchError, find_pagefind
from masthead.outputs.writer import MANIFEST, STAGING, read_manifest
from tests.conftest import Scratch
from tests.htmlcheck import parse
from tests.newsroom import build_newsroom, write_newsroom


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _script(path: Path, lines: str) -> Path:
    """An executable shell script at `path` (a Pagefind binary, to the build)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{lines}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_newsroom(tmp_path_factory.mktemp("search") / "site")


def test_the_build_writes_a_search_bundle_with_filters(output: Path) -> None:
    bundle = output / "pagefind"
    assert (bundle / "pagefind-ui.js").is_file() and (bundle / "pagefind-entry.json").is_file()
    # The primary index (the oldest stories) and the shards the search page merges.
    shards = json.loads((bundle / "shards.json").read_text())["merge"]
    assert shards and all((bundle / path / "pagefind-entry.json").is_file() for path in shards)
    for index in [bundle, *(bundle / path for path in shards)]:
        assert len(list((index / "filter").glob("*.pf_filter"))) == 3  # topic, provider, type
    # Only article pages are indexed, each once.
    assert len(list(bundle.rglob("fragment/*.pf_fragment"))) == len(
        list((output / "news").rglob("index.html"))
    )
    search = parse(output / "search" / "index.html")
    assert search.h1.get_text() == "Search"
    assert parse(output / "index.html").select_one("nav a[href='/digest/search/']") is not None


def test_two_builds_give_the_same_search_bundle(output: Path, tmp_path: Path) -> None:
    """Pagefind 1.5 writes filter values in hash-map order; masthead puts them in order."""
    again = build_newsroom(tmp_path / "site")
    first, second = _files(output / "pagefind"), _files(again / "pagefind")
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_two_pagefind_processes_make_the_bundle_one_makes(
    output: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first build of a big site shares its shards between two Pagefind processes, one
    per core: each shard's files are the ones a single process makes."""
    started: list[Path] = []

    class Counted(search_shards.Service):
        def __init__(self, binary: Path, **options: Any) -> None:
            started.append(binary)
            super().__init__(binary, **options)

    monkeypatch.setattr(search_shards, "Service", Counted)
    monkeypatch.setattr(search_shards, "PARALLEL_MIN", 0)  # the newsroom is small
    again = build_newsroom(tmp_path / "site", jobs=2)
    assert len(started) == 2
    assert _files(again / "pagefind") == _files(output / "pagefind")
    # One process for one job.
    started.clear()
    build_newsroom(tmp_path / "one", jobs=1)
    assert len(started) == 1
    # Either process failing fails the build, with what Pagefind said.
    fake = _script(tmp_path / "fake-pagefind", "echo 'index exploded' >&2\nexit 3\n")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    started.clear()
    with pytest.raises(SearchError, match=r"Pagefind failed \(exit 3\): index exploded"):
        build_newsroom(tmp_path / "failed", jobs=2)
    assert len(started) == 2


def test_an_unexpected_bundle_is_left_as_pagefind_wrote_it(
    output: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = tmp_path / "pagefind"
    shutil.copytree(output / "pagefind", bundle)
    broken = sorted((bundle / "filter").glob("*.pf_filter"))[0]
    broken.write_bytes(b"not gzip")
    before = _files(bundle)
    with caplog.at_level(logging.WARNING):
        stabilise(bundle)
    assert _files(bundle) == before
    assert "not byte-reproducible" in caplog.text


def test_no_search_leaves_search_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    assert main(["build", "--site", str(site.root), "--no-search"]) == 0
    assert not (site.output / "pagefind").exists()
    assert not (site.output / "search").exists()
    assert parse(site.output / "index.html").find("a", string="Search") is None
    assert "search is off" not in capsys.readouterr().err


def test_search_can_be_switched_off_in_site_toml(scratch: Scratch) -> None:
    scratch.config("search = false\n")
    scratch.add("2026-01-01-a.md")
    assert not scratch.build().failed
    assert not (scratch.output / "pagefind").exists()


def test_without_pagefind_the_build_says_so_and_goes_on(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(scratch.root / "no-such-pagefind"))
    scratch.add("2026-01-01-a.md")
    with caplog.at_level(logging.WARNING):
        report = scratch.build()
    assert not report.failed
    assert "Pagefind binary was not found" in caplog.text and "pagefind[bin]" in caplog.text
    assert (scratch.output / "index.html").is_file()
    assert not (scratch.output / "pagefind").exists()
    assert not (scratch.output / "search").exists()


def test_a_failing_pagefind_fails_the_build_and_keeps_the_previous_output(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page links to /search/: a site whose index could not be built is not shipped."""
    scratch.add("2026-01-01-a.md")
    assert not scratch.build().failed
    before = _files(scratch.output)
    fake = _script(scratch.root / "fake-pagefind", "echo 'index exploded' >&2\nexit 3\n")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    scratch.add("2026-01-02-b.md", title="Another story")
    with pytest.raises(SearchError, match=r"Pagefind failed \(exit 3\): index exploded"):
        scratch.build()
    assert _files(scratch.output) == before
    _script(fake, "exit 0\n")  # says it worked, writes nothing
    with pytest.raises(SearchError, match=r"Pagefind ended without an answer \(exit 0\)"):
        scratch.build()
    assert _files(scratch.output) == before


def test_one_of_two_pagefind_processes_failing_fails_the_build_without_a_hang(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two shards, indexed by two processes side by side, the second of which fails: the
    build, which writes each shard as it comes, stops with the second's error rather
    than waiting for its shards, and the previous output stays."""
    scratch.add("2025-06-01-a.md", when="2025-06-01T09:00:00Z")
    scratch.add("2026-06-01-b.md", title="Another story", when="2026-06-01T09:00:00Z")
    assert not scratch.build().failed
    before = _files(scratch.output)
    fake = _script(
        scratch.root / "half-pagefind",
        f"if mkdir '{scratch.root}/started' 2>/dev/null; then exec '{find_pagefind()}' \"$@\"; fi\n"
        "echo 'second index exploded' >&2\nexit 3\n",
    )
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    monkeypatch.setattr(search_shards, "PARALLEL_MIN", 1)
    scratch.add("2026-06-02-c.md", title="A third story", when="2026-06-02T09:00:00Z")
    raised: list[BaseException] = []

    def build() -> None:
        try:
            scratch.build(use_cache=False)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=build, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the build waits for shards a failed Pagefind never sends"
    assert (scratch.root / "started").is_dir()  # the first process was the real Pagefind
    assert len(raised) == 1 and isinstance(raised[0], SearchError)
    assert "Pagefind failed (exit 3): second index exploded" in str(raised[0])
    assert _files(scratch.output) == before


def test_a_failing_pagefind_is_exit_1_from_the_command(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _script(scratch.root / "fake-pagefind", "exit 3\n")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    scratch.add("2026-01-01-a.md")
    assert main(["build", "--site", str(scratch.root)]) == 1
    err = capsys.readouterr().err
    assert "error: the search index could not be built" in err and "--no-search" in err
    assert not scratch.output.exists()


def test_an_edit_reindexes_and_matches_a_clean_build(tmp_path: Path) -> None:
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    unchanged = site.build()
    assert unchanged.written == 0  # nothing changed: the bundle is carried over
    before = _files(site.output / "pagefind")
    story = site.content / "2026-03-09-night-ferry.md"
    story.write_text(story.read_text().replace("salinity damage", "barnacle damage"))
    site.build()
    after = _files(site.output / "pagefind")
    assert after != before
    clean = Scratch(tmp_path / "clean")
    write_newsroom(clean)
    shutil.copy(story, clean.content / story.name)
    clean.build(use_cache=False)
    assert after == _files(clean.output / "pagefind")


def _retitle_night_ferry(site: Scratch) -> None:
    story = site.content / "2026-03-09-night-ferry.md"
    story.write_text(story.read_text().replace('title: "', 'title: "Barnacle ', 1))


def test_an_edit_s_index_is_made_beside_the_render_in_a_process_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an edit in place the index is made in a forked process while the pages
    render; the writer is told of its files, and the site is a clean build's."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    planned = pipeline.index_planned

    def recorded(*args: Any) -> Any:
        (tmp_path / "indexed-by").write_text(str(os.getpid()))
        return planned(*args)

    monkeypatch.setattr(pipeline, "index_planned", recorded)
    _retitle_night_ferry(site)
    report = site.build()
    assert int((tmp_path / "indexed-by").read_text()) != os.getpid()  # another process's
    assert "model" not in report.timings  # the stored model's path
    bundle = site.output / "pagefind"
    fragments = b"".join(gzip.decompress(p.read_bytes()) for p in bundle.rglob("*.pf_fragment"))
    assert b"Barnacle " in fragments
    manifest = read_manifest(site.output / MANIFEST)
    on_disk = {p.relative_to(site.output).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert on_disk == {rel for rel in manifest if rel.startswith("pagefind/")}
    clean = tmp_path / "clean"
    assert main(["build", "--site", str(site.root), "--no-cache", "--output", str(clean)]) == 0
    assert _files(bundle) == _files(clean / "pagefind")


@pytest.mark.parametrize("where", ["pagefind", "render"])
def test_a_failure_beside_the_index_fails_the_build_and_keeps_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """An edit in place, its index made in a process of its own while the pages render:
    Pagefind failing there is the build's error, said once; a page failing to render
    meanwhile leaves no staged file and no process behind (the build waits for the
    index's process before it clears what was staged). The output stays as it was."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    before = _files(site.output)
    failure: Exception = (
        ServiceError("index exploded")
        if where == "pagefind"
        else TemplateError("article.html:1: broken on purpose")
    )

    def failing(*args: Any) -> Any:
        raise failure

    if where == "pagefind":
        monkeypatch.setattr(search_shards.Service, "index", failing)
    else:
        monkeypatch.setattr(rendering, "render_output", failing)
    _retitle_night_ferry(site)
    with pytest.raises((SearchError, TemplateError)) as raised:
        site.build()
    said = str(raised.value)
    assert ("index exploded" if where == "pagefind" else "broken on purpose") in said
    assert said.count("could not be built") == (where == "pagefind")
    assert not multiprocessing.active_children()
    assert not (site.output / STAGING).exists()
    assert _files(site.output) == before


@pytest.mark.parametrize("how", ["cannot fork", "index process dies"])
def test_a_failing_render_makes_no_index_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A page failing to render stops the build before this process asks Pagefind:
    where the build cannot fork (the index is made after the pages, as any other), and
    where the index's forked process died meanwhile (it is not made again here, only to
    be thrown away with the staged pages)."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    indexed: list[object] = []
    parent, forked = os.getpid(), tmp_path / "forked"

    def index_planned(*args: Any) -> None:
        if os.getpid() != parent:
            forked.touch()
            os._exit(9)  # killed, say, for memory
        indexed.append(args)

    def broken(*args: Any) -> Any:
        raise TemplateError("article.html:1: broken on purpose")

    if how == "cannot fork":
        monkeypatch.setattr(parallel, "can_fork", lambda: False)
    monkeypatch.setattr(pipeline, "index_planned", index_planned)
    monkeypatch.setattr(rendering, "render_output", broken)
    _retitle_night_ferry(site)
    with pytest.raises(TemplateError, match="broken on purpose"):
        site.build()
    assert indexed == []
    assert forked.exists() == (how == "index process dies")
    assert not (site.output / STAGING).exists()


class _Calls:
    """Calls noted in a file: the index may be made in a forked process, whose memory
    this one never sees."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def add(self, what: str) -> None:
        with self.path.open("a") as f:
            f.write(what + "\n")

    def __call__(self) -> list[str]:
        return self.path.read_text().split()


def test_an_added_story_makes_only_its_own_shard_s_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard whose stories are all as the last build indexed them keeps its name and its
    files: what Pagefind would be given for it is not even made again."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    before = _files(site.output / "pagefind")
    documents = _Calls(tmp_path / "made.txt")
    real = search_records._document

    def counted(config: Any, article: Any, body: Any) -> Any:
        documents.add(article.url)
        return real(config, article, body)

    monkeypatch.setattr(search_records, "_document", counted)
    site.add(
        "2026-11-30-added.md", title="A ferry timetable added late", when="2026-11-30T09:00:00Z"
    )
    site.build()
    made = documents()
    # The 2026 shard (the new story's) is made again, each of its stories once; 2025's
    # (the primary, the oldest) is carried over untouched.
    assert "/news/2026/11/30/added/" in made and len(made) == len(set(made))
    assert made and all(url.startswith("/news/2026/") for url in made)
    after = _files(site.output / "pagefind")

    def primary(files: dict[str, bytes]) -> dict[str, bytes]:
        return {k: v for k, v in files.items() if not k.startswith(("shards/", "shards.json"))}

    assert primary(after) == primary(before) and after != before
    # And the result is the index a clean build makes.
    clean = Scratch(tmp_path / "clean")
    write_newsroom(clean)
    shutil.copy(site.content / "2026-11-30-added.md", clean.content)
    clean.build(use_cache=False)
    assert _files(site.output / "pagefind") == _files(clean.output / "pagefind")


def _another_pagefind(folder: Path) -> Path:
    """Another Pagefind binary, to the build: a script in `folder` that runs the real one."""
    return _script(folder / "pagefind", f'exec "{find_pagefind()}" "$@"\n')


def test_the_pagefind_binary_is_hashed_again_only_when_it_is_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its hash names the shards (another Pagefind makes other bundles). A build takes it
    from the catalog while the binary's stamp holds; another binary is hashed, and every
    shard is made with it again."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    hashed = _Calls(tmp_path / "hashed.txt")
    real = search_shards.hasher

    def counted() -> Any:
        hashed.add("hashed")
        return real()

    monkeypatch.setattr(search_shards, "hasher", counted)
    monkeypatch.setattr(search_shards, "_BINARIES", {})  # as a new process finds it
    story = site.content / "2026-03-09-night-ferry.md"
    story.write_text(story.read_text().replace("salinity damage", "barnacle damage"))
    leftover = site.root / ".masthead-cache" / "search" / "catalog.json"  # another format's
    leftover.write_text("{}")
    site.build()
    assert hashed() == [] and not leftover.exists()
    shards = site.output / "pagefind" / "shards"
    before = {p.name for p in shards.iterdir()}
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(_another_pagefind(tmp_path)))
    story.write_text(story.read_text().replace("barnacle damage", "kelp damage"))
    site.build()
    assert hashed() == ["hashed"]
    after = {p.name for p in shards.iterdir()}
    assert before and after and not before & after


def test_another_pagefind_alone_makes_the_index_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no record, template or setting changed, a build after Pagefind was replaced
    (upgraded, or another one named by PAGEFIND_BINARY_PATH) indexes again rather than
    finding nothing to do and keeping the old Pagefind's bundle; the build after it has
    nothing to do again. The pages themselves are not rendered again."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    shards = site.output / "pagefind" / "shards"
    before = {p.name for p in shards.iterdir()}
    assert site.build().written == 0
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(_another_pagefind(tmp_path)))
    report = site.build()
    after = {p.name for p in shards.iterdir()}
    assert before and after and not before & after
    assert report.rendered == 0
    assert all(rel.startswith("pagefind/") for rel in report.written_paths)
    assert site.build().written == 0


def test_shards_come_from_the_cache_when_the_output_lost_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.build()
    before = _files(site.output / "pagefind")
    shutil.rmtree(site.output / "pagefind")

    def no_pagefind(*args: object) -> object:
        raise AssertionError("Pagefind ran")

    with monkeypatch.context() as patch:
        patch.setattr(search_shards, "_index", no_pagefind)
        site.build()
    assert _files(site.output / "pagefind") == before
    # A damaged cached shard is discarded with a warning and indexed again.
    for path in (site.root / ".masthead-cache" / "search").glob("2026-*.shard"):
        path.write_bytes(path.read_bytes()[:-1] + b"\xff")
    shutil.rmtree(site.output / "pagefind")
    with caplog.at_level(logging.WARNING):
        site.build()
    assert ".shard: build cache is corrupt (checksum mismatch); discarded" in caplog.text
    assert _files(site.output / "pagefind") == before


def test_a_shard_gone_from_output_and_cache_mid_build_is_indexed_from_the_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard's folder and cache file vanish while an in-place edit's build runs (another
    program, a clean-up): the shards cannot be made, and the build indexes the pages as
    built instead. The primary shard's files were found intact first; saying they are
    carried over before that fallback made it write them twice, and the build fail."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    site.add("2024-05-01-old-pier.md", title="Old pier closes", when="2024-05-01T09:00:00+00:00")
    site.build()
    stories = search_shards._stories

    def vanish(*args: Any) -> Any:
        lost = next((site.output / "pagefind" / "shards").glob("2025-*"))
        shutil.rmtree(lost)
        (site.root / ".masthead-cache" / "search" / f"{lost.name}.shard").unlink()
        return stories(*args)

    monkeypatch.setattr(search_shards, "_stories", vanish)
    story = site.content / "2026-03-09-night-ferry.md"
    story.write_text(story.read_text().replace("salinity damage", "barnacle damage"))
    assert not site.build().failed
    bundle = site.output / "pagefind"
    fragments = b"".join(gzip.decompress(p.read_bytes()) for p in bundle.rglob("*.pf_fragment"))
    assert b"barnacle damage" in fragments and b"New Year ferry" in fragments
    manifest = read_manifest(site.output / MANIFEST)
    on_disk = {p.relative_to(site.output).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert on_disk == {rel for rel in manifest if rel.startswith("pagefind/")}


def test_a_title_edit_puts_back_search_files_deleted_since(tmp_path: Path) -> None:
    """The fast path after an edit in place does not look at the search bundle's files
    one by one: the search step carries a shard over only if all its files are there,
    so a file deleted from the bundle comes back, as a clean build would write it."""
    site = Scratch(tmp_path / "site")
    write_newsroom(site)
    assert main(["build", "--site", str(site.root)]) == 0
    bundle = site.output / "pagefind"
    shard = bundle / json.loads((bundle / "shards.json").read_text())["merge"][0]
    lost = [bundle / "pagefind-ui.js", sorted((shard / "fragment").iterdir())[0]]
    for path in lost:
        path.unlink()
    # The oldest story, in the primary index: the shard the file was deleted from keeps its name.
    record = min(site.content.glob("*.md"), key=lambda p: _published(p.read_text()))
    record.write_text(record.read_text().replace('title: "', 'title: "Retitled ', 1))
    report = site.build()
    assert "model" not in report.timings  # the stored model's fast path, no site modelled
    assert [path for path in lost if not path.is_file()] == []
    clean = tmp_path / "clean"
    assert main(["build", "--site", str(site.root), "--no-cache", "--output", str(clean)]) == 0
    assert _files(bundle) == _files(clean / "pagefind")


def _published(record: str) -> str:
    return next(line for line in record.splitlines() if line.startswith("publishedDateTime:"))


# Stories as (title, excerpt, provider, topics, type, image): endings the parser ends a
# block after or not, text HTML escapes, names a filter escapes, a weight marker.
_TRICKY = [
    ("It's 'Power Pages'", "Ends with a quote'", "Trace & Co", ["A:b, c[d]"], "article", True),
    ('Why "now"?', "A question?", "<img src=x onerror=alert(1)>", ["&lt;b&gt;"], "video", False),
    ("Price > cost & more <", "Lines\nand  spaces!", "Plain", ["Émigré ☃", "Two"], "article", True),
    ("___PAGEFIND_WEIGHT___9 marker", "", "Quiet", [], "article", False),
    ("Ends with a dollar $", "Ends with *", 'Say "hi"', ["x)"], "article", True),
    (
        "Closing (paren)",
        "No\u00a0break space and an ellipsis…",
        "Ellipsis…",
        ["Last."],
        "video",
        True,
    ),
]


def _tricky_site(root: Path) -> Scratch:
    site = Scratch(root)
    for n, (title, excerpt, provider, topics, kind, image) in enumerate(_TRICKY):
        topic_lines = "".join(f"\n  - {json.dumps(t)}" for t in topics)
        picture = f'\nimages:\n  - url: "https://img.example/{n}.jpg"' if image else ""
        site.add(
            f"2026-11-{10 + n}-story-{n}.md",
            f"---\ntitle: {json.dumps(title)}\nexcerpt: {json.dumps(excerpt)}\n"
            f"publishedDateTime: 2026-11-{10 + n}T09:00:00Z\n"
            f'webUrl: "https://news.example/{n}"\ntype: {kind}\npublished: true\n'
            f"provider:\n  name: {json.dumps(provider)}\n  domain: p{n}.example\n"
            f"topics:{topic_lines or ' []'}{picture}\n---\n",
        )
    site.add("2026-11-30-bodied.md", title="A story with a body", body="Some *body* text.")
    return site


def test_a_story_s_record_indexes_exactly_as_its_page_would(tmp_path: Path) -> None:
    """Pagefind is given a custom record for a story without a body, which spares it
    parsing HTML: the bundle is byte for byte the one its page made."""
    from masthead.building.build import BuildOptions, site_in_memory
    from masthead.outputs.pagefind_bundle import stabilise_files
    from masthead.outputs.pagefind_service import Service
    from masthead.outputs.render import MissingPaths

    site = _tricky_site(tmp_path / "site")
    sim = site_in_memory(BuildOptions(site_dir=site.root))
    config, body = sim.inputs.config, MissingPaths(sim.site_paths.missing)
    articles = [s.context["article"] for s in sim.specs if s.context.get("kind") == "article"]
    documents = {a.title: search_records._document(config, a, body) for a in articles}
    assert len(articles) == len(_TRICKY) + 1
    assert isinstance(documents.pop("A story with a body"), str)  # its page, as built
    assert all(isinstance(d, dict) for d in documents.values())
    plain = [a for a in articles if not a.record.body_html]
    pages = [(a.url, search_records._page(config, a, body)) for a in plain]
    records = [(a.url, search_records._record(config, a, body)) for a in plain]
    binary = find_pagefind()
    assert binary is not None
    with Service(binary) as service:
        from_pages, from_records = service.index([pages, records], config.language)
    assert stabilise_files(from_records) == stabilise_files(from_pages)
