"""The build cache's files: what each holds survives a round trip, and whatever does not
match (cut short, a flipped byte, another schema or masthead version, another kind, a
delta for another records.bin, a cache folder that is a file) is discarded with one
warning, after which the build parses everything again and its output is a clean build's.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest

from masthead import cachefile
from masthead.building.build import BuildOptions, build
from masthead.building.state import (
    DELTA,
    RECORDS,
    STATE,
    TEMPLATES_KEPT,
    BuildState,
    Files,
    ParsedFile,
    cache_usable,
    load_files,
    load_state,
    save_files,
    save_state,
    template_cache,
)
from masthead.diagnostics import Diagnostic
from masthead.hashing import bytes_digest
from tests.conftest import Scratch, masthead
from tests.test_incremental import _record, assert_same_as_clean

KEY = "k" * 64


def _parsed(n: int) -> ParsedFile:
    warning = Diagnostic(f"content/{n}.md", n, f"problem {n}", severity="warning")
    return ParsedFile((n, n + 1, n + 2, n + 3), None, (warning,))


def _files(count: int) -> dict[str, ParsedFile]:
    return {f"content/{n}.md": _parsed(n) for n in range(count)}


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_state_survives_a_round_trip_without_its_files(tmp_path: Path) -> None:
    state = BuildState(KEY, pages={"index.html": "f" * 64}, inputs="i", files=_files(3))
    state.counts, state.drafts, state.missing_paths = (
        (3, 1, 0),
        ("content/d.md",),
        frozenset({"/x"}),
    )
    save_state(tmp_path, state)
    assert state.files == _files(3)  # given back to the caller after saving
    loaded = load_state(tmp_path, KEY)
    assert loaded.files is None  # save_files keeps those
    loaded.files = state.files
    assert loaded == state
    assert load_state(tmp_path, "other key") == BuildState("other key", files={})


def test_records_survive_a_round_trip_in_chunks_and_a_delta(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import masthead.building.state

    monkeypatch.setattr(masthead.building.state, "_CHUNK", 4)  # several chunks
    files = _files(10)
    base, delta = save_files(tmp_path, KEY, files, None)
    assert delta == frozenset() and not (tmp_path / "records-delta.bin").exists()
    found = cachefile.read(tmp_path / "records.bin", RECORDS)
    assert found is not None and len(found[0]) == 3 and found[1] == base
    assert load_files(tmp_path, KEY) == Files(files, base, frozenset())
    records_bin = (tmp_path / "records.bin").read_bytes()

    edited = {**files, "content/3.md": _parsed(33), "content/new.md": _parsed(99)}
    del edited["content/4.md"]
    saved = save_files(tmp_path, KEY, edited, Files(files, base, frozenset()))
    changed = frozenset({"content/3.md", "content/4.md", "content/new.md"})
    assert saved == (base, changed)
    assert (tmp_path / "records.bin").read_bytes() == records_bin  # one edit: not rewritten
    assert load_files(tmp_path, KEY) == Files(edited, base, changed)
    assert save_files(tmp_path, KEY, edited, Files(edited, base, changed)) is None
    assert load_files(tmp_path, "other key") == Files({}, "", frozenset())


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) - 40]
    elif how == "flipped":
        data[-10] ^= 0x01
    elif how == "format":  # written by the code before a schema change
        name = f" {STATE.name} {STATE.version} ".encode()
        data = data.replace(name, f" {STATE.name} {STATE.version - 1} ".encode(), 1)
    elif how == "header":
        data[5] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("truncated", "corrupt (checksum mismatch)"),
        ("flipped", "corrupt (checksum mismatch)"),
        ("format", f"({STATE.name} {STATE.version - 1})"),
        ("header", "not a masthead build cache"),
    ],
)
def test_a_damaged_state_file_is_discarded_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str, said: str
) -> None:
    save_state(tmp_path, BuildState(KEY, pages={"a.html": "x"}))
    _damage(tmp_path / "build-state.bin", how)
    assert load_state(tmp_path, KEY) == BuildState(KEY, files={})
    (warning,) = _warnings(caplog)
    assert warning.startswith(f"{tmp_path / 'build-state.bin'}: ")
    assert said in warning and warning.endswith("; discarded")


def test_a_file_of_another_masthead_version_is_discarded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cachefile, "__version__", "0.0.1")
    save_files(tmp_path, KEY, _files(2), None)
    monkeypatch.undo()
    assert load_files(tmp_path, KEY) == Files({}, "", frozenset())
    assert _warnings(caplog) == [
        f"{tmp_path / 'records.bin'}: build cache from masthead 0.0.1"
        f" ({RECORDS.name} {RECORDS.version}); discarded"
    ]


def test_a_file_of_another_kind_in_its_place_is_discarded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save_files(tmp_path, KEY, _files(2), None)
    os.replace(tmp_path / "records.bin", tmp_path / "build-state.bin")
    assert load_state(tmp_path, KEY) == BuildState(KEY, files={})
    assert "holds a records, not a build-state; discarded" in caplog.text


def test_a_payload_of_the_wrong_type_is_not_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file whose header and digest match but whose payload is not the kind's type
    (made by hand here; a bug or a hand-edit in life) is discarded, not used."""
    with cachefile.writing(tmp_path / "build-state.bin", STATE) as out:
        payload = pickle.dumps({"key": KEY})
        out.file.write(payload)
        out.seal(bytes_digest(payload))
    assert load_state(tmp_path, KEY) == BuildState(KEY, files={})
    assert "does not hold a build-state" in caplog.text


def test_a_delta_made_for_another_records_bin_discards_both(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = _files(5)
    base, _ = save_files(tmp_path, KEY, files, None)  # type: ignore[misc]
    save_files(
        tmp_path, KEY, {**files, "content/1.md": _parsed(11)}, Files(files, base, frozenset())
    )
    assert (tmp_path / "records-delta.bin").is_file()
    save_files(tmp_path / "other", KEY, _files(6), None)
    os.replace(tmp_path / "other" / "records.bin", tmp_path / "records.bin")
    assert load_files(tmp_path, KEY) == Files({}, "", frozenset())
    assert _warnings(caplog) == [
        f"{tmp_path / 'records-delta.bin'}: made for another records.bin; discarded"
    ]
    assert DELTA.name == "records-delta"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    save_state(tmp_path, BuildState(KEY, pages={"a.html": "x"}))
    before = (tmp_path / "build-state.bin").read_bytes()
    broken = BuildState(KEY, pages={"a.html": lambda: None})  # type: ignore[dict-item]
    with pytest.raises((pickle.PicklingError, AttributeError)):
        save_state(tmp_path, broken)
    assert (tmp_path / "build-state.bin").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build-state.bin"]


def test_a_cache_folder_that_is_a_file_means_one_warning_and_no_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "cache").write_text("not a folder")
    assert not cache_usable(tmp_path / "cache")
    assert len(_warnings(caplog)) == 1 and "building without it" in caplog.text
    assert (tmp_path / "cache").read_text() == "not a folder"  # left as it was


# -- end to end: what a build does with what it cannot use ---------------------------


def four_stories(scratch: Scratch) -> Scratch:
    """A small site built once, with its cache (test_modelstore's too)."""
    scratch.config('title = "Cache"\npage_size = 2\n')
    for n in range(4):
        scratch.add(
            f"2026-11-1{n}-story-{n}.md", _record(n, "Climate", "Harbour Ledger", day=10 + n)
        )
    assert not build(BuildOptions(site_dir=scratch.root, jobs=1)).failed
    return scratch


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    return four_stories(scratch)


@pytest.mark.parametrize(
    ("name", "how"),
    [
        ("build-state.bin", "truncated"),
        ("records.bin", "flipped"),
        ("records.bin", "version"),
        ("cache", "a file"),
    ],
)
def test_a_build_after_the_cache_went_bad_parses_everything_and_equals_a_clean_build(
    site: Scratch, tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, how: str
) -> None:
    cache = site.root / ".masthead-cache"
    if how == "a file":
        shutil.rmtree(cache)
        cache.write_text("in the way")
    elif how == "version":
        data = (cache / name).read_bytes()
        was, older = (
            f" {RECORDS.name} {v} ".encode() for v in (RECORDS.version, RECORDS.version - 1)
        )
        assert was in data
        (cache / name).write_bytes(data.replace(was, older, 1))
    else:
        _damage(cache / name, how)
    # Another topic: the site changes shape, so the records are read (not the stored model).
    site.add("2026-11-11-story-1.md", _record(1, "Transport", "Harbour Ledger", day=11))
    report = build(BuildOptions(site_dir=site.root, jobs=1))
    assert not report.failed and report.parsed == 4  # nothing from the cache was used
    assert len([w for w in _warnings(caplog) if "discarded" in w or "without it" in w]) == 1
    assert_same_as_clean(site, tmp_path)


def test_a_damaged_cache_file_is_named_from_the_working_folder(site: Scratch) -> None:
    """`cd mysite && masthead build` names the file it discards as it names records."""
    _damage(site.root / ".masthead-cache" / "records.bin", "flipped")
    site.add("2026-11-11-story-1.md", _record(1, "Transport", "Harbour Ledger", day=11))
    done = masthead("build", "--no-search", cwd=site.root)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "discarded" in line]
    assert line.startswith("WARNING: .masthead-cache/records.bin: "), line


# -- compiled templates ----------------------------------------------------------------


def test_old_compiled_template_folders_are_removed_the_recent_ones_kept(tmp_path: Path) -> None:
    digests = [f"{n:x}" * 64 for n in range(TEMPLATES_KEPT + 2)]
    for age, digest in enumerate(reversed(digests)):  # the first digest is the oldest
        folder = tmp_path / f"config-{digest[:16]}"
        (folder / "templates").mkdir(parents=True)
        os.utime(folder, ns=(10**18 - age * 10**9,) * 2)
    (tmp_path / "config-notours").mkdir()
    (tmp_path / "records.bin").write_bytes(b"kept")
    folder = template_cache(tmp_path, digests[0])  # the oldest, used again
    assert folder == tmp_path / f"config-{digests[0][:16]}" and folder.is_dir()
    kept = {digests[0], *digests[-(TEMPLATES_KEPT - 1) :]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(f"config-{d[:16]}" for d in kept), "config-notours", "records.bin"]
    )


def test_build_and_serve_base_urls_keep_their_compiled_templates(
    site: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The site's own base URL and a preview's each keep their compiled templates, used
    again rather than compiled again; another config evicts the least recently used."""
    import masthead.building.state

    cache = site.root / ".masthead-cache"
    configs = lambda: {p.name for p in cache.iterdir() if p.name.startswith("config-")}  # noqa: E731
    (own,) = configs()
    compiled = {p: p.stat().st_mtime_ns for p in (cache / own / "templates").iterdir()}
    assert compiled
    assert not build(
        BuildOptions(site_dir=site.root, jobs=1, base_url="http://127.0.0.1:8000/")
    ).failed
    (preview,) = configs() - {own}
    site.add("2026-11-11-story-1.md", _record(1, "Climate", "Harbour Ledger", title="Re", day=11))
    assert not build(BuildOptions(site_dir=site.root, jobs=1)).failed
    assert configs() == {own, preview}
    assert {p: p.stat().st_mtime_ns for p in (cache / own / "templates").iterdir()} == compiled
    monkeypatch.setattr(masthead.building.state, "TEMPLATES_KEPT", 2)
    assert not build(BuildOptions(site_dir=site.root, jobs=1, base_url="https://b.example/")).failed
    assert len(configs() - {own}) == 1 and preview not in configs()  # the least recently used


# -- the other caches: the search shards' and the images' ----------------------------


def test_every_cache_file_is_a_declared_kind_with_its_own_name() -> None:
    import masthead.building.modelstore
    import masthead.outputs.images
    import masthead.outputs.search_shards  # noqa: F401

    assert sorted(cachefile.KINDS) == [
        "build-state", "image-index", "model", "records", "records-delta", "search-catalog",
        "search-shard",
    ]  # fmt: skip


def test_a_damaged_image_index_is_discarded_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from masthead.outputs.images import INDEX, _Store

    store = _Store(tmp_path)
    store.open()
    store.urls = {"https://img.example/a.png": "a" * 64}
    store.save()
    again = _Store(tmp_path)
    again.read()
    assert again.urls == store.urls
    data = bytearray((tmp_path / INDEX).read_bytes())
    data[-3] ^= 0x01
    (tmp_path / INDEX).write_bytes(bytes(data))
    damaged = _Store(tmp_path)
    damaged.read()
    assert damaged.urls == {}
    assert _warnings(caplog) == [
        f"{tmp_path / INDEX}: build cache is corrupt (checksum mismatch); discarded"
    ]


def test_a_cached_search_shard_round_trips_and_a_damaged_one_is_discarded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from masthead.outputs.search_shards import _Cache

    cache = _Cache(tmp_path, ("", "t" * 64))
    bundle = {"pagefind-entry.json": b"{}", "fragment/a.pf_fragment": b"\x00\x01"}
    cache.put("2026", bundle, [("/a/", "<html>a</html>")])
    assert cache.get("2026") == bundle
    assert _Cache(tmp_path, ("", "t" * 64)).docs("2026") == {"/a/": "<html>a</html>"}
    path = tmp_path / "2026.shard"
    path.write_bytes(path.read_bytes()[:-1])
    assert _Cache(tmp_path, ("", "t" * 64)).get("2026") is None
    assert _warnings(caplog) == [f"{path}: build cache is corrupt (checksum mismatch); discarded"]
