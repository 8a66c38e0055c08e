"""`masthead publish`: build, then put the output where it is served.

One small Publisher per kind of target: a git branch (GitHub Pages) or a folder (a mounted
web root). Each checks its target before the build runs, so a bad target costs no build,
and none leaves a target half-published when it fails.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from masthead.building.build import BuildOptions, BuildReport, Inputs, build, resolve_inputs
from masthead.commands.foldersync import FolderSync, manifest_path
from masthead.commands.gitrepo import ZERO, GitError, GitRepo
from masthead.diagnostics import MastheadError, plural, shown_path
from masthead.outputs.writer import MANIFEST, STAGING, check_folders

log = logging.getLogger(__name__)

GH_PAGES = "gh-pages"
BOOKKEEPING = frozenset({MANIFEST, MANIFEST + ".tmp", STAGING})
"""masthead's own files in an output folder: never published."""


class PublishError(MastheadError):
    """The target cannot take the site; nothing was published."""


@dataclass(frozen=True, slots=True)
class PublishOptions:
    build: BuildOptions = field(default_factory=BuildOptions)
    to: str = GH_PAGES
    """`gh-pages` for a git branch; anything else is a folder."""
    remote: str = "origin"
    branch: str = "gh-pages"
    message: str | None = None
    overwrite: bool = False
    """`--to DIR`: replace files in the folder that masthead did not write."""


class Publisher(Protocol):
    def publish(self, output: Path) -> str:
        """Publish the built output folder; return a one-line summary."""
        ...


def publish(options: PublishOptions) -> tuple[BuildReport, str | None]:
    """Check the target, build, then publish; a failed build publishes nothing (summary None)."""
    inputs = resolve_inputs(options.build)
    check_public_url(inputs.config.base_url)
    publisher = make_publisher(options, inputs)
    report = build(options.build)
    if report.failed:
        return report, None
    return report, publisher.publish(report.output_dir)


def make_publisher(options: PublishOptions, inputs: Inputs) -> Publisher:
    if options.to == GH_PAGES:
        return GitBranchPublisher.open(
            inputs.site_dir, options.remote, options.branch, options.message, inputs.config.cname
        )
    return FolderPublisher.open(Path(options.to), inputs, options.overwrite)


def published_files(output: Path) -> dict[str, Path]:
    """Every regular file of the output folder by its path there, minus masthead's bookkeeping."""
    files: dict[str, Path] = {}
    for folder, dirs, names in os.walk(output):
        here = Path(folder)
        rel_dir = here.relative_to(output)
        if here == output:
            dirs[:] = [d for d in dirs if d not in BOOKKEEPING]
        for name in names:
            rel, path = (rel_dir / name).as_posix(), here / name
            if rel in BOOKKEEPING:
                continue
            if path.is_symlink():
                log.warning("%s: symbolic link, not published", shown_path(path))
                continue
            files[rel] = path
    return dict(sorted(files.items()))


@dataclass(frozen=True, slots=True)
class GitBranchPublisher:
    """Commits the output as the whole tree of a branch and pushes it.

    The commit is made with plumbing (see masthead.commands.gitrepo), so the user's working tree,
    index, HEAD and current branch stay as they were. The local branch moves only after
    the remote took the push.
    """

    repo: GitRepo
    remote: str
    branch: str
    message: str
    cname: str = ""

    @classmethod
    def open(
        cls, site_dir: Path, remote: str, branch: str, message: str | None, cname: str = ""
    ) -> GitBranchPublisher:
        repo = GitRepo.containing(site_dir)
        if not repo.ok("check-ref-format", f"refs/heads/{branch}"):
            raise PublishError(f"{branch!r} is not a valid branch name")
        if not repo.ok("remote", "get-url", remote):
            raise PublishError(
                f"the repository {repo.folder} has no remote named {remote!r}; add one with "
                f"`git remote add {remote} URL` or name another with --remote"
            )
        if f"refs/heads/{branch}" in repo.checked_out_branches():
            raise PublishError(
                f"branch {branch!r} is checked out in {repo.folder} (or one of its worktrees); "
                "publishing would change files there, so switch to another branch first"
            )
        return cls(repo, remote, branch, message or _default_message(repo), cname)

    @property
    def ref(self) -> str:
        return f"refs/heads/{self.branch}"

    def publish(self, output: Path) -> str:
        remote_tip = self.repo.remote_branch(self.remote, self.branch)
        local_tip = self.repo.resolve(f"{self.ref}^{{commit}}")
        parent = self._parent(local_tip, remote_tip)
        with tempfile.TemporaryDirectory(prefix="masthead-publish-") as tmp:
            files = {**published_files(output), **self._host_files(Path(tmp))}
            tree = self.repo.write_tree(files)
        if parent is not None and self.repo.resolve(f"{parent}^{{tree}}") == tree:
            tip = parent  # nothing changed: no new commit
        else:
            tip = self.repo.commit_tree(tree, parent, self.message)
        where = f"{self.remote}/{self.branch}"
        if tip != remote_tip:
            self._push(tip)
        if tip != local_tip:
            self.repo.run("update-ref", "-m", "masthead publish", self.ref, tip, local_tip or ZERO)
        if tip == remote_tip:
            return f"Nothing to publish: {where} already holds this output ({tip[:12]})"
        changed = len(self.repo.changed_paths(remote_tip, tip))
        return f"Published {len(files)} files to {where}: commit {tip[:12]}, {changed} changed"

    def _parent(self, local: str | None, remote: str | None) -> str | None:
        """The commit to build on: whichever of the two tips contains the other."""
        if local is None or local == remote:
            return remote
        if remote is None or self.repo.is_ancestor(remote, local):
            return local
        if self.repo.is_ancestor(local, remote):
            return remote
        raise PublishError(
            f"the local branch {self.branch!r} and {self.remote}/{self.branch} have diverged; "
            f"reconcile them (or delete the local branch: git branch -D {self.branch}) and retry"
        )

    def _host_files(self, folder: Path) -> dict[str, Path]:
        """`.nojekyll` (serve files as they are) and, when configured, `CNAME`."""
        extra = {".nojekyll": ""}
        if self.cname:
            extra["CNAME"] = self.cname + "\n"
        for name, text in extra.items():
            (folder / name).write_text(text, encoding="utf-8")
        return {name: folder / name for name in extra}

    def _push(self, tip: str) -> None:
        try:
            self.repo.run("push", "--quiet", self.remote, f"{tip}:{self.ref}")
        except GitError as exc:
            raise PublishError(
                f"push to {self.remote} was rejected or failed; nothing was published and the "
                f"local branch {self.branch!r} was left as it was.\n{exc}"
            ) from exc


def _default_message(repo: GitRepo) -> str:
    head = repo.resolve("HEAD")
    return f"Publish site built from {head[:12]}" if head else "Publish site"


@dataclass(frozen=True, slots=True)
class FolderPublisher:
    """Syncs the output into a folder that others may share (a web root).

    masthead.commands.foldersync does the work: files masthead did not write there are never
    replaced (unless `overwrite`) nor deleted, and its manifest of what it wrote stays in
    the site's build cache, out of the web root.
    """

    target: Path
    manifest: Path
    overwrite: bool = False

    @classmethod
    def open(cls, target: Path, inputs: Inputs, overwrite: bool = False) -> FolderPublisher:
        check_folders(inputs.site_dir, inputs.content_dir, target, role="publish target")
        real, output = target.resolve(), inputs.output_dir.resolve()
        if real.is_relative_to(output) or output.is_relative_to(real):
            raise PublishError(
                f"refusing publish target {shown_path(target)}: it overlaps the output "
                f"folder {shown_path(output)}"
            )
        if real.exists() and not real.is_dir():
            raise PublishError(f"publish target {shown_path(target)} exists and is not a folder")
        return cls(target, manifest_path(inputs.cache_dir, target), overwrite)

    def publish(self, output: Path) -> str:
        result = FolderSync(self.target, self.manifest, self.overwrite).run(published_files(output))
        replaced = f", {len(result.replaced)} of others replaced" if result.replaced else ""
        return (
            f"Synced {plural(result.files, 'file')} to {shown_path(self.target)}: "
            f"{result.copied} copied{replaced}, {len(result.removed)} removed"
        )


def check_public_url(base_url: str) -> None:
    """Refuse a site whose address is this machine's: every canonical link, feed, sitemap
    and robots.txt entry would point there, and nobody else can follow them."""
    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    try:
        local = ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        local = host == "localhost" or host.endswith(".localhost")
    if local or not host:
        raise PublishError(
            f"base_url is {base_url!r}, an address on this machine: the published site's "
            "links, feeds and sitemap would point there. Set base_url in site.toml to the "
            "address the site is served from, or pass --base-url https://example.org/"
        )
