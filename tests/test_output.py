"""The writer: only changed bytes written, only its own stale files removed, nothing outside."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from masthead.building.build import BuildOptions, build
from masthead.diagnostics import ConfigError, OutputError
from masthead.outputs import writer as writer_module
from masthead.outputs.writer import MANIFEST, STAGING, OutputWriter, check_folders
from tests.conftest import Scratch, copy_site, snapshot
from tests.htmlcheck import broken_links_on, parse


def article(scratch: Scratch, slug: str, day: str = "18") -> Path:
    return scratch.output / f"news/2026/11/{day}/{slug}/index.html"


def two_stories(scratch: Scratch) -> None:
    scratch.add("2026-11-18-kept.md", title="Kept", topics=("Rail",))
    scratch.add("2026-11-18-dropped.md", title="Dropped", topics=("Budget",))


DROPPED_TOPIC = {
    "topics/budget/index.html",
    "topics/budget/feed.xml",
    "topics/budget/rss.xml",
    "topics/budget/feed.json",
    "api/news/topics/budget/index.json",
}
"""What the Budget topic of `two_stories` has: its page, its feeds, its API list."""


def removed_besides_search(paths: list[str]) -> set[str]:
    """Removed files other than search-index files, whose names hash their contents."""
    return {p for p in paths if not p.startswith("pagefind/")}


# Only what changed ---------------------------------------------------------------------


@pytest.mark.parametrize("use_cache", [True, False])
def test_second_build_writes_nothing(scratch: Scratch, use_cache: bool) -> None:
    two_stories(scratch)
    first = scratch.build(use_cache=use_cache)
    assert first.written == first.files > 0
    before = snapshot(scratch.output)
    os.utime(scratch.content / "2026-11-18-kept.md")  # touched, not changed
    second = scratch.build(use_cache=use_cache)
    assert (second.written, second.removed, second.files) == (0, 0, first.files)
    assert snapshot(scratch.output) == before
    assert not (scratch.output / STAGING).exists()


def test_an_edit_rewrites_only_the_pages_that_show_it(scratch: Scratch) -> None:
    two_stories(scratch)
    older = {
        "when": "2026-11-17T09:00:00Z",
        "url": "https://news.example/older",
        "topics": ("Ports",),
    }
    scratch.add("2026-11-17-older.md", title="Older", **older)
    scratch.build()
    before = snapshot(scratch.output)
    scratch.add("2026-11-17-older.md", title="Older, edited", **older)
    report = scratch.build()
    after = snapshot(scratch.output)
    changed = {rel for rel in after if before.get(rel, (b"", 0))[0] != after[rel][0]}
    assert "news/2026/11/17/older/index.html" in changed
    assert "topics/budget/index.html" not in changed
    assert report.written == len(changed - {MANIFEST})
    unchanged = set(after) - changed
    assert all(after[rel][1] == before[rel][1] for rel in unchanged)


# Stale files ---------------------------------------------------------------------------


def test_stale_files_of_an_earlier_build_are_removed(scratch: Scratch) -> None:
    two_stories(scratch)
    scratch.build()
    assert article(scratch, "dropped").is_file()
    (scratch.content / "2026-11-18-dropped.md").unlink()
    report = scratch.build()
    assert not article(scratch, "dropped").exists()
    assert not article(scratch, "dropped").parent.exists()  # emptied folders go too
    assert not (scratch.output / "topics/budget").exists()
    dropped = article(scratch, "dropped").relative_to(scratch.output).as_posix()
    assert removed_besides_search(report.removed_paths) == {dropped, *DROPPED_TOPIC}
    manifest = json.loads((scratch.output / MANIFEST).read_text())["files"]
    assert "news/2026/11/18/dropped/index.html" not in manifest
    assert article(scratch, "kept").is_file()


def test_files_the_user_added_are_never_removed(scratch: Scratch) -> None:
    two_stories(scratch)
    scratch.build()
    mine = {
        "CNAME": b"digest.example.org\n",
        "extra/notes.txt": b"my notes\n",
        "news/2026/11/18/dropped/comments.txt": b"kept beside a stale page\n",
    }
    for rel, data in mine.items():
        (scratch.output / rel).parent.mkdir(parents=True, exist_ok=True)
        (scratch.output / rel).write_bytes(data)
    (scratch.content / "2026-11-18-dropped.md").unlink()
    scratch.build()
    scratch.build()
    assert {rel: (scratch.output / rel).read_bytes() for rel in mine} == mine
    assert not article(scratch, "dropped").exists()


def test_a_stale_file_the_user_changed_is_left_in_place(
    scratch: Scratch, caplog: pytest.LogCaptureFixture
) -> None:
    two_stories(scratch)
    scratch.build()
    page = article(scratch, "dropped")
    page.write_text("<p>my own edit</p>", encoding="utf-8")
    (scratch.content / "2026-11-18-dropped.md").unlink()
    with caplog.at_level(logging.WARNING):
        report = scratch.build()
    assert page.read_text(encoding="utf-8") == "<p>my own edit</p>"
    assert removed_besides_search(report.removed_paths) == DROPPED_TOPIC  # not the edited page
    assert any(
        str(page) in r.getMessage() and "left in place" in r.getMessage() for r in caplog.records
    )


# What a reader finds while a commit is under way ------------------------------------------


def _names_missing(output: Path) -> list[str]:
    """What the live front page links to and the live search bundle names, but is not
    there: a reader of the site as it is at this instant would get a 404 for it."""
    missing = broken_links_on(output / "index.html", output)
    bundle = output / "pagefind"
    shards = json.loads((bundle / "shards.json").read_text())["merge"]
    for folder in [bundle, *(bundle / shard for shard in shards)]:
        entry = folder / "pagefind-entry.json"
        if not entry.is_file():
            missing.append(f"shards.json: {folder.name}")
            continue
        for language in json.loads(entry.read_text())["languages"].values():
            if not (folder / f"pagefind.{language['hash']}.pf_meta").is_file():
                missing.append(f"{entry.relative_to(output)}: {language['hash']}")
    return missing


@pytest.mark.parametrize("newest_first", [False, True], ids=["a-z", "z-a"])
def test_a_reader_during_a_commit_finds_everything_it_is_pointed_to(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, newest_first: bool
) -> None:
    """Whatever order the file system lists a folder in: an added story's page is in
    place before the front page linking to it, and a new search shard before the list
    of shards and the entry that name it."""
    scratch.add("2025-06-02-old.md", title="Old", when="2025-06-02T09:00:00Z")
    scratch.add("2026-11-18-kept.md", title="Kept")
    scratch.build()
    scratch.add("2025-06-02-old.md", title="Old, retitled", when="2025-06-02T09:00:00Z")
    scratch.add("2026-11-19-added.md", title="Added", when="2026-11-19T09:00:00Z")
    listing, commit, seen = os.scandir, OutputWriter.commit, []

    def in_an_order(path: Any) -> contextlib.nullcontext[list[os.DirEntry[str]]]:
        with listing(path) as entries:
            return contextlib.nullcontext(
                sorted(entries, key=lambda e: e.name, reverse=newest_first)
            )

    def look(phase: str) -> None:
        if phase == "commit":
            seen.append(_names_missing(scratch.output))

    def ordered_commit(writer: OutputWriter) -> None:
        with monkeypatch.context() as m:
            m.setattr(os, "scandir", in_an_order)
            commit(writer)

    monkeypatch.setattr(OutputWriter, "commit", ordered_commit)
    monkeypatch.setattr(writer_module, "kill_point", look)
    scratch.build()
    assert len(seen) > 10, "the commit was not looked at step by step"
    assert [names for names in seen if names] == []
    assert _names_missing(scratch.output) == []
    assert "Added" in parse(scratch.output / "index.html").get_text()


# Nothing outside the output folder -----------------------------------------------------


def test_a_symlinked_subfolder_leading_outside_is_refused(scratch: Scratch, tmp_path: Path) -> None:
    two_stories(scratch)
    scratch.build()
    outside = tmp_path / "outside"
    outside.mkdir()
    news = scratch.output / "news"
    shutil.rmtree(news)
    news.symlink_to(outside, target_is_directory=True)
    scratch.add("2026-11-19-new.md", title="New", when="2026-11-19T09:00:00Z")
    before = snapshot(scratch.output)
    with pytest.raises(OutputError, match="outside the output folder"):
        scratch.build()
    assert list(outside.iterdir()) == []
    assert snapshot(scratch.output) == before  # the refusal came before any file moved
    assert not (scratch.output / STAGING).exists()


def test_a_planted_staging_symlink_is_not_followed(scratch: Scratch, tmp_path: Path) -> None:
    two_stories(scratch)
    scratch.build()
    outside = tmp_path / "outside"
    outside.mkdir()
    (scratch.output / STAGING).symlink_to(outside, target_is_directory=True)
    scratch.add("2026-11-19-new.md", title="New", when="2026-11-19T09:00:00Z")
    scratch.build()
    assert list(outside.iterdir()) == []
    assert article(scratch, "new", "19").is_file()


def test_a_manifest_naming_outside_files_removes_nothing_there(
    scratch: Scratch, tmp_path: Path
) -> None:
    two_stories(scratch)
    scratch.build()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    manifest_path = scratch.output / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    digest = hashlib.sha256(b"precious").hexdigest()
    for name in ("../../victim.txt", str(victim), "news/../../../victim.txt"):
        manifest["files"][name] = digest
    manifest_path.write_text(json.dumps(manifest))
    scratch.build()
    assert victim.read_bytes() == b"precious"


def test_a_non_empty_foreign_output_folder_is_refused(scratch: Scratch) -> None:
    two_stories(scratch)
    scratch.output.mkdir()
    (scratch.output / "index.html").write_text("someone else's site")
    with pytest.raises(OutputError, match="not empty"):
        scratch.build()
    assert [p.name for p in scratch.output.iterdir()] == ["index.html"]
    assert (scratch.output / "index.html").read_text() == "someone else's site"


def test_two_pages_wanting_one_file_fail_the_build(scratch: Scratch) -> None:
    scratch.config('[urls]\narticle = "/{slug}/"\n')
    scratch.add("2026-11-18-topics.md", title="Topics")  # its URL is the topic index's
    with pytest.raises(OutputError, match="same output file"):
        scratch.build()
    assert not scratch.output.exists()


# Folders that must never be the output -------------------------------------------------


@pytest.fixture
def site(site_in_home: Path) -> Path:
    return site_in_home


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (".", "the site folder"),
        ("content", "content"),
        ("templates", "templates/"),
        ("static", "static/"),
        ("data", "data/"),
        ("..", "contains the site folder"),
        ("../..", "your home folder"),
        ("/", "the file system root"),
    ],
)
def test_unsafe_output_folders_are_refused(site: Path, output: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        check_folders(site, site / "content", site / output)


def test_content_inside_the_output_is_refused(site: Path) -> None:
    with pytest.raises(ConfigError, match="inside the output folder"):
        check_folders(site, site / "public" / "records", site / "public")
    with pytest.raises(ConfigError, match=r"inside the (site's )?content"):
        check_folders(site, site / "content", site / "content" / "public")
    with pytest.raises(ConfigError, match="inside the content folder"):
        check_folders(site, site.parent / "records", site.parent / "records" / "public")


def test_a_safe_output_folder_passes(site: Path, tmp_path: Path) -> None:
    check_folders(site, site / "content", site / "public")
    check_folders(site, site / "content", tmp_path / "elsewhere" / "out")


def test_an_unsafe_output_refuses_before_touching_anything(site: Path) -> None:
    (site / "content" / "2026-11-18-x.md").write_text(
        "---\ntitle: X\npublishedDateTime: 2026-11-18\n---\n"
    )
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    with pytest.raises(ConfigError):
        build(BuildOptions(site_dir=site, output_dir=site / "content"))
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before


# Determinism ---------------------------------------------------------------------------


def test_two_clean_builds_are_byte_identical(tmp_path: Path) -> None:
    """Built once here and once in a fresh interpreter with another hash seed and local zone."""
    site, first, second = copy_site("harbour", tmp_path), tmp_path / "first", tmp_path / "second"
    report = build(BuildOptions(site_dir=site, output_dir=first, cache_dir=tmp_path / "cache1"))
    assert report.skipped == 0 and report.files > 10
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TZ": "America/Los_Angeles", "LC_ALL": "C"}
    command = ["-m", "masthead", "build", "--site", str(site), "--output", str(second)]
    subprocess.run(
        [sys.executable, *command, "--cache-dir", str(tmp_path / "cache2")],
        check=True,
        env=env,
        capture_output=True,
    )
    files = {p: p.relative_to(first) for p in first.rglob("*") if p.is_file()}
    assert sorted(files.values()) == sorted(
        p.relative_to(second) for p in second.rglob("*") if p.is_file()
    )
    assert [rel for p, rel in files.items() if p.read_bytes() != (second / rel).read_bytes()] == []
