"""Every git guard against linked worktrees (`git worktree add`), on real repositories.

The class of bug: a guard that asks only the main working tree (`HEAD`, `git branch
--show-current`, `.git/HEAD`) when a repository can have several. `publish --to gh-pages`
must never move a branch that is checked out in any worktree of the repository: that
would change the files under someone's working tree behind their back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.commands.gitrepo import GitRepo
from tests import test_publish_git
from tests.conftest import Scratch
from tests.test_publish_git import git, publish, rev

# The real-repository fixtures of the publishing tests: a bare remote, a site in a clone of
# it with `main` pushed, and no user or system git configuration.
bare, site, isolated_git = (
    test_publish_git.bare,
    test_publish_git.site,
    test_publish_git.isolated_git,
)


def _worktree(site: Scratch, where: Path, *options: str, commit: str | None = None) -> Path:
    git(site.root, "worktree", "add", "-q", *options, str(where), *([commit] if commit else []))
    return where


def _state(tree: Path) -> tuple[str | None, str, dict[str, bytes]]:
    files = {
        p.relative_to(tree).as_posix(): p.read_bytes()
        for p in tree.rglob("*")
        if p.is_file() and p.name != ".git"
    }
    return rev(tree, "HEAD"), git(tree, "status", "--porcelain"), files


def _first_publish(site: Scratch) -> str:
    assert publish(site) == 0
    tip = rev(site.root, "refs/heads/gh-pages")
    assert tip is not None
    return tip


@pytest.mark.parametrize("branch", ["gh-pages", "pages"])
def test_publish_refuses_a_branch_checked_out_in_a_linked_worktree(
    site: Scratch, bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], branch: str
) -> None:
    assert publish(site, "--branch", branch) == 0
    tip = rev(site.root, f"refs/heads/{branch}")
    tree = _worktree(site, tmp_path / "pages-tree", commit=branch)
    before = _state(tree)
    site.add("2026-11-19-wall.md", title="Harbour wall repairs finished", topics=("Climate",))
    capsys.readouterr()

    assert publish(site, "--branch", branch) == 1
    err = capsys.readouterr().err
    assert "checked out" in err and branch in err
    assert rev(site.root, f"refs/heads/{branch}") == tip
    assert rev(bare, f"refs/heads/{branch}") == tip  # nothing pushed either
    assert _state(tree) == before


def test_publish_from_a_linked_worktree_refuses_the_branch_of_the_main_one(
    site: Scratch, bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The site is edited in a linked worktree; gh-pages is checked out in the main one."""
    tip = _first_publish(site)
    linked = _worktree(site, tmp_path / "editing", "-b", "editing")
    git(site.root, "checkout", "-q", "gh-pages")
    main_before = _state(site.root)
    other = Scratch(linked)
    other.add("2026-11-22-new.md", title="A story written in the linked tree")

    assert publish(other) == 1
    assert "checked out" in capsys.readouterr().err
    assert rev(site.root, "refs/heads/gh-pages") == tip
    assert _state(site.root) == main_before


def test_publish_refuses_a_branch_checked_out_in_a_second_linked_worktree(
    site: Scratch, bare: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tip = _first_publish(site)
    linked = _worktree(site, tmp_path / "editing", "-b", "editing")
    tree = _worktree(site, tmp_path / "pages-tree", commit="gh-pages")
    before = _state(tree)

    assert publish(Scratch(linked)) == 1
    assert "checked out" in capsys.readouterr().err
    assert rev(site.root, "refs/heads/gh-pages") == tip
    assert _state(tree) == before


def test_a_detached_worktree_at_the_branch_does_not_block_and_is_not_moved(
    site: Scratch, bare: Path, tmp_path: Path
) -> None:
    """The control: only a checked-out branch blocks; a detached HEAD stays where it is."""
    tip = _first_publish(site)
    tree = _worktree(site, tmp_path / "look", "--detach", commit="gh-pages")
    before = _state(tree)
    site.add("2026-11-19-wall.md", title="Harbour wall repairs finished", topics=("Climate",))

    assert publish(site) == 0
    assert rev(bare, "refs/heads/gh-pages") not in (None, tip)
    assert _state(tree) == before


def test_publish_from_a_linked_worktree_works_when_the_branch_is_free(
    site: Scratch, bare: Path, tmp_path: Path
) -> None:
    linked = _worktree(site, tmp_path / "editing", "-b", "editing")
    other = Scratch(linked)
    assert publish(other) == 0
    assert rev(bare, "refs/heads/gh-pages") == rev(site.root, "refs/heads/gh-pages")
    assert not (linked / "public" / ".git").exists()


def test_checked_out_branches_lists_every_worktree(site: Scratch, tmp_path: Path) -> None:
    _worktree(site, tmp_path / "a", "-b", "branch-a")
    _worktree(site, tmp_path / "b", "-b", "branch-b")
    _worktree(site, tmp_path / "c", "--detach", commit="HEAD")
    expected = {"refs/heads/main", "refs/heads/branch-a", "refs/heads/branch-b"}
    for folder in (site.root, tmp_path / "a", tmp_path / "c"):
        assert GitRepo.containing(folder).checked_out_branches() == expected
