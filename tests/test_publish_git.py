"""`masthead publish --to gh-pages` against a real bare repository and a real clone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from masthead.commands.cli import main
from tests.conftest import Scratch

BOOKKEEPING = (".masthead-manifest.json", ".masthead-staging")
URL = "https://news.example.org/"


def git(where: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(where), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def rev(where: Path, name: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(where), "rev-parse", "--verify", "--quiet", name],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None


def branch_files(repo: Path, ref: str) -> dict[str, bytes]:
    """Path -> blob bytes of every file in the tree of `ref`."""
    files = {}
    for entry in git(repo, "ls-tree", "-r", "-z", ref).split("\0")[:-1]:
        meta, path = entry.split("\t", 1)
        mode, kind, blob = meta.split()
        assert (mode, kind) == ("100644", "blob"), entry
        files[path] = subprocess.run(
            ["git", "-C", str(repo), "cat-file", "blob", blob], capture_output=True, check=True
        ).stdout
    return files


def folder_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(BOOKKEEPING)
    }


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config: the tests set what they need, as CI would."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def clone(bare: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(bare), str(where)], check=True, capture_output=True)
    git(where, "config", "user.name", "Test Curator")
    git(where, "config", "user.email", "curator@example.org")
    return where


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(path))
    return path


@pytest.fixture
def site(bare: Path, tmp_path: Path) -> Scratch:
    """A site in a clone of `bare`, committed on `main` and pushed, output ignored."""
    root = clone(bare, tmp_path / "site")
    git(root, "symbolic-ref", "HEAD", "refs/heads/main")
    scratch = Scratch(root)
    scratch.config('title = "Harbour digest"\ncname = "news.example.org"\n')
    (root / ".gitignore").write_text("/public/\n/.masthead-cache/\n", encoding="utf-8")
    scratch.add("2026-11-18-ferry.md", title="Ferry timetable", topics=("Transport",))
    scratch.add("2026-11-19-wall.md", title="Harbour wall", topics=("Climate",))
    scratch.add("2026-11-20-market.md", title="Market day", topics=("Economy",), provider="Bay")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "site")
    git(root, "push", "-q", "origin", "main")
    return scratch


def publish(site: Scratch, *extra: str) -> int:
    return main(
        ["publish", "--site", str(site.root), "--to", "gh-pages", "--base-url", URL, *extra]
    )


def test_branch_tree_is_the_output_plus_host_files(site: Scratch, bare: Path) -> None:
    assert publish(site) == 0
    published = branch_files(bare, "gh-pages")
    expected = folder_files(site.output)
    assert len(expected) > 5
    assert published == {**expected, ".nojekyll": b"", "CNAME": b"news.example.org\n"}
    assert not any(path.startswith(BOOKKEEPING) for path in published)
    assert (site.output / ".masthead-manifest.json").is_file()  # it exists, but stays home
    assert rev(site.root, "refs/heads/gh-pages") == rev(bare, "refs/heads/gh-pages")


def test_one_changed_record_makes_one_commit_touching_only_its_files(
    site: Scratch, bare: Path
) -> None:
    # A newer story that shares nothing with the wall story (article pages show the
    # stories next to them in time, topic and provider: the ferry page shows the wall).
    site.add(
        "2026-12-01-quay.md",
        title="Quay",
        when="2026-12-01T08:00:00Z",
        topics=("Fishing",),
        provider="Elsewhere",
    )
    assert publish(site) == 0
    first, before = rev(bare, "gh-pages"), folder_files(site.output)
    site.add("2026-11-19-wall.md", title="Harbour wall repairs finished", topics=("Climate",))
    assert publish(site, "--message", "Wall story updated") == 0
    second, after = rev(bare, "gh-pages"), folder_files(site.output)

    assert git(bare, "rev-list", "--count", "gh-pages").strip() == "2"
    assert git(bare, "rev-parse", f"{second}^").strip() == first
    assert git(bare, "log", "-1", "--format=%s", "gh-pages").strip() == "Wall story updated"
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    diff = set(git(bare, "diff", "--name-only", f"{first}", f"{second}").split())
    assert diff == changed
    assert any("/wall/" in p for p in diff)
    assert not any("/quay/" in p for p in diff)  # other stories' pages did not change
    assert len(diff) < len(after)


def test_publishing_an_unchanged_site_makes_no_commit(
    site: Scratch, bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(site) == 0
    tip = rev(bare, "gh-pages")
    assert publish(site) == 0
    assert rev(bare, "gh-pages") == tip
    assert git(bare, "rev-list", "--count", "gh-pages").strip() == "1"
    assert "Nothing to publish" in capsys.readouterr().out


def _user_state(root: Path) -> dict[str, object]:
    return {
        "head": git(root, "symbolic-ref", "HEAD"),
        "commit": rev(root, "HEAD"),
        "status": git(root, "status", "--porcelain", "--untracked-files=all"),
        "staged": git(root, "diff", "--cached"),
        "unstaged": git(root, "diff"),
        "branches": git(
            root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/main"
        ),
        "files": {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file()
            and not p.relative_to(root)
            .as_posix()
            .startswith((".git/", "public/", ".masthead-cache/"))
        },
    }


def test_working_tree_index_and_branch_are_untouched(site: Scratch, bare: Path) -> None:
    root = site.root
    site.add("2026-11-18-ferry.md", title="Ferry timetable (edited, not committed)")
    site.add("2026-11-21-staged.md", title="A staged new story", topics=("Transport",))
    git(root, "add", "content/2026-11-21-staged.md")
    (root / "notes.txt").write_text("untracked notes\n", encoding="utf-8")
    before = _user_state(root)
    index = (root / ".git" / "index").read_bytes()

    assert publish(site) == 0
    assert (root / ".git" / "index").read_bytes() == index
    assert _user_state(root) == before
    assert before["status"]  # the test really had uncommitted changes
    # What was published is what is on disk, uncommitted edits included.
    published = branch_files(bare, "gh-pages")
    assert any(b"(edited, not committed)" in data for data in published.values())


def test_rejected_push_is_reported_and_leaves_the_branch_alone(
    site: Scratch, bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(site) == 0
    tip = rev(site.root, "refs/heads/gh-pages")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pages are frozen today' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    site.add("2026-11-19-wall.md", title="Harbour wall repairs finished", topics=("Climate",))
    capsys.readouterr()

    assert publish(site) == 1
    err = capsys.readouterr().err
    assert "rejected" in err and "pages are frozen today" in err
    assert rev(site.root, "refs/heads/gh-pages") == tip
    assert rev(bare, "refs/heads/gh-pages") == tip


def test_rejected_first_push_creates_no_local_branch(site: Scratch, bare: Path) -> None:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    assert publish(site) == 1
    assert rev(site.root, "refs/heads/gh-pages") is None
    assert rev(bare, "refs/heads/gh-pages") is None


def test_a_fresh_clone_continues_the_published_history(
    site: Scratch, bare: Path, tmp_path: Path
) -> None:
    """As in CI: a checkout without the branch (nor its objects) builds on the remote's tip."""
    other = Scratch(clone(bare, tmp_path / "ci"))  # cloned before anything was published
    assert publish(site) == 0
    first = rev(bare, "gh-pages")
    assert rev(other.root, f"{first}^{{commit}}") is None
    other.add("2026-11-22-boat-show.md", title="Boat show")
    assert publish(other) == 0
    assert git(bare, "rev-parse", "gh-pages^").strip() == first
    assert any("/boat-show/" in path for path in branch_files(bare, "gh-pages"))


def test_diverged_local_branch_is_refused(site: Scratch, bare: Path, tmp_path: Path) -> None:
    assert publish(site) == 0
    tip = rev(site.root, "gh-pages")
    stray = git(site.root, "commit-tree", "-p", tip, "-m", "local only", f"{tip}^{{tree}}").strip()
    git(site.root, "update-ref", "refs/heads/gh-pages", stray)
    other = Scratch(clone(bare, tmp_path / "other"))
    other.add("2026-11-22-new.md", title="Boat show")
    assert publish(other) == 0
    remote_tip = rev(bare, "gh-pages")

    assert publish(site) == 1
    assert rev(bare, "gh-pages") == remote_tip
    assert rev(site.root, "refs/heads/gh-pages") == stray


def test_outside_a_git_repository_is_an_error_before_building(
    scratch: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    scratch.add("2026-11-18-a.md", title="Ferry timetable")
    assert publish(scratch) == 1
    assert "not in a git repository" in capsys.readouterr().err
    assert not scratch.output.exists()


def test_missing_remote_is_an_error_before_building(
    site: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert publish(site, "--remote", "upstream") == 1
    assert "no remote named 'upstream'" in capsys.readouterr().err
    assert not site.output.exists()


def test_the_checked_out_branch_is_never_the_target(
    site: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = rev(site.root, "HEAD")
    assert publish(site, "--branch", "main") == 1
    assert "checked out" in capsys.readouterr().err
    assert rev(site.root, "HEAD") == head


def test_a_failed_build_publishes_nothing(site: Scratch, bare: Path) -> None:
    site.add("2026-11-23-broken.md", "---\ntitle: [unclosed\n---\n")
    assert publish(site, "--strict") == 1
    assert rev(bare, "refs/heads/gh-pages") is None


def test_git_options_need_the_gh_pages_target(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["publish", "--to", str(tmp_path / "www"), "--branch", "pages"])
    assert exc.value.code == 2


def test_a_site_in_a_subfolder_of_the_repository(bare: Path, tmp_path: Path) -> None:
    root = clone(bare, tmp_path / "project")
    site = Scratch(root / "digest")
    site.add("2026-11-18-ferry.md", title="Ferry timetable")
    assert publish(site) == 0
    published = branch_files(bare, "gh-pages")
    assert published == {**folder_files(site.output), ".nojekyll": b""}
    assert "index.html" in published  # the output is the branch root, not digest/public/


def test_an_invalid_cname_is_a_config_error(
    site: Scratch, bare: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.config('cname = "https://news.example.org/"\n')
    assert publish(site) == 1
    assert "cname must be a host name" in capsys.readouterr().err
    assert rev(bare, "refs/heads/gh-pages") is None
