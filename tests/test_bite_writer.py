"""The writer and its staging at their edges: the cases mutation testing found unchecked.

OutputWriter is driven directly over a temporary folder: what is on disk after each
step, what the manifest says, and what is refused, without a whole build around it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import resource
import shutil
import signal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masthead.diagnostics import ConfigError, OutputError
from masthead.hashing import bytes_digest
from masthead.outputs import writer as writer_module
from masthead.outputs.writer import (
    JOURNAL,
    MANIFEST,
    STAGING,
    OutputWriter,
    check_cache_folder,
    check_folders,
    is_safe_rel,
    make_work_folder,
    output_lock,
    read_manifest,
    write_error,
)


def _build(root: Path, files: dict[str, bytes]) -> OutputWriter:
    writer = OutputWriter(root)
    for rel, data in files.items():
        writer.write(rel, data)
    writer.commit()
    return writer


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def test_a_committed_file_is_on_disk_and_in_the_manifest(tmp_path: Path) -> None:
    root = tmp_path / "public"
    writer = OutputWriter(root)
    assert writer.write("news/a.html", b"<p>a</p>") is True
    assert not (root / "news").exists()  # staged only, until the commit
    writer.commit()
    assert _files(root) == {"news/a.html": b"<p>a</p>"}
    assert read_manifest(root / MANIFEST) == {"news/a.html": bytes_digest(b"<p>a</p>")}
    assert not (root / STAGING).exists() and not (root / JOURNAL).exists()


@pytest.mark.parametrize(
    "rel",
    [
        "",
        "/etc/x",
        "a\\b",
        "a\x00b",
        "a//b",
        "./a",
        "a/../b",
        "a/.",
        "..",
        MANIFEST,
        STAGING + "/x",
        STAGING + "/deep/x.html",
    ],
)
def test_a_path_leaving_the_folder_or_naming_bookkeeping_is_refused(
    tmp_path: Path, rel: str
) -> None:
    writer = OutputWriter(tmp_path / "public")
    with pytest.raises(OutputError, match="refusing to write outside the output folder"):
        writer.write(rel, b"x")
    writer.abort()
    assert not (tmp_path / "public").exists()


@pytest.mark.parametrize("rel", ["a", "a/b.html", "a.b/.well-known/c", "..a/b.."])
def test_ordinary_relative_paths_are_safe(rel: str) -> None:
    assert is_safe_rel(rel)


@given(st.text(alphabet="/.\\\x00ab", max_size=12))
def test_a_path_is_safe_exactly_when_no_part_is_empty_or_leads_up(rel: str) -> None:
    parts = rel.split("/")
    expected = all(p not in ("", ".", "..") for p in parts) and not {"\\", "\x00"} & set(rel)
    assert is_safe_rel(rel) == expected


def test_an_unchanged_file_is_not_written_again_and_a_changed_one_is(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"same", "b.html": b"old"})
    before = (root / "a.html").stat().st_mtime_ns
    writer = OutputWriter(root)
    assert writer.write("a.html", b"same") is False
    assert writer.write("b.html", b"new!") is True
    assert writer.staged == ["b.html"]
    writer.commit()
    assert _files(root) == {"a.html": b"same", "b.html": b"new!"}
    assert (root / "a.html").stat().st_mtime_ns == before


def test_a_file_whose_size_changed_on_disk_is_written_again(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"same"})
    (root / "a.html").write_bytes(b"truncated by someone")
    writer = OutputWriter(root)
    assert writer.write("a.html", b"same") is True


def test_an_unchanged_build_touches_no_file_not_even_the_manifest(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    stamp = (root / MANIFEST).stat().st_mtime_ns
    writer = _build(root, {"a.html": b"a"})
    assert (root / MANIFEST).stat().st_mtime_ns == stamp
    assert writer.removed == [] and not (root / STAGING).exists()


def test_stale_files_go_and_their_empty_folders_with_them(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(
        root, {"a.html": b"a", "old/deep/x.html": b"x", "keep/y.html": b"y", "keep/z.html": b"z"}
    )
    writer = _build(root, {"a.html": b"a", "keep/y.html": b"y"})
    assert sorted(writer.removed) == ["keep/z.html", "old/deep/x.html"]
    assert _files(root) == {"a.html": b"a", "keep/y.html": b"y"}
    assert not (root / "old").exists() and (root / "keep").is_dir()
    assert read_manifest(root / MANIFEST) == {
        "a.html": bytes_digest(b"a"),
        "keep/y.html": bytes_digest(b"y"),
    }


def test_a_second_page_for_the_same_file_is_refused(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path / "public")
    writer.write("a.html", b"one")
    with pytest.raises(OutputError, match=r"two pages want the same output file: a\.html"):
        writer.write("a.html", b"two")


def test_keep_carries_over_only_what_the_last_build_wrote_and_is_still_there(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "b.html": b"b", "c.html": b"c"})
    (root / "b.html").unlink()
    writer = OutputWriter(root)
    assert writer.keep("a.html") is True
    assert writer.keep("a.html") is False  # once
    assert writer.keep("b.html") is False  # deleted since: render it again
    assert writer.keep("b.html", check=False) is True  # trusted without looking
    assert writer.keep("new.html") is False
    assert writer.still_there("c.html") and not writer.still_there("b.html")
    assert not writer.still_there("new.html")
    writer.commit()
    assert _files(root) == {"a.html": b"a"}  # c.html was not kept: stale, removed
    assert set(read_manifest(root / MANIFEST)) == {"a.html", "b.html"}


def test_a_journal_left_by_a_cut_short_commit_makes_every_file_written_again(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "gone.html": b"g"})
    journal = {
        "version": 1,
        "files": {"a.html": bytes_digest(b"a"), "half.html": bytes_digest(b"h")},
    }
    (root / JOURNAL).write_text(json.dumps(journal))
    (root / "half.html").write_bytes(b"h")
    writer = OutputWriter(root)
    assert writer.untrusted
    assert not writer.still_there("a.html") and writer.keep("a.html") is False
    assert writer.write("a.html", b"a") is True  # nothing on disk is trusted
    writer.commit()
    assert _files(root) == {"a.html": b"a"}  # both manifests' stale files removed
    assert not (root / JOURNAL).exists() and not writer.untrusted
    assert read_manifest(root / MANIFEST) == {"a.html": bytes_digest(b"a")}


def test_a_journal_that_is_not_one_still_means_a_full_rewrite(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "gone.html": b"g"})
    (root / JOURNAL).write_text("{not json")
    writer = OutputWriter(root)
    assert writer.untrusted and writer.write("a.html", b"a") is True
    writer.commit()
    assert _files(root) == {"a.html": b"a"}


def test_a_stale_file_changed_since_survives_a_recovery_with_a_word_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "mine.html": b"m"})
    (root / JOURNAL).write_text(json.dumps({"version": 1, "files": {}}))
    (root / "mine.html").write_bytes(b"edited by the user")
    with caplog.at_level(logging.WARNING, logger="masthead.outputs.writer"):
        writer = _build(root, {"a.html": b"a"})
    assert writer.removed == []
    assert (root / "mine.html").read_bytes() == b"edited by the user"
    assert (
        caplog.messages[-1]
        == f"{root / 'mine.html'}: changed since masthead wrote it; left in place"
    )


@pytest.mark.parametrize(
    "manifest",
    ['{"version": 2, "files": {}}', '{"version": 1, "files": []}', '{"files": {}}', "[]", "x"],
)
def test_an_unreadable_manifest_stops_the_writer_and_names_it(
    tmp_path: Path, manifest: str
) -> None:
    root = tmp_path / "public"
    root.mkdir()
    (root / MANIFEST).write_text(manifest)
    (root / "a.html").write_bytes(b"the user's")
    with pytest.raises(OutputError, match="unreadable manifest"):
        OutputWriter(root)
    assert (root / "a.html").read_bytes() == b"the user's"


def test_a_manifest_entry_leaving_the_folder_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST
    files = {"a.html": "1", "../x": "2", "/etc/passwd": "3", "b/./c": "4"}
    path.write_text(json.dumps({"version": 1, "files": files}))
    assert read_manifest(path) == {"a.html": "1"}


def test_a_foreign_folder_is_refused_but_one_holding_only_bookkeeping_is_not(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    (root / STAGING).mkdir(parents=True)
    (root / STAGING / "left.html").write_bytes(b"from a killed build")
    writer = _build(root, {"a.html": b"a"})
    assert _files(root) == {"a.html": b"a"} and writer.created_root is False
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="is not empty and was not written by masthead"):
        OutputWriter(other)


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "public").write_text("a file")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        OutputWriter(tmp_path / "public")
    with (
        pytest.raises(OutputError, match="exists and is not a folder"),
        output_lock(tmp_path / "public"),
    ):
        pass


def test_abort_leaves_the_live_site_and_removes_a_folder_made_for_the_build(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    writer = OutputWriter(root)
    writer.write("a.html", b"changed")
    writer.abort()
    assert _files(root) == {"a.html": b"a"} and not (root / STAGING).exists()
    fresh = OutputWriter(tmp_path / "fresh")
    fresh.write("x/y.html", b"y")
    fresh.abort()
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize(("first", "second"), [("a/b.html", "a"), ("a", "a/b.html")])
def test_a_file_where_a_folder_belongs_and_back_is_refused_before_moving_any(
    tmp_path: Path, first: str, second: str
) -> None:
    root = tmp_path / "public"
    _build(root, {"z.html": b"z"})
    (root / first).parent.mkdir(parents=True, exist_ok=True)
    (root / first).write_bytes(b"someone's")
    writer = OutputWriter(root, previous={"z.html": bytes_digest(b"z")})
    writer.write("z.html", b"new z")
    writer.write(second, b"page")
    with pytest.raises(OutputError, match=r"where a (folder|file) belongs"):
        writer.commit()
    assert (root / "z.html").read_bytes() == b"z"


def test_a_symlinked_folder_in_the_output_is_never_written_through(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "public", tmp_path / "elsewhere"
    _build(root, {"a.html": b"a"})
    elsewhere.mkdir()
    (root / "news").symlink_to(elsewhere, target_is_directory=True)
    writer = OutputWriter(root)
    writer.write("news/x.html", b"x")
    with pytest.raises(OutputError, match="leads outside the output folder"):
        writer.commit()
    assert list(elsewhere.iterdir()) == []


def test_the_lock_says_whether_it_made_the_folder_and_removes_it_if_still_empty(
    tmp_path: Path,
) -> None:
    with output_lock(tmp_path / "new") as created:
        assert created and (tmp_path / "new").is_dir()
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    with output_lock(tmp_path / "old") as created:
        assert not created
    assert (tmp_path / "old").is_dir()


def test_a_recovery_says_so_naming_the_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    (root / JOURNAL).write_text("{}")
    with caplog.at_level(logging.WARNING, logger="masthead.outputs.writer"):
        OutputWriter(root)
    assert caplog.messages == [
        f"{root}: the last build was stopped while it replaced the output; this build "
        "writes every file again"
    ]


def test_a_file_name_the_system_refuses_is_one_error_naming_folder_reason_and_file(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    writer = OutputWriter(root)
    name = "n" * 300 + ".html"
    with pytest.raises(OutputError) as caught:
        writer.write(name, b"x")
    assert str(caught.value) == (
        f"cannot write to the output folder {root}: File name too long ({root / STAGING / name})"
    )


def test_an_output_under_a_file_is_one_error_naming_the_folder_alone(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    root = tmp_path / "file" / "public"
    writer = OutputWriter(root)
    with pytest.raises(OutputError) as caught:
        writer.write("a.html", b"x")
    assert str(caught.value) == f"cannot write to the output folder {root}: Not a directory"


def test_a_stale_file_gone_or_replaced_by_a_link_is_not_counted_as_removed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "gone.html": b"g", "linked.html": b"l"})
    (root / "gone.html").unlink()
    (root / "linked.html").unlink()
    (root / "linked.html").symlink_to(root / "a.html")
    writer = _build(root, {"a.html": b"a"})
    assert writer.removed == []
    assert (root / "linked.html").is_symlink()


def test_a_stale_file_that_cannot_be_removed_is_a_warning_not_a_failed_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a read-only folder for anyone but root (the tests may run as root)."""
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "old.html": b"o"})
    unlink = Path.unlink

    def refuse(path: Path, missing_ok: bool = False) -> None:
        if path.name == "old.html":
            raise PermissionError(13, "Permission denied")
        unlink(path, missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    with caplog.at_level(logging.WARNING, logger="masthead.outputs.writer"):
        writer = _build(root, {"a.html": b"a"})
    assert writer.removed == [] and (root / "old.html").read_bytes() == b"o"
    assert caplog.messages == [
        f"{root / 'old.html'}: could not remove stale file: [Errno 13] Permission denied"
    ]
    assert read_manifest(root / MANIFEST) == {"a.html": bytes_digest(b"a")}


def test_a_stale_file_replaced_by_a_link_to_the_same_bytes_stays(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "linked.html": b"l"})
    (tmp_path / "elsewhere.html").write_bytes(b"l")
    (root / "linked.html").unlink()
    (root / "linked.html").symlink_to(tmp_path / "elsewhere.html")
    assert _build(root, {"a.html": b"a"}).removed == []
    assert (root / "linked.html").is_symlink()
    assert (tmp_path / "elsewhere.html").read_bytes() == b"l"


def test_keep_without_looking_still_refuses_what_the_last_build_did_not_vouch_for(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    assert OutputWriter(root).keep("new.html", check=False) is False
    (root / JOURNAL).write_text("not a journal")
    recovering = OutputWriter(root)
    assert recovering.keep("a.html", check=False) is False  # the commit was cut short
    assert recovering.current == {}


def test_a_file_deleted_since_the_last_build_is_written_again(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "b.html": b"b"})
    (root / "b.html").unlink()
    writer = OutputWriter(root)
    assert writer.write("a.html", b"a") is False
    assert writer.write("b.html", b"b") is True
    writer.commit()
    assert _files(root) == {"a.html": b"a", "b.html": b"b"}


def test_a_commit_of_nothing_still_leaves_a_manifest_and_the_folders_to_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / "site" / "public"
    OutputWriter(root).commit()
    assert read_manifest(root / MANIFEST) == {}


def test_a_manifest_that_is_a_symbolic_link_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    (tmp_path / "copy.json").write_bytes((root / MANIFEST).read_bytes())
    (tmp_path / "link.json").symlink_to(tmp_path / "copy.json")
    with pytest.raises(OSError):
        read_manifest(tmp_path / "link.json")


@pytest.mark.parametrize(
    ("number", "text", "reason"),
    [(None, "boom", "boom"), (errno.ENOSPC, None, "ENOSPC")],
)
def test_a_write_error_without_the_system_s_words_names_the_error_number_or_says_what_it_can(
    tmp_path: Path, number: int | None, text: str | None, reason: str
) -> None:
    exc = OSError(text) if text else OSError()
    exc.errno = number
    assert exc.strerror is None
    said = write_error(exc, tmp_path)
    assert str(said) == f"cannot write to the output folder {tmp_path}: {reason}"


def test_a_manifest_of_another_version_is_named_as_such(tmp_path: Path) -> None:
    root = tmp_path / "public"
    root.mkdir()
    (root / MANIFEST).write_text(json.dumps({"version": 999, "files": {}}))
    with pytest.raises(OutputError) as caught:
        OutputWriter(root)
    assert str(caught.value) == (
        f"{root / MANIFEST}: unreadable manifest (unknown manifest version); remove the "
        "output folder to rebuild"
    )


def test_a_commit_that_cannot_save_its_manifest_names_the_output_folder(tmp_path: Path) -> None:
    root = tmp_path / "public"
    (root / MANIFEST).mkdir(parents=True)  # in the way of the manifest
    writer = OutputWriter(root)
    writer.write("a.html", b"a")
    with pytest.raises(OutputError) as caught:
        writer.commit()
    assert str(caught.value).startswith(f"cannot write to the output folder {root}: ")


def test_a_work_folder_is_made_new_and_empty_whatever_was_there(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "left.txt").write_text("x")
    make_work_folder(work)
    assert work.is_dir() and not work.is_symlink() and list(work.iterdir()) == []
    make_work_folder(tmp_path / "new")
    assert list((tmp_path / "new").iterdir()) == []


def test_a_link_planted_in_the_staging_folder_is_not_merged_through(tmp_path: Path) -> None:
    root, outside = tmp_path / "public", tmp_path / "outside"
    _build(root, {"news/a.html": b"a"})
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not the site's")
    writer = OutputWriter(root)
    writer.write("index.html", b"home")
    (root / STAGING / "news").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutputError):
        writer.commit()
    assert (outside / "secret.txt").read_bytes() == b"not the site's"
    assert not (root / "news" / "secret.txt").exists()


def test_the_digest_of_an_output_folder_follows_its_manifest() -> None:
    assert OutputWriter.digest_of({"a.html": "1"}) != OutputWriter.digest_of({"a.html": "2"})
    assert OutputWriter.digest_of(None) == OutputWriter.digest_of({})


def test_an_output_a_commit_was_cut_short_in_has_a_digest_of_its_own(tmp_path: Path) -> None:
    """A build trusts its cached page fingerprints only when they were made for the
    output's manifest, OutputWriter.digest_of(writer.previous) (building/phases.py). After
    a commit cut short, the files of both manifests are listed with no digest: that
    identifies an output no finished commit left, and the build after it goes on."""
    root = tmp_path / "public"
    _build(root, {"a.html": b"a", "gone.html": b"g"})
    committed = read_manifest(root / MANIFEST)
    journal = {"a.html": bytes_digest(b"a, edited"), "new.html": bytes_digest(b"n")}
    (root / JOURNAL).write_text(json.dumps({"version": 1, "files": journal}))
    recovering = OutputWriter(root)
    assert sorted(recovering.previous or {}) == ["a.html", "gone.html", "new.html"]
    digest = OutputWriter.digest_of(recovering.previous)
    others = (committed, journal, {}, dict.fromkeys(["a.html", "gone.html", "new.html"], "x"))
    assert digest not in {OutputWriter.digest_of(files) for files in others}
    recovering.write("a.html", b"a, edited")
    recovering.commit()
    assert _files(root) == {"a.html": b"a, edited"}
    assert OutputWriter.digest_of(OutputWriter(root).previous) == OutputWriter.digest_of(
        {"a.html": bytes_digest(b"a, edited")}
    )


def test_a_folder_at_the_journal_s_name_is_replaced_and_the_manifest_is_0644(
    tmp_path: Path,
) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    (root / JOURNAL).mkdir()
    (root / JOURNAL / "x").write_text("planted")
    _build(root, {"a.html": b"a", "b.html": b"b"})
    assert not (root / JOURNAL).exists()
    assert read_manifest(root / MANIFEST) == {
        "a.html": bytes_digest(b"a"),
        "b.html": bytes_digest(b"b"),
    }
    umask = os.umask(0)
    os.umask(umask)
    assert (root / MANIFEST).stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_folder_made_for_the_build_by_the_lock_goes_again_when_the_build_fails(
    tmp_path: Path,
) -> None:
    """The lock makes the folder, so it exists when the writer starts: the writer must take
    the caller's word that it is new rather than look."""
    root = tmp_path / "public"
    with output_lock(root) as created:
        writer = OutputWriter(root, created_root=created)
        writer.write("news/a.html", b"a")
        writer.abort()
        assert not root.exists()


def test_a_manifest_the_caller_vouches_for_is_not_read_again(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    committed = read_manifest(root / MANIFEST)
    (root / MANIFEST).write_text("{not json")  # would stop a writer that read it
    writer = OutputWriter(root, previous=committed)
    assert writer.write("a.html", b"a") is False
    assert writer.previous == committed


def test_a_leftover_staging_folder_that_cannot_be_removed_is_one_error_naming_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a read-only output folder for anyone but root (the tests may run as root)."""
    root = tmp_path / "public"
    _build(root, {"a.html": b"a"})
    (root / STAGING).mkdir()

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    with pytest.raises(OutputError) as caught:
        OutputWriter(root)
    assert str(caught.value) == (
        f"cannot write to the output folder {root}: Permission denied ({root / STAGING})"
    )


def test_pages_are_written_readable_by_all_and_executable_by_none(tmp_path: Path) -> None:
    """0o666 less the umask, as open() would: not 0o777 (os.open's default) or near it."""
    root = tmp_path / "public"
    umask = os.umask(0)
    try:
        _build(root, {"a.html": b"a", "news/b.html": b"b"})
    finally:
        os.umask(umask)
    assert {rel: (root / rel).stat().st_mode & 0o777 for rel in ("a.html", "news/b.html")} == {
        "a.html": 0o666,
        "news/b.html": 0o666,
    }


def test_a_write_the_system_cuts_short_names_the_file_it_was_writing(tmp_path: Path) -> None:
    """A file size limit (like a full disk) fails os.write, which names no file itself."""
    root = tmp_path / "public"
    writer = OutputWriter(root)
    writer.write("first.html", b"x")
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG rather than a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, limits[1]))
    try:
        with pytest.raises(OutputError) as caught:
            writer.write("big.html", b"x" * 4096)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert str(caught.value) == (
        f"cannot write to the output folder {root}: File too large ({root / STAGING / 'big.html'})"
    )


def test_staging_folders_made_by_a_forked_worker_are_used_by_the_parent(tmp_path: Path) -> None:
    """Render workers stage pages in forked processes, each with its own record of the
    folders it made: the parent then finds them made already."""
    root = tmp_path / "public"
    writer = OutputWriter(root)
    pid = os.fork()
    if pid == 0:  # the worker: nothing but os._exit leaves it
        code = 1
        try:
            code = 0 if writer.stage("news/a.html", b"a") == (bytes_digest(b"a"), True) else 2
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    writer.register("news/a.html", bytes_digest(b"a"), True)
    assert writer.write("news/b.html", b"b") is True
    assert writer.write("index.html", b"i") is True
    writer.commit()
    assert _files(root) == {"index.html": b"i", "news/a.html": b"a", "news/b.html": b"b"}


def test_a_file_in_the_way_of_a_staging_folder_is_named(tmp_path: Path) -> None:
    root = tmp_path / "public"
    writer = OutputWriter(root)
    writer.write("a.html", b"a")
    (root / STAGING / "news").write_bytes(b"planted")
    with pytest.raises(OutputError) as caught:
        writer.write("news/b.html", b"b")
    assert str(caught.value) == (
        f"cannot write to the output folder {root}: File exists ({root / STAGING / 'news'})"
    )


@pytest.mark.parametrize("planted", ["link", "file"])
def test_a_staging_folder_replaced_before_the_first_page_is_not_written_through(
    tmp_path: Path, planted: str
) -> None:
    root, elsewhere = tmp_path / "public", tmp_path / "elsewhere"
    _build(root, {"a.html": b"a"})
    elsewhere.mkdir()
    writer = OutputWriter(root)
    if planted == "link":
        (root / STAGING).symlink_to(elsewhere, target_is_directory=True)
    else:
        (root / STAGING).write_bytes(b"planted")
    with pytest.raises(OutputError) as caught:
        writer.write("b.html", b"b")
    assert str(caught.value) == f"{root / STAGING} was replaced while the build ran; not written"
    assert list(elsewhere.iterdir()) == []


def test_each_staging_folder_is_made_once_not_once_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build of thousands of pages in a few folders: one mkdir a folder (the docstring's
    promise), counted at the system call."""
    made: list[str] = []
    mkdir = os.mkdir

    def counted(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        made.append(os.fspath(path))
        mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    root = tmp_path / "public"
    writer = OutputWriter(root)
    monkeypatch.setattr(os, "mkdir", counted)
    for rel in ("a.html", "b.html", "news/a.html", "news/b.html", "news/x/c.html", "d.html"):
        writer.write(rel, rel.encode())
    assert sorted(made) == sorted(set(made))
    assert {str(root / STAGING), str(root / STAGING / "news" / "x")} <= set(made)


def test_a_link_planted_at_the_journal_s_temporary_name_in_a_race_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between clearing the temporary name and creating it, someone plants a link there:
    the create fails rather than write the manifest into what the link leads to."""
    root, victim = tmp_path / "public", tmp_path / "victim.txt"
    _build(root, {"a.html": b"a"})
    victim.write_bytes(b"someone's")
    writer = OutputWriter(root)
    writer.write("b.html", b"b")
    clear = writer_module.clear_work_folder

    def clear_then_plant(path: Path) -> None:
        clear(path)
        if path.name == JOURNAL + ".tmp":
            path.symlink_to(victim)

    monkeypatch.setattr(writer_module, "clear_work_folder", clear_then_plant)
    with pytest.raises(OutputError) as caught:
        writer.commit()
    assert str(caught.value).startswith(f"cannot write to the output folder {root}: File exists")
    assert victim.read_bytes() == b"someone's"
    assert not (root / "b.html").exists() and not (root / JOURNAL).exists()


@pytest.fixture
def site(site_in_home: Path) -> Path:
    return site_in_home


@pytest.mark.parametrize(
    ("output", "named"),
    [(".", "the site folder"), ("../..", "your home folder"), ("/", "the file system root")],
)
def test_a_refused_output_folder_is_named_for_what_it_is(
    site: Path, output: str, named: str
) -> None:
    folder = (site / output).resolve()
    with pytest.raises(ConfigError) as caught:
        check_folders(site, site / "content", site / output)
    assert str(caught.value) == f"refusing to use {named} ({folder}) as the output folder"


def test_a_cache_folder_among_the_user_s_folders_is_refused_as_a_cache_folder(
    site: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        check_cache_folder(site, site / "content", site / "public", site / "content")
    assert str(caught.value) == (
        f"refusing to use the site's content/ folder ({site / 'content'}) as the cache folder"
    )


@pytest.mark.parametrize(
    ("output", "cache"), [("public", "public/cache"), (".cache/out", ".cache")]
)
def test_a_cache_folder_overlapping_the_output_is_refused_either_way(
    site: Path, output: str, cache: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        check_cache_folder(site, site / "content", site / output, site / cache)
    assert str(caught.value) == (
        f"refusing cache folder {site / cache}: it overlaps the output folder {site / output}"
    )
    check_cache_folder(site, site / "content", site / "public", site / ".cache")  # beside: fine
