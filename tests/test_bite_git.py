"""Publishing's git plumbing at its edges: the cases mutation testing found unchecked.

GitRepo runs against real repositories made here (a bare remote and a clone), with no
user or system git configuration; what it stores is read back with git itself.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from masthead.commands.gitrepo import ZERO, GitError, GitRepo
from masthead.commands.publish import (
    GitBranchPublisher,
    PublishError,
    check_public_url,
    published_files,
)
from masthead.outputs.writer import MANIFEST, STAGING
from tests import test_publish_git
from tests.test_publish_git import clone, git

isolated_git = test_publish_git.isolated_git


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A clone of an empty bare remote, with one commit on main pushed."""
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "remote.git"))
    root = clone(tmp_path / "remote.git", tmp_path / "work")
    git(root, "symbolic-ref", "HEAD", "refs/heads/main")
    (root / "README").write_text("hello\n")
    git(root, "add", "README")
    git(root, "commit", "-q", "-m", "first")
    git(root, "push", "-q", "origin", "main")
    return GitRepo.containing(root / ".")


def test_a_folder_outside_any_repository_is_named_in_the_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    (tmp_path / "repo" / "sub").mkdir()
    assert GitRepo.containing(tmp_path / "repo" / "sub").folder == (tmp_path / "repo").resolve()
    with pytest.raises(GitError, match=f"{tmp_path} is not in a git repository"):
        GitRepo.containing(tmp_path)


def test_a_failing_command_names_itself_and_what_git_said(repo: GitRepo) -> None:
    with pytest.raises(GitError) as caught:
        repo.run("cat-file", "-p", "no-such-object")
    assert str(caught.value).startswith("git cat-file failed: fatal: Not a valid object name")
    assert "\n" not in str(caught.value).strip()


def test_a_command_that_fails_silently_is_named_with_its_exit_status(repo: GitRepo) -> None:
    with pytest.raises(GitError, match=r"^git diff failed: exit 1$"):
        repo.run("diff", "--quiet", "--no-index", os.devnull, str(repo.folder / "README"))


def test_without_git_on_the_path_the_error_says_so(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GitError) as caught:
        repo.run("status")
    assert str(caught.value) == "git is not installed (or not on PATH)"
    assert repo.ok("status") is False


def test_output_keeps_all_but_its_last_newline_and_the_environment_reaches_git(
    repo: GitRepo,
) -> None:
    assert repo.run("show", "HEAD:README") == "hello"
    env = {"GIT_AUTHOR_NAME": "Somebody Else"}
    assert repo.run("var", "GIT_AUTHOR_IDENT", env=env).startswith("Somebody Else <")


def test_resolve_gives_an_object_id_or_none(repo: GitRepo) -> None:
    head = repo.resolve("HEAD")
    assert head is not None and len(head) == 40 and head != ZERO
    assert repo.resolve("refs/heads/nothing") is None
    assert repo.resolve("README") is None  # a file of the work tree names no object
    assert repo.resolve("HEAD..HEAD") is None  # nor does a range
    assert repo.resolve("HEAD^{tree}") != head


def test_a_remote_branch_is_fetched_when_its_tip_is_not_here(repo: GitRepo, tmp_path: Path) -> None:
    other = clone(tmp_path / "remote.git", tmp_path / "other")
    (other / "page.html").write_text("<p>x</p>")
    git(other, "add", "page.html")
    git(other, "commit", "-q", "-m", "pages")
    git(other, "push", "-q", "origin", "HEAD:refs/heads/gh-pages")
    tip = git(other, "rev-parse", "HEAD").strip()
    assert repo.resolve(f"{tip}^{{commit}}") is None
    assert repo.remote_branch("origin", "gh-pages") == tip
    assert repo.resolve("refs/remotes/origin/gh-pages") == tip
    assert repo.remote_branch("origin", "gh-page") is None  # no prefix match
    assert repo.remote_branch("origin", "main") == repo.resolve("HEAD")


def test_a_remote_branch_is_fetched_into_its_own_ref_without_its_tags(
    tmp_path: Path,
) -> None:
    """A clone that tracks one branch (a CI checkout, `clone --single-branch`) still gets
    the branch asked for, and a tag on that branch's commits does not come with it."""
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "remote.git"))
    other = clone(tmp_path / "remote.git", tmp_path / "other")
    git(other, "commit", "-q", "--allow-empty", "-m", "first")
    git(other, "push", "-q", "origin", "HEAD:refs/heads/main")
    single = tmp_path / "single"
    subprocess.run(
        ["git", "clone", "-q", "--single-branch", "--branch", "main",
         str(tmp_path / "remote.git"), str(single)],
        check=True, capture_output=True,
    )  # fmt: skip
    (other / "page.html").write_text("<p>x</p>")
    git(other, "add", "page.html")
    git(other, "commit", "-q", "-m", "pages")
    git(other, "tag", "v1")
    git(other, "push", "-q", "origin", "HEAD:refs/heads/gh-pages", "v1")
    tip = git(other, "rev-parse", "HEAD").strip()
    repo = GitRepo.containing(single)
    assert repo.remote_branch("origin", "gh-pages") == tip
    assert repo.resolve(f"{tip}^{{commit}}") == tip
    assert repo.resolve("refs/tags/v1") is None


def test_bytes_that_are_not_utf8_come_through_replaced(repo: GitRepo) -> None:
    """git passes file contents and names through as bytes: what it prints, or says when
    it fails, is read with the bytes that are not UTF-8 replaced, not refused."""
    blob = repo.run("hash-object", "-w", "--stdin", input=b"caf\xe9\n")
    assert repo.run("cat-file", "-p", blob) == "caf\ufffd"
    with pytest.raises(GitError) as caught:
        repo.run("cat-file", "-p", "no-such-\udcff")  # the argument's byte is 0xff
    assert "no-such-\ufffd" in str(caught.value)


def test_a_remote_branch_whose_tip_is_here_already_is_not_fetched(
    repo: GitRepo, tmp_path: Path
) -> None:
    other = clone(tmp_path / "remote.git", tmp_path / "other")
    git(other, "push", "-q", "origin", "origin/main:refs/heads/copy")
    assert repo.remote_branch("origin", "copy") == repo.resolve("HEAD")
    assert repo.resolve("refs/remotes/origin/copy") is None  # nothing fetched


def test_ancestry_is_asked_in_its_direction(repo: GitRepo) -> None:
    first = repo.resolve("HEAD")
    assert first is not None
    tree = repo.resolve("HEAD^{tree}")
    assert tree is not None
    second = repo.commit_tree(tree, first, "second\n")
    assert repo.is_ancestor(first, second) and not repo.is_ancestor(second, first)
    assert repo.run("log", "--format=%s", second) == "second\nfirst"
    root = repo.commit_tree(tree, None, "alone\n")
    assert repo.run("rev-list", "--count", root) == "1"


def test_a_written_tree_holds_the_files_with_their_modes(repo: GitRepo, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "news").mkdir(parents=True)
    (folder / "news" / "a b.html").write_text("<p>a</p>")
    modes = {"run.sh": 0o755, "other.sh": 0o641, "shared.css": 0o666, "index.html": 0o644}
    for name, mode in modes.items():
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(mode)
    (folder / "index.html").write_text("<p>home</p>")
    files = {name: folder / name for name in modes}
    files["news/a b.html"] = folder / "news" / "a b.html"
    tree = repo.write_tree(files)
    listing = repo.run("ls-tree", "-r", tree).splitlines()
    stored = {line.split("\t")[1]: line.split()[0] for line in listing}
    assert stored == {
        "index.html": "100644",
        "news/a b.html": "100644",
        "other.sh": "100755",
        "run.sh": "100755",
        "shared.css": "100644",
    }
    assert repo.run("show", f"{tree}:news/a b.html") == "<p>a</p>"
    assert repo.run("status", "--porcelain") == ""  # the user's index is untouched


def test_a_file_name_with_a_line_break_is_refused(repo: GitRepo, tmp_path: Path) -> None:
    odd = tmp_path / "a\nb.html"
    odd.write_text("x")
    with pytest.raises(GitError) as caught:
        repo.write_tree({"a\nb.html": odd})
    assert str(caught.value) == (
        "a file name in the output contains a line break; git cannot take it"
    )


def test_pages_are_stored_byte_for_byte_whatever_the_repository_attributes_say(
    repo: GitRepo,
) -> None:
    """An output inside the repository, where a `.gitattributes` would convert line ends."""
    (repo.folder / ".gitattributes").write_text("* text eol=lf\n")
    page = repo.folder / "public" / "page.html"
    page.parent.mkdir()
    page.write_bytes(b"<p>one</p>\r\n<p>two</p>\r\n")
    tree = repo.write_tree({"page.html": page})
    blob = repo.run("rev-parse", f"{tree}:page.html")
    stored = subprocess.run(
        ["git", "-C", str(repo.folder), "cat-file", "blob", blob], capture_output=True, check=True
    ).stdout
    assert stored == page.read_bytes()


def test_changed_paths_lists_every_file_of_a_first_commit_and_only_changes_after(
    repo: GitRepo, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    (folder / "news").mkdir(parents=True)
    names = ("a.html", "news/b.html", "news/c.html")
    for name in names:
        (folder / name).write_text(name)
    first = repo.commit_tree(repo.write_tree({n: folder / n for n in names}), None, "1")
    (folder / "news" / "b.html").write_text("changed")
    second = repo.commit_tree(repo.write_tree({n: folder / n for n in names}), first, "2")
    assert repo.changed_paths(None, first) == list(names)
    assert repo.changed_paths(first, second) == ["news/b.html"]
    assert repo.changed_paths(second, second) == []


def test_checked_out_branches_of_a_lone_repository(repo: GitRepo) -> None:
    assert repo.checked_out_branches() == {"refs/heads/main"}


# publish.py: the target checks and the branch publisher, over an output folder written
# here rather than built.


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/",
        "http://LOCALHOST./",
        "https://news.localhost/",
        "http://127.0.0.1/",
        "http://127.8.9.10:8080/digest/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::]/",
        "/digest/",
        "",
    ],
)
def test_a_base_url_on_this_machine_is_refused(url: str) -> None:
    with pytest.raises(PublishError) as caught:
        check_public_url(url)
    assert str(caught.value).startswith(f"base_url is {url!r}, an address on this machine")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/",
        "https://localhost.example.org/",
        "https://mylocalhost/",
        "http://10.0.0.1/",
        "http://[2001:db8::1]/",
    ],
)
def test_a_base_url_elsewhere_is_accepted(url: str) -> None:
    check_public_url(url)


def test_published_files_leave_out_bookkeeping_at_the_top_and_links(tmp_path: Path) -> None:
    out = tmp_path / "public"
    (out / STAGING).mkdir(parents=True)
    (out / STAGING / "left.html").write_text("x")
    (out / "news").mkdir()
    for rel in ("index.html", "news/a.html", MANIFEST, MANIFEST + ".tmp", "news/" + MANIFEST):
        (out / rel).write_text(rel)
    (out / "link.html").symlink_to(out / "index.html")
    files = published_files(out)
    assert list(files) == ["index.html", "news/.masthead-manifest.json", "news/a.html"]
    assert files["news/a.html"] == out / "news" / "a.html"


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "public"
    (out / "news").mkdir(parents=True)
    (out / "index.html").write_text("<p>home</p>")
    (out / "news" / "a.html").write_text("<p>a</p>")
    return out


def test_the_branch_publisher_commits_pushes_and_then_has_nothing_to_do(
    repo: GitRepo, output: Path
) -> None:
    publisher = GitBranchPublisher.open(repo.folder, "origin", "gh-pages", None, "news.example")
    head = repo.resolve("HEAD")
    assert head is not None and publisher.message == f"Publish site built from {head[:12]}"
    said = publisher.publish(output)
    tip = repo.resolve("refs/heads/gh-pages")
    assert tip is not None
    assert said == f"Published 4 files to origin/gh-pages: commit {tip[:12]}, 4 changed"
    assert repo.run("ls-remote", "origin", "refs/heads/gh-pages").split()[0] == tip
    assert repo.run("show", f"{tip}:CNAME") == "news.example"
    assert repo.run("cat-file", "-s", f"{tip}:.nojekyll") == "0"
    assert publisher.publish(output) == (
        f"Nothing to publish: origin/gh-pages already holds this output ({tip[:12]})"
    )
    (output / "news" / "a.html").write_text("<p>changed</p>")
    again = GitBranchPublisher.open(repo.folder, "origin", "gh-pages", "My message")
    said = again.publish(output)
    new_tip = repo.resolve("refs/heads/gh-pages")
    assert new_tip is not None and new_tip != tip
    assert said == f"Published 3 files to origin/gh-pages: commit {new_tip[:12]}, 2 changed"
    assert repo.run("log", "--format=%s", "-1", new_tip) == "My message"
    assert repo.run("rev-parse", f"{new_tip}^") == tip
    assert repo.run("show", f"{new_tip}:news/a.html") == "<p>changed</p>"


def test_a_repository_without_commits_publishes_with_a_plain_message(
    tmp_path: Path, output: Path
) -> None:
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "remote.git"))
    root = clone(tmp_path / "remote.git", tmp_path / "empty")
    git(root, "symbolic-ref", "HEAD", "refs/heads/main")
    publisher = GitBranchPublisher.open(root, "origin", "gh-pages", None)
    assert publisher.message == "Publish site"
    publisher.publish(output)
    assert GitRepo(root).run("log", "--format=%s", "gh-pages") == "Publish site"


@pytest.mark.parametrize(
    ("branch", "remote", "said"),
    [
        ("bad..name", "origin", "'bad..name' is not a valid branch name"),
        ("gh-pages", "upstream", "has no remote named 'upstream'"),
        ("main", "origin", "branch 'main' is checked out in"),
    ],
)
def test_a_branch_publisher_refuses_a_bad_target_before_anything(
    repo: GitRepo, branch: str, remote: str, said: str
) -> None:
    with pytest.raises(PublishError, match=re.escape(said)):
        GitBranchPublisher.open(repo.folder, remote, branch, None)
    assert repo.resolve(f"refs/heads/{branch}") == (
        repo.resolve("HEAD") if branch == "main" else None
    )


def _publisher(repo: GitRepo) -> GitBranchPublisher:
    return GitBranchPublisher.open(repo.folder, "origin", "gh-pages", "pages")


def _published_once(repo: GitRepo, output: Path) -> tuple[GitBranchPublisher, str, str]:
    """A publisher that has published `output` once, its commit and that commit's tree."""
    publisher = _publisher(repo)
    publisher.publish(output)
    first = repo.resolve("refs/heads/gh-pages")
    assert first is not None
    tree = repo.resolve(f"{first}^{{tree}}")
    assert tree is not None
    return publisher, first, tree


def test_the_branch_publisher_builds_on_whichever_tip_contains_the_other(
    repo: GitRepo, output: Path
) -> None:
    publisher, first, tree = _published_once(repo, output)
    # Local ahead (a push that never happened): the next commit builds on the local tip.
    ahead = repo.commit_tree(tree, first, "local only")
    repo.run("update-ref", "refs/heads/gh-pages", ahead)
    (output / "index.html").write_text("<p>new home</p>")
    publisher.publish(output)
    tip = repo.resolve("refs/heads/gh-pages")
    assert repo.run("rev-parse", f"{tip}^") == ahead
    # Remote ahead (published from elsewhere): the local tip is behind, built upon remotely.
    repo.run("update-ref", "refs/heads/gh-pages", first)
    (output / "index.html").write_text("<p>newer home</p>")
    publisher.publish(output)
    assert repo.run("rev-parse", "refs/heads/gh-pages^") == tip


def test_diverged_tips_are_refused_and_both_left_alone(repo: GitRepo, output: Path) -> None:
    publisher, first, tree = _published_once(repo, output)
    local = repo.commit_tree(tree, first, "local")
    remote = repo.commit_tree(tree, first, "remote")
    repo.run("push", "-q", "origin", f"{remote}:refs/heads/gh-pages")
    repo.run("update-ref", "refs/heads/gh-pages", local)
    with pytest.raises(PublishError) as caught:
        publisher.publish(output)
    assert str(caught.value).startswith(
        "the local branch 'gh-pages' and origin/gh-pages have diverged"
    )
    assert repo.resolve("refs/heads/gh-pages") == local
    assert repo.run("ls-remote", "origin", "refs/heads/gh-pages").split()[0] == remote


def test_a_rejected_push_moves_no_local_branch(repo: GitRepo, output: Path, tmp_path: Path) -> None:
    hook = tmp_path / "remote.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(PublishError) as caught:
        _publisher(repo).publish(output)
    assert str(caught.value).startswith(
        "push to origin was rejected or failed; nothing was published and the local branch "
        "'gh-pages' was left as it was.\n"
    )
    assert "frozen" in str(caught.value)
    assert repo.resolve("refs/heads/gh-pages") is None
