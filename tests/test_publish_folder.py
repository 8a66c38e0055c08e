"""`masthead publish --to DIR`: sync the output into a folder shared with other files."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.cli import main
from tests.conftest import Scratch

OWN = (".masthead-manifest.json", ".masthead-staging")


def sync(site: Scratch, target: Path) -> int:
    return main(["publish", "--site", str(site.root), "--to", str(target)])


def published(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(OWN)
    }


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    scratch.add("2026-11-18-ferry.md", title="Ferry timetable", topics=("Transport",))
    scratch.add("2026-11-19-wall.md", title="Harbour wall", topics=("Climate",))
    scratch.add("2026-11-20-market.md", title="Market day", topics=("Economy",), provider="Bay")
    return scratch


@pytest.fixture
def webroot(tmp_path: Path) -> Path:
    """A web root that already serves other things."""
    root = tmp_path / "www"
    (root / "downloads").mkdir(parents=True)
    (root / "downloads" / "report.pdf").write_bytes(b"%PDF- not ours")
    (root / "robots-old.txt").write_text("User-agent: *\n", encoding="utf-8")
    return root


def test_sync_copies_the_output_and_keeps_foreign_files(site: Scratch, webroot: Path) -> None:
    foreign = published(webroot)
    assert sync(site, webroot) == 0
    output = published(site.output)
    assert len(output) > 5
    assert published(webroot) == {**foreign, **output}
    assert not (webroot / ".masthead-staging").exists()


def test_resync_copies_changed_files_and_deletes_removed_ones(site: Scratch, webroot: Path) -> None:
    foreign = published(webroot)
    assert sync(site, webroot) == 0
    before = published(site.output)
    inodes = {rel: (webroot / rel).stat().st_ino for rel in before}

    site.add("2026-11-19-wall.md", title="Harbour wall repairs finished", topics=("Climate",))
    (site.content / "2026-11-20-market.md").unlink()
    assert sync(site, webroot) == 0
    after = published(site.output)

    assert published(webroot) == {**foreign, **after}
    gone = before.keys() - after.keys()
    assert any("/market/" in rel for rel in gone)
    assert not any((webroot / rel).exists() for rel in gone)
    assert not (webroot / "news" / "2026" / "11" / "20").exists()  # emptied folders pruned
    unchanged = {rel for rel in before.keys() & after.keys() if before[rel] == after[rel]}
    changed = {rel for rel in before.keys() & after.keys() if before[rel] != after[rel]}
    assert unchanged and changed
    # Unchanged files were left alone; changed ones were replaced (a new file, not rewritten).
    assert all((webroot / rel).stat().st_ino == inodes[rel] for rel in unchanged)
    assert all((webroot / rel).stat().st_ino != inodes[rel] for rel in changed)


def test_a_file_edited_in_the_target_is_not_deleted(site: Scratch, webroot: Path) -> None:
    assert sync(site, webroot) == 0
    page = next(p for p in webroot.rglob("index.html") if "/market/" in p.as_posix())
    page.write_text("edited on the server", encoding="utf-8")
    (site.content / "2026-11-20-market.md").unlink()
    assert sync(site, webroot) == 0
    assert page.read_text(encoding="utf-8") == "edited on the server"


@pytest.mark.parametrize(
    "target",
    [
        "{site}",
        "{site}/content",
        "{site}/templates",
        "{site}/static/deploy",
        "{site}/.git",
        "{site}/public",
        "{site}/public/deploy",
        "{tmp}",
        "{home}",
        "/",
    ],
)
def test_dangerous_targets_are_refused_before_anything_is_written(
    site: Scratch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    path = Path(target.format(site=site.root, tmp=tmp_path, home=home))
    assert sync(site, path) == 1
    assert "refusing" in capsys.readouterr().err
    assert not site.output.exists()  # refused before the build
    assert not (path / ".masthead-manifest.json").exists()


def test_a_target_that_is_a_file_is_refused(
    site: Scratch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "www"
    target.write_text("a file", encoding="utf-8")
    assert sync(site, target) == 1
    assert "not a folder" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "a file"
