"""Incremental builds equal clean builds, whatever sequence of edits came before."""

from __future__ import annotations

import gc
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from masthead import __version__
from masthead.building import phases
from masthead.building.build import Builder, BuildOptions, Mode, build
from masthead.outputs.writer import MANIFEST
from masthead.records import loader
from tests.conftest import Scratch, record_text
from tests.htmlcheck import parse

TOPICS = ("Climate", "Transport", "Health", "AT-T", "at t")  # the last two share a slug
PROVIDERS = ("Harbour Ledger", "Civic Lantern")


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


def clean_build(site: Scratch, tmp: Path) -> dict[str, bytes]:
    out = tmp / "clean"
    shutil.rmtree(out, ignore_errors=True)
    report = build(BuildOptions(site_dir=site.root, output_dir=out, use_cache=False, jobs=1))
    assert not report.failed
    return snapshot(out)


def assert_same_as_clean(site: Scratch, tmp: Path) -> None:
    incremental, clean = snapshot(site.output), clean_build(site, tmp)
    assert sorted(incremental) == sorted(clean)
    assert [k for k in clean if incremental[k] != clean[k]] == []


def _record(
    n: int,
    topic: str,
    provider: str,
    title: str | None = None,
    day: int = 10,
    published: bool = True,
) -> str:
    return record_text(
        title=title or f"Story number {n}",
        when=f"2026-11-{day:02d}T{n % 24:02d}:00:00Z",
        url=f"https://news.example/{n}",
        topics=(topic,),
        provider=provider,
        quality=n,
        published=published,
    )


class EditSequence(RuleBasedStateMachine):
    """Random edits, creates, deletes and moves of records and templates; after each, an
    incremental build (the preview's long-lived Builder, or a fresh one reading the cache
    from disk like `masthead build`) must equal a clean build byte for byte."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="masthead-edits-"))
        self.changed: set[Path] = set()
        """What a watcher would report since the last build: lets edits take the fast path."""
        self.params: dict[int, tuple[str, str, int]] = {}
        self.drafts: set[int] = set()

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    @initialize()
    def make_site(self) -> None:
        self.site = Scratch(self.tmp / "site")
        self.site.config('title = "Edits"\npage_size = 2\n')
        self.names: dict[int, str] = {}
        for n in range(5):
            self._write(n, TOPICS[n % 3], PROVIDERS[n % 2])
        self.builder = Builder(BuildOptions(site_dir=self.site.root, jobs=1, mode=Mode.WATCH))
        self.next = 5
        self.changed = set()

    def _write(
        self, n: int, topic: str, provider: str, title: str | None = None, day: int = 10
    ) -> None:
        name = self.names.get(n, f"2026-11-{day:02d}-story-{n}.md")
        self.names[n] = name
        self.params[n] = (topic, provider, day)
        record = _record(n, topic, provider, title, day, n not in self.drafts)
        self.changed.add(self.site.add(name, record))

    @rule(
        pick=st.integers(0, 100),
        title=st.text("abc xyz<&", min_size=1, max_size=12),
        fresh=st.booleans(),
    )
    def retitle(self, pick: int, title: str, fresh: bool) -> None:
        """A change of what a story shows only: the preview's fast path, or `masthead
        build`'s from the stored model."""
        shown = [n for n in sorted(self.names) if n not in self.drafts]
        if shown:
            n = shown[pick % len(shown)]
            topic, provider, day = self.params[n]
            alone = not self.changed and self.site.output.exists()
            self._write(n, topic, provider, title=f"Retitled {title}", day=day)
            if alone and fresh:  # no site model built: pages come from model.bin
                report = Builder(BuildOptions(site_dir=self.site.root, jobs=1)).build()
                assert "load" in report.timings and "model" not in report.timings
                self.builder = Builder(
                    BuildOptions(site_dir=self.site.root, jobs=1, mode=Mode.WATCH)
                )
                self.builder.build()
            elif alone:  # the only pending change keeps its story's shape: it must patch
                report = self.builder.build(self.changed)
                assert "scan" not in report.timings
            if alone:
                self.changed = set()
                assert_same_as_clean(self.site, self.tmp)

    @rule(
        topic=st.sampled_from(TOPICS),
        provider=st.sampled_from(PROVIDERS),
        title=st.text("abc xyz<&", min_size=1, max_size=12),
    )
    def edit(self, topic: str, provider: str, title: str) -> None:
        if self.names:
            n = sorted(self.names)[len(title) % len(self.names)]
            self._write(n, topic, provider, title=f"Edited {title}")

    @rule(topic=st.sampled_from(TOPICS), day=st.integers(1, 20))
    def create(self, topic: str, day: int) -> None:
        self._write(self.next, topic, PROVIDERS[self.next % 2], day=day)
        self.next += 1

    @rule(pick=st.integers(0, 100))
    def delete(self, pick: int) -> None:
        if self.names:
            n = sorted(self.names)[pick % len(self.names)]
            gone = self.site.content / self.names.pop(n)
            gone.unlink()
            self.changed.add(gone)

    @rule(pick=st.integers(0, 100))
    def toggle_draft(self, pick: int) -> None:
        """A story made a draft, or a draft published: a build that leaves drafts out
        reads a draft no further than its `published: false`."""
        if self.names:
            n = sorted(self.names)[pick % len(self.names)]
            self.drafts ^= {n}
            topic, provider, day = self.params[n]
            self._write(n, topic, provider, day=day)

    @rule(pick=st.integers(0, 100), folder=st.sampled_from(["", "archive", "archive/old"]))
    def move(self, pick: int, folder: str) -> None:
        if self.names:
            n = sorted(self.names)[pick % len(self.names)]
            old = self.site.content / self.names[n]
            new_name = f"{folder}/{Path(self.names[n]).name}".lstrip("/")
            (self.site.content / new_name).parent.mkdir(parents=True, exist_ok=True)
            old.rename(self.site.content / new_name)
            self.names[n] = new_name
            self.changed |= {old, self.site.content / new_name}

    @rule(variant=st.sampled_from(["none", "article", "base", "macro"]))
    def template(self, variant: str) -> None:
        folder = self.site.root / "templates"
        self.changed.add(folder)
        shutil.rmtree(folder, ignore_errors=True)
        if variant == "article":
            self.site.template(
                "article.html",
                "{% extends 'base.html' %}{% block main %}<h1>{{ article.title }}</h1>{% endblock %}",
            )
        elif variant == "base":
            self.site.template(
                "base.html",
                "<!DOCTYPE html><title>x</title><main>{% block main %}{% endblock %}</main>",
            )
        elif variant == "macro":
            self.site.template(
                "_macros.html",
                (Path(__file__).parents[1] / "templates" / "_macros.html")
                .read_text()
                .replace("No stories yet.", "Empty."),
            )

    @rule(size=st.integers(1, 4))
    def config(self, size: int) -> None:
        self.changed.add(self.site.root / "site.toml")
        self.site.config(f'title = "Edits {size}"\npage_size = {size}\n')

    @rule(fresh=st.booleans())
    def rebuild(self, fresh: bool) -> None:
        if fresh:
            report = Builder(BuildOptions(site_dir=self.site.root, jobs=1)).build()
            self.builder = Builder(BuildOptions(site_dir=self.site.root, jobs=1, mode=Mode.WATCH))
            self.builder.build()
        else:
            report = self.builder.build(self.changed)
        self.changed = set()
        assert not report.failed
        assert_same_as_clean(self.site, self.tmp)

    @invariant()
    def second_build_writes_nothing(self) -> None:
        if hasattr(self, "builder") and self.site.output.exists() and not self.changed:
            self.builder.build()
            report = self.builder.build()
            assert report.written == 0 and report.removed == 0


class TestEditSequence(EditSequence.TestCase):  # type: ignore[name-defined]
    settings = settings(
        max_examples=12,
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


# Scripted cases: the same property for each kind of input, named so a failure says which.


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    scratch.config('title = "Cache"\npage_size = 2\n')
    for n in range(6):
        scratch.add(
            f"2026-11-1{n}-story-{n}.md", _record(n, TOPICS[n % 3], PROVIDERS[n % 2], day=10 + n)
        )
    assert not build(BuildOptions(site_dir=scratch.root, jobs=1)).failed
    return scratch


def _rebuild(site: Scratch, tmp: Path) -> None:
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert not report.failed
    assert_same_as_clean(site, tmp)


def _add_unrelated(site: Scratch) -> str:
    """A story sharing no topic or provider with the others and older than all of them: its
    page shows none of them (article pages show their neighbours in time and terms)."""
    far = record_text(
        title="Far away", when="2026-10-01T08:00:00Z", url="https://news.example/far",
        topics=("Elsewhere",), provider="Other Press", quality=1,
    )  # fmt: skip
    site.add("2026-10-01-far.md", far)
    assert not build(BuildOptions(site_dir=site.root, jobs=1)).failed
    return "news/2026/10/01/far/index.html"


def test_the_import_table_re_renders_nothing(site: Scratch, tmp_path: Path) -> None:
    """[import] tells `masthead import` where the feeds are; no page shows any of it."""
    site.config('title = "Cache"\npage_size = 2\n[[import.feeds]]\nurl = "https://f.example/rss"\n')
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert not report.failed
    assert (report.parsed, report.rendered, report.written) == (0, 0, 0)
    assert_same_as_clean(site, tmp_path)


def test_records_are_read_again_when_masthead_reads_them_otherwise(
    site: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to how a file is read (a `type` taken in another case, a new warning)
    must reach records the cache already holds, though no file and no version changed."""
    assert build(BuildOptions(site_dir=site.root, jobs=1)).parsed == 0
    monkeypatch.setattr(phases, "READING", loader.READING + 1)
    assert build(BuildOptions(site_dir=site.root, jobs=1)).parsed == 6


def test_record_edit_rewrites_only_affected_pages(site: Scratch, tmp_path: Path) -> None:
    unrelated = _add_unrelated(site)
    site.add(
        "2026-11-12-story-2.md", _record(2, "Health", "Civic Lantern", title="A new title", day=12)
    )
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert report.parsed == 1
    written = set(report.written_paths)
    assert "news/2026/11/12/story-2/index.html" in written
    assert unrelated not in written  # unrelated story untouched
    assert_same_as_clean(site, tmp_path)


def test_topic_move_rebuilds_both_topics(site: Scratch, tmp_path: Path) -> None:
    site.add("2026-11-12-story-2.md", _record(2, "Transport", "Civic Lantern", day=12))
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert {"topics/health/index.html", "topics/transport/index.html"} <= set(
        report.written_paths + report.removed_paths
    )
    assert_same_as_clean(site, tmp_path)


@pytest.mark.parametrize(
    "change",
    ["template", "include", "config", "data", "static", "delete", "rename", "upgrade"],
)
def test_cache_invalidation_is_exact(
    change: str, site: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if change == "template":
        site.template(
            "term.html",
            "{% extends 'base.html' %}{% block main %}<h1>{{ term.name }}</h1>{% endblock %}",
        )
    elif change == "include":
        macros = (Path(__file__).parents[1] / "templates" / "_macros.html").read_text()
        site.template("_macros.html", macros.replace('class="stories"', 'class="stories changed"'))
    elif change == "config":
        site.config('title = "Renamed"\npage_size = 3\n')
    elif change == "data":
        (site.root / "data" / "topics").mkdir(parents=True)
        (site.root / "data" / "topics" / "climate.yaml").write_text(
            "name: Climate\ndescription: Weather and warming.\n"
        )
    elif change == "static":
        (site.root / "static").mkdir()
        (site.root / "static" / "robots-extra.txt").write_text("hello\n")
    elif change == "delete":
        (site.content / "2026-11-13-story-3.md").unlink()
    elif change == "rename":
        (site.content / "2026-11-13-story-3.md").rename(site.content / "2026-11-13-renamed.md")
    elif change == "upgrade":
        import masthead.building.fingerprint
        import masthead.building.phases
        import masthead.cachefile

        for module in (
            masthead.building.phases,
            masthead.building.fingerprint,
            masthead.cachefile,
        ):
            monkeypatch.setattr(module, "__version__", __version__ + ".post1")
    _rebuild(site, tmp_path)


def test_corrupt_cache_is_discarded_with_a_warning(
    site: Scratch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = site.root / ".masthead-cache"
    for name in ("build-state.bin", "records.bin"):
        blob = bytearray((cache / name).read_bytes())
        blob[-10] ^= 0xFF
        (cache / name).write_bytes(bytes(blob))
    site.add(
        "2026-11-12-story-2.md", _record(2, "Health", "Civic Lantern", title="Changed", day=12)
    )
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert report.parsed == 6  # nothing from the damaged cache was used
    assert "corrupt" in caplog.text
    assert_same_as_clean(site, tmp_path)


def test_foreign_cache_is_discarded(
    site: Scratch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (site.root / ".masthead-cache" / "build-state.bin").write_bytes(b"\x80\x04not ours at all")
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert "not a masthead build cache" in caplog.text
    assert report.rendered > 0
    assert_same_as_clean(site, tmp_path)


def test_parallel_build_equals_serial(
    site: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import masthead.building.phases
    import masthead.building.rendering

    monkeypatch.setattr(
        masthead.building.phases, "PARSE_MIN_PER_JOB", 1
    )  # fork even for a small site
    monkeypatch.setattr(masthead.building.rendering, "RENDER_MIN_PER_JOB", 1)
    for n in range(6, 60):
        site.add(
            f"2026-11-{10 + n % 10}-more-{n}.md",
            _record(n, TOPICS[n % 3], PROVIDERS[n % 2], day=10 + n % 10),
        )
    out = tmp_path / "parallel"
    report = Builder(
        BuildOptions(site_dir=site.root, output_dir=out, use_cache=False, jobs=2)
    ).build()
    assert not report.failed
    assert snapshot(out) == clean_build(site, tmp_path)


def test_output_written_behind_the_cache_is_not_trusted(site: Scratch, tmp_path: Path) -> None:
    original = (site.content / "2026-11-12-story-2.md").read_text()
    site.add("2026-11-12-story-2.md", original.replace("Story number 2", "Interim title"))
    assert not build(BuildOptions(site_dir=site.root, use_cache=False, jobs=1)).failed
    site.add("2026-11-12-story-2.md", original)  # back to what the cache last saw
    _rebuild(site, tmp_path)
    assert b"Interim title" not in (site.output / "news/2026/11/12/story-2/index.html").read_bytes()


def test_a_fresh_build_after_a_title_edit_reads_only_the_pages_showing_it(
    site: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`masthead build` after an edit that keeps the site's shape: the stored model and the
    record-to-output index name the pages to redo; no other record is read, no site model
    is built, and the other pages keep their fingerprints."""
    import masthead.building.phases
    import masthead.building.rendering

    fingerprinted: list[str] = []
    real = masthead.building.rendering.page_fingerprint

    def counting(url: str, *args: object) -> str | None:
        fingerprinted.append(url)
        return real(url, *args)  # type: ignore[arg-type]

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stored model should have been enough")

    unrelated = "/" + _add_unrelated(site).removesuffix("index.html")
    monkeypatch.setattr(masthead.building.rendering, "page_fingerprint", counting)
    monkeypatch.setattr(masthead.building.phases, "load_files", forbidden)
    monkeypatch.setattr(masthead.building.phases, "build_site", forbidden)
    site.add(
        "2026-11-12-story-2.md", _record(2, "Health", "Harbour Ledger", title="Retitled", day=12)
    )
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert report.parsed == 1
    assert "/news/2026/11/12/story-2/" in fingerprinted
    assert unrelated not in fingerprinted  # does not show story 2
    assert len(fingerprinted) == report.rendered < report.files // 2
    assert "news/2026/11/12/story-2/index.html" in report.written_paths
    monkeypatch.undo()
    assert_same_as_clean(site, tmp_path)
    # Edited again: the first edit's article comes from the state, not the older model.
    site.add("2026-11-12-story-2.md", _record(2, "Health", "Harbour Ledger", title="Again", day=12))
    site.add("2026-11-10-story-0.md", _record(0, "Climate", "Harbour Ledger", title="Zero", day=10))
    monkeypatch.setattr(masthead.building.phases, "build_site", forbidden)
    assert build(BuildOptions(site_dir=site.root, jobs=1)).parsed == 2
    monkeypatch.undo()
    assert_same_as_clean(site, tmp_path)


def test_a_page_deleted_since_the_last_build_sends_an_edit_the_long_way(
    site: Scratch, tmp_path: Path
) -> None:
    """The stored model stands for pages the last build wrote only if each is still there
    (a forked process looks while the store is read): a page deleted since, one that does
    not show the edited story, is written again, and the site is a clean build's."""
    unrelated = _add_unrelated(site)
    (site.output / unrelated).unlink()
    site.add(
        "2026-11-12-story-2.md", _record(2, "Health", "Harbour Ledger", title="Retitled", day=12)
    )
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert "model" in report.timings  # the long way: the site model was built
    assert unrelated in report.written_paths
    assert_same_as_clean(site, tmp_path)


@pytest.mark.parametrize("where", ["page", "table", "foreign"])
def test_a_damaged_or_foreign_stored_model_is_not_used(
    where: str, site: Scratch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = site.root / ".masthead-cache" / "model.bin"
    blob = bytearray(model.read_bytes())
    if where == "page":  # damage every page and article in it (their bytes come first)
        for i in range(100, len(blob) // 2, 50):
            blob[i] ^= 0xFF
    elif where == "table":
        blob[-80] ^= 0xFF  # the table, just before its checksum
    else:  # a model of another build of the same site: its token names no state
        other = Builder(BuildOptions(site_dir=site.root, cache_dir=tmp_path / "other", jobs=1))
        other.build()
        blob = bytearray((tmp_path / "other" / "model.bin").read_bytes())
    model.write_bytes(bytes(blob))
    site.add(
        "2026-11-12-story-2.md", _record(2, "Health", "Harbour Ledger", title="Retitled", day=12)
    )
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert "model" in report.timings  # a full build: the site model was built
    if where != "foreign":
        assert "model.bin" in caplog.text and (
            "damaged" in caplog.text or "checksum" in caplog.text
        )
    assert_same_as_clean(site, tmp_path)


def test_the_stored_model_is_not_used_when_it_cannot_stand_for_a_clean_build(
    site: Scratch, tmp_path: Path
) -> None:
    """Three ways the last build's pages are not what a clean build would keep: asset
    names made another way (the preview does not hash them), a broken record the preview
    held at its last good version, and --strict with a skipped file."""
    retitle = lambda title: site.add(  # noqa: E731
        "2026-11-12-story-2.md", _record(2, "Health", "Harbour Ledger", title=title, day=12)
    )
    preview = Builder(BuildOptions(site_dir=site.root, jobs=1, mode=Mode.PREVIEW))
    preview.build()
    preview.save_cache()  # as the preview does when it stops
    retitle("Assets")
    assert not build(BuildOptions(site_dir=site.root, jobs=1)).failed
    assert_same_as_clean(site, tmp_path)

    preview = Builder(BuildOptions(site_dir=site.root, jobs=1, mode=Mode.PREVIEW))
    preview.build()
    broken = site.add("2026-11-13-story-3.md", "---\ntitle: [unclosed\n---\n")
    assert preview.build({broken}).skipped == 1  # shown at its last good version
    preview.save_cache()
    retitle("Held")
    assert not build(BuildOptions(site_dir=site.root, jobs=1)).failed
    assert_same_as_clean(site, tmp_path)  # story 3 is gone, as from a clean build

    retitle("Strict")
    report = build(BuildOptions(site_dir=site.root, jobs=1, strict=True))
    assert report.failed and report.skipped == 1


def test_a_shape_change_saves_the_changed_record_beside_records_bin(
    site: Scratch, tmp_path: Path
) -> None:
    cache = site.root / ".masthead-cache"
    records_before = (cache / "records.bin").read_bytes()
    site.add("2026-11-12-story-2.md", _record(2, "Transport", "Harbour Ledger", day=12))
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert report.parsed == 1
    assert (cache / "records.bin").read_bytes() == records_before
    assert (cache / "records-delta.bin").is_file()
    assert_same_as_clean(site, tmp_path)
    again = build(BuildOptions(site_dir=site.root, jobs=1))  # records.bin plus the delta
    assert (again.parsed, again.written) == (0, 0)


def test_a_records_delta_made_for_another_records_file_is_discarded(
    site: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import masthead.building.state

    cache = site.root / ".masthead-cache"
    site.add("2026-11-12-story-2.md", _record(2, "Health", "Civic Lantern", title="One", day=12))
    _rebuild(site, tmp_path)
    stale = (cache / "records-delta.bin").read_bytes()
    monkeypatch.setattr(
        masthead.building.state, "DELTA_MIN", 0
    )  # the next save rewrites records.bin
    site.add("2026-11-13-story-3.md", _record(3, "Climate", "Harbour Ledger", title="Two", day=13))
    _rebuild(site, tmp_path)
    assert not (cache / "records-delta.bin").exists()
    (cache / "records-delta.bin").write_bytes(stale)  # left behind by a crash, say
    site.add("2026-11-14-story-4.md", _record(4, "Transport", "Civic Lantern", title="3", day=14))
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert "made for another records.bin" in caplog.text
    assert report.parsed == 6  # neither file was trusted
    assert_same_as_clean(site, tmp_path)


def test_preview_fast_path_for_a_title_edit(site: Scratch, tmp_path: Path) -> None:
    builder = Builder(BuildOptions(site_dir=site.root, jobs=1, mode=Mode.WATCH))
    builder.build()
    path = site.add(
        "2026-11-12-story-2.md", _record(2, "Health", "Harbour Ledger", title="Retitled", day=12)
    )
    report = builder.build({path})
    assert "scan" not in report.timings  # the model was patched, not rebuilt from a scan
    assert report.parsed == 1
    assert "news/2026/11/12/story-2/index.html" in report.written_paths
    assert_same_as_clean(site, tmp_path)


@pytest.mark.parametrize("change", ["topic", "date", "quality", "broken", "deleted"])
def test_preview_fast_path_falls_back_when_the_shape_changes(
    change: str, site: Scratch, tmp_path: Path
) -> None:
    builder = Builder(BuildOptions(site_dir=site.root, jobs=1, mode=Mode.WATCH))
    builder.build()
    name = "2026-11-12-story-2.md"
    text = _record(2, "Health", "Harbour Ledger", day=12)
    if change == "topic":
        text = text.replace("  - Health", "  - Transport")
    elif change == "date":
        text = text.replace("2026-11-12T02:00:00Z", "2026-11-13T02:00:00Z")
    elif change == "quality":
        text = text.replace("quality: 2", "quality: 99")
    elif change == "broken":
        text = text.replace('title: "', "title: [")
    path = site.add(name, text)
    if change == "deleted":
        path.unlink()
    report = builder.build({path})
    assert "scan" in report.timings  # a full build
    if change != "broken":
        assert_same_as_clean(site, tmp_path)


@pytest.fixture
def enabled_during(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the cyclic collector was on, at the load phase of each build from now on."""
    import masthead.building.phases

    seen: list[bool] = []
    load = masthead.building.phases.load

    def spying_load(*args: object) -> object:
        seen.append(gc.isenabled())
        return load(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(masthead.building.phases, "load", spying_load)
    return seen


def test_only_the_command_line_pauses_the_collector(
    site: Scratch, tmp_path: Path, enabled_during: list[bool]
) -> None:
    """A Builder leaves the interpreter's collector as it found it (the preview and
    programs embedding masthead call it); `masthead build` turns it off while it builds,
    and leaves the build's objects in its oldest generation: left in the youngest, the
    next allocation would have it walk them all."""
    from masthead.commands.cli import main

    assert gc.isenabled()
    Builder(BuildOptions(site_dir=site.root, output_dir=tmp_path / "lib")).build()
    assert enabled_during == [True]
    before = gc.get_count()[0]
    assert main(["build", "--site", str(site.root), "--output", str(tmp_path / "cli")]) == 0
    young = gc.get_count()[0]
    assert enabled_during == [True, False] and gc.isenabled()
    assert young < min(before + 100, gc.get_threshold()[0])


def test_masthead_serve_pauses_the_collector_around_each_rebuild(
    site: Scratch, monkeypatch: pytest.MonkeyPatch, enabled_during: list[bool]
) -> None:
    """`masthead serve` asks its preview to build with the collector off (the model it
    keeps in memory made a first build at 10,000 records twice as long); a Preview made
    by a program embedding masthead leaves the collector alone."""
    import masthead.commands.serve
    from masthead.commands.cli import main
    from masthead.commands.serve import Preview, ServeOptions

    def one_rebuild(options: ServeOptions) -> int:
        preview = Preview(replace(options, port=0))
        try:
            preview.rebuild(set())
        finally:
            preview.stop()
        return 0

    monkeypatch.setattr(masthead.commands.serve, "serve", one_rebuild)
    options = BuildOptions(site_dir=site.root, search=False)
    one_rebuild(ServeOptions(options))
    assert enabled_during == [True]
    assert main(["serve", "--site", str(site.root)]) == 0
    assert enabled_during == [True, False] and gc.isenabled()


def test_builds_without_the_cache_never_take_an_edit_for_nothing_changed(
    site: Scratch, tmp_path: Path
) -> None:
    """A build without the cache skips the digest of its inputs (no later build reads
    it): a fresh one, or the same Builder again, still builds what changed."""
    out = tmp_path / "out"
    options = BuildOptions(site_dir=site.root, output_dir=out, use_cache=False)
    assert build(options).written > 0
    site.add("2026-11-10-story-0.md", _record(0, TOPICS[0], PROVIDERS[0], day=10, title="Fresh"))
    assert build(options).written > 0
    assert "Fresh" in (out / "news/2026/11/10/story-0/index.html").read_text()
    builder = Builder(options)
    assert builder.build().rendered > 0
    site.add("2026-11-10-story-0.md", _record(0, TOPICS[0], PROVIDERS[0], day=10, title="Again"))
    assert builder.build().written > 0
    assert "Again" in (out / "news/2026/11/10/story-0/index.html").read_text()
    assert builder.build().written == 0  # nothing changed since


def test_another_base_url_renders_again_without_parsing_a_record(
    site: Scratch, tmp_path: Path
) -> None:
    """A record parses the same for any base_url (links in its body are put under the
    site's path when pages are rendered): --base-url re-renders every page, from the
    records the cache holds, as a clean build with that base_url would."""
    story = "news/2026/11/16/linked/index.html"
    site.add(
        "2026-11-16-linked.md",
        record_text(
            title="Linked", when="2026-11-16T08:00:00Z", body="See [more](/topics/climate/)."
        ),
    )
    assert build(BuildOptions(site_dir=site.root, jobs=1)).parsed == 1
    assert parse(site.output / story).select_one(".body a")["href"] == "/topics/climate/"
    digest = "https://example.org/digest/"
    report = build(BuildOptions(site_dir=site.root, jobs=1, base_url=digest))
    assert (report.parsed, report.failed) == (0, False)
    assert report.rendered >= report.pages  # every page shows the base URL
    assert parse(site.output / story).select_one(".body a")["href"] == "/digest/topics/climate/"
    clean = tmp_path / "clean"
    build(BuildOptions(site_dir=site.root, output_dir=clean, base_url=digest, use_cache=False))
    assert snapshot(site.output) == snapshot(clean)
    assert build(BuildOptions(site_dir=site.root, jobs=1)).parsed == 0  # and back


def test_serve_then_build_reuse_the_parsed_records(site: Scratch) -> None:
    """`masthead serve` and `masthead build` on one site share the cache: what the
    preview parsed, the build does not parse again (and the other way round)."""
    from masthead.commands.serve import Preview, ServeOptions

    site.add("2026-11-16-new.md", _record(16, "Climate", "Harbour Ledger", day=16))
    preview = Preview(ServeOptions(BuildOptions(site_dir=site.root, jobs=1, search=False), port=0))
    try:
        preview.rebuild(set())
        assert preview.last_report is not None and preview.last_report.parsed == 1
    finally:
        preview.stop()  # saves the cache, as Ctrl-C does
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert (report.parsed, report.failed) == (0, False)
    assert report.rendered > 0  # the preview names assets without a hash: pages differ
    site.add("2026-11-17-newer.md", _record(17, "Climate", "Harbour Ledger", day=17))
    assert build(BuildOptions(site_dir=site.root, jobs=1)).parsed == 1
    preview = Preview(ServeOptions(BuildOptions(site_dir=site.root, jobs=1, search=False), port=0))
    try:
        preview.rebuild(set())
        assert preview.last_report is not None and preview.last_report.parsed == 0
    finally:
        preview.stop()
