"""publish.py's guards without a build: the cases mutation testing found unchecked.

The order of publish() (target checked, then built, then published), the folder target's
checks and summary, and the branch guard against a linked worktree, each run against an
output folder written here and, where git matters, a real repository (test_bite_git's).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from masthead.building.build import BuildOptions, BuildReport, Inputs
from masthead.commands import publish as publishing
from masthead.commands.foldersync import manifest_path
from masthead.commands.gitrepo import GitError, GitRepo
from masthead.commands.publish import (
    FolderPublisher,
    GitBranchPublisher,
    PublishError,
    PublishOptions,
    make_publisher,
    published_files,
)
from masthead.config import ConfigError, SiteConfig
from tests.test_bite_git import _published_once, isolated_git, output, repo
from tests.test_publish_git import git

__all__ = ["isolated_git", "output", "repo"]


def _inputs(tmp_path: Path, base_url: str = "https://news.example/") -> Inputs:
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True, exist_ok=True)
    return Inputs(
        site,
        site / "content",
        site / "public",
        site / ".masthead-cache",
        SiteConfig(base_url=base_url, cname="news.example"),
    )


def test_a_folder_target_knows_its_manifest_and_whether_to_overwrite(tmp_path: Path) -> None:
    inputs, target = _inputs(tmp_path), tmp_path / "www"
    for overwrite in (False, True):
        made = FolderPublisher.open(target, inputs, overwrite)
        assert made == FolderPublisher(target, manifest_path(inputs.cache_dir, target), overwrite)
    assert FolderPublisher.open(target, inputs).overwrite is False


@pytest.mark.parametrize("where", ["site/public/www", "site/public", "www"])
def test_a_folder_target_overlapping_the_output_is_refused(tmp_path: Path, where: str) -> None:
    inputs = _inputs(tmp_path)
    if where == "www":  # the output inside the target
        inputs = replace(inputs, output_dir=tmp_path / "www" / "public")
    inputs.output_dir.mkdir(parents=True)
    target = tmp_path / where
    with pytest.raises(PublishError) as caught:
        FolderPublisher.open(target, inputs)
    assert str(caught.value) == (
        f"refusing publish target {target}: it overlaps the output folder {inputs.output_dir}"
    )


@pytest.mark.parametrize(
    ("where", "said"), [("site", "to use the site folder"), ("site/content/www", "publish target")]
)
def test_a_folder_target_among_the_users_folders_is_refused(
    tmp_path: Path, where: str, said: str
) -> None:
    with pytest.raises(ConfigError, match=f"^refusing {said}"):
        FolderPublisher.open(tmp_path / where, _inputs(tmp_path))


def test_a_folder_target_that_is_a_file_or_a_link_to_one_is_refused(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    (tmp_path / "www").write_text("a file", encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "www")
    for name in ("www", "link"):
        with pytest.raises(PublishError) as caught:
            FolderPublisher.open(tmp_path / name, inputs)
        assert str(caught.value) == (f"publish target {tmp_path / name} exists and is not a folder")
    (tmp_path / "dir").mkdir()
    FolderPublisher.open(tmp_path / "dir", inputs)


def test_the_folder_summary_counts_copies_replacements_and_removals(
    tmp_path: Path, output: Path
) -> None:
    target = tmp_path / "www"
    (target / "news").mkdir(parents=True)
    (target / "news" / "a.html").write_text("placed by hand")
    publisher = FolderPublisher(target, tmp_path / "manifest.json", overwrite=True)
    assert publisher.publish(output) == (
        f"Synced 2 files to {target}: 2 copied, 1 of others replaced, 0 removed"
    )
    (output / "news" / "a.html").unlink()
    (output / "index.html").write_text("<p>new</p>")
    assert publisher.publish(output) == f"Synced 1 file to {target}: 1 copied, 1 removed"
    assert sorted(p.name for p in target.rglob("*") if p.is_file()) == ["index.html"]


def test_make_publisher_picks_the_target_from_the_options(repo: GitRepo, tmp_path: Path) -> None:
    inputs = replace(_inputs(tmp_path), site_dir=repo.folder)
    options = PublishOptions(remote="origin", branch="pages", message="m")
    made = make_publisher(options, inputs)
    assert isinstance(made, GitBranchPublisher) and made.repo.folder == repo.folder
    assert (made.remote, made.branch, made.message, made.cname) == (
        "origin",
        "pages",
        "m",
        "news.example",
    )
    folder = make_publisher(PublishOptions(to=str(tmp_path / "www"), overwrite=True), inputs)
    assert folder == FolderPublisher(
        tmp_path / "www", manifest_path(inputs.cache_dir, tmp_path / "www"), True
    )


class _Fake:
    """A stand-in for the build and the publisher: publish() is about their order and what
    each is handed."""

    def __init__(self, inputs: Inputs, failed: bool) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.inputs = inputs
        self.report = BuildReport(inputs.output_dir, failed=failed)

    def resolve_inputs(self, options: BuildOptions) -> Inputs:
        self.calls.append(("resolve", options))
        return self.inputs

    def make_publisher(self, options: PublishOptions, inputs: Inputs) -> _Fake:
        self.calls.append(("target", options, inputs))
        return self

    def build(self, options: BuildOptions) -> BuildReport:
        self.calls.append(("build", options))
        return self.report

    def publish(self, output: Path) -> str:
        self.calls.append(("publish", output))
        return "published"


@pytest.mark.parametrize("failed", [False, True])
def test_publish_checks_the_target_builds_and_publishes_only_a_good_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failed: bool
) -> None:
    fake = _Fake(_inputs(tmp_path), failed)
    for name in ("resolve_inputs", "make_publisher", "build"):
        monkeypatch.setattr(publishing, name, getattr(fake, name))
    options = PublishOptions(build=BuildOptions(site_dir=tmp_path / "site"), to="gh-pages")
    report, said = publishing.publish(options)
    assert report is fake.report
    assert said == (None if failed else "published")
    expected = [("resolve", options.build), ("target", options, fake.inputs)]
    expected.append(("build", options.build))
    if not failed:
        expected.append(("publish", fake.inputs.output_dir))
    assert fake.calls == expected


def test_publish_refuses_a_local_base_url_before_it_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _Fake(_inputs(tmp_path, base_url="http://localhost:8000/"), failed=False)
    for name in ("resolve_inputs", "make_publisher", "build"):
        monkeypatch.setattr(publishing, name, getattr(fake, name))
    with pytest.raises(PublishError) as caught:
        publishing.publish(PublishOptions(to=str(tmp_path / "www")))
    assert str(caught.value) == (
        "base_url is 'http://localhost:8000/', an address on this machine: the published "
        "site's links, feeds and sitemap would point there. Set base_url in site.toml to the "
        "address the site is served from, or pass --base-url https://example.org/"
    )
    assert [call[0] for call in fake.calls] == ["resolve"]


def test_a_branch_checked_out_in_a_linked_worktree_is_refused(
    repo: GitRepo, tmp_path: Path
) -> None:
    git(repo.folder, "worktree", "add", "-q", "-b", "gh-pages", str(tmp_path / "pages"))
    with pytest.raises(PublishError) as caught:
        GitBranchPublisher.open(repo.folder, "origin", "gh-pages", None)
    assert str(caught.value) == (
        f"branch 'gh-pages' is checked out in {repo.folder} (or one of its worktrees); "
        "publishing would change files there, so switch to another branch first"
    )


def test_a_link_in_the_output_is_named_in_a_warning_and_not_published(
    output: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (output / "link.html").symlink_to(output / "index.html")
    with caplog.at_level(logging.WARNING, logger="masthead.commands.publish"):
        assert "link.html" not in published_files(output)
    assert caplog.messages == [f"{output / 'link.html'}: symbolic link, not published"]


def test_a_local_branch_moved_while_publishing_is_not_overwritten(
    repo: GitRepo, output: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher, first, tree = _published_once(repo, output)
    elsewhere = repo.commit_tree(tree, first, "elsewhere")
    push = GitBranchPublisher._push

    def push_then_move(self: GitBranchPublisher, tip: str) -> None:
        push(self, tip)
        repo.run("update-ref", "refs/heads/gh-pages", elsewhere)  # another publish, meanwhile

    monkeypatch.setattr(GitBranchPublisher, "_push", push_then_move)
    (output / "index.html").write_text("<p>new home</p>")
    with pytest.raises(GitError):
        publisher.publish(output)
    assert repo.resolve("refs/heads/gh-pages") == elsewhere


def test_without_a_local_branch_the_next_commit_builds_on_the_remote_one(
    repo: GitRepo, output: Path
) -> None:
    publisher = GitBranchPublisher.open(repo.folder, "origin", "gh-pages", "pages")
    publisher.publish(output)
    first = repo.resolve("refs/heads/gh-pages")
    repo.run("branch", "-D", "gh-pages")  # as in a fresh clone of the site's repository
    (output / "index.html").write_text("<p>new home</p>")
    publisher.publish(output)
    assert repo.run("rev-parse", "refs/heads/gh-pages^") == first
    assert repo.run("reflog", "show", "--format=%gs", "refs/heads/gh-pages") == "masthead publish"
