"""The few git commands publishing needs, run against a repository without touching its
working tree, index, HEAD or current branch.

Only plumbing is used: objects are written with `hash-object`, trees are built in a
temporary index (`GIT_INDEX_FILE`), commits with `commit-tree`, and a branch moves only
through `update-ref` with its expected old value.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from masthead.diagnostics import MastheadError

ZERO = "0" * 40


class GitError(MastheadError):
    """A git command failed, or git or the repository is missing."""


class GitRepo:
    """One repository, addressed through a folder inside its working tree."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def containing(cls, folder: Path) -> GitRepo:
        """The repository `folder` belongs to; GitError when there is none."""
        try:
            # Run from the top so that no command sees a sub-folder prefix.
            top = cls(folder).run("rev-parse", "--show-toplevel")
        except GitError as exc:
            raise GitError(f"{folder} is not in a git repository (with a working tree)") from exc
        return cls(Path(top))

    def run(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        """Run `git args` in the repository; return stdout without its last newline."""
        try:
            done = subprocess.run(
                ["git", "-C", str(self.folder), *args],
                input=input,
                capture_output=True,
                env={**os.environ, **(env or {})},
                check=False,
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed (or not on PATH)") from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise GitError(f"git {args[0]} failed: {detail}")
        return done.stdout.decode("utf-8", "replace").removesuffix("\n")

    def ok(self, *args: str) -> bool:
        """Whether `git args` succeeds (for questions git answers with its exit code)."""
        try:
            self.run(*args)
        except GitError:
            return False
        return True

    def resolve(self, rev: str) -> str | None:
        """The object id `rev` names, or None when it does not exist."""
        try:
            return self.run("rev-parse", "--verify", "--quiet", rev) or None
        except GitError:
            return None

    def remote_branch(self, remote: str, branch: str) -> str | None:
        """Fetch `branch` from `remote`; return its tip, or None when the remote lacks it."""
        ref = f"refs/heads/{branch}"
        listed = self.run("ls-remote", "--refs", remote, ref).splitlines()
        tips = [line.split("\t")[0] for line in listed if line.endswith(f"\t{ref}")]
        if not tips:
            return None
        tip = tips[0]
        if not self.ok("cat-file", "-e", f"{tip}^{{commit}}"):
            self.run(
                "fetch", "--quiet", "--no-tags", remote, f"+{ref}:refs/remotes/{remote}/{branch}"
            )
        return tip

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", older, newer)

    def write_tree(self, files: Mapping[str, Path]) -> str:
        """Store `files` (tree path -> file on disk) as blobs and return the id of their tree."""
        paths = sorted(files)
        sources = [str(files[p].resolve()) for p in paths]
        if any("\n" in name for name in (*paths, *sources)):
            raise GitError("a file name in the output contains a line break; git cannot take it")
        listing = b"".join(os.fsencode(source) + b"\n" for source in sources)
        blobs = self.run(
            "hash-object", "-w", "--no-filters", "--stdin-paths", input=listing
        ).split()
        entries = b"".join(
            f"{_mode(files[p])} {blob}\t".encode() + os.fsencode(p) + b"\0"
            for p, blob in zip(paths, blobs, strict=True)
        )
        with tempfile.TemporaryDirectory(prefix="masthead-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run("update-index", "-z", "--add", "--index-info", input=entries, env=env)
            return self.run("write-tree", env=env)

    def commit_tree(self, tree: str, parent: str | None, message: str) -> str:
        parents = ["-p", parent] if parent else []
        return self.run("commit-tree", tree, *parents, input=message.encode())

    def changed_paths(self, old: str | None, new: str) -> list[str]:
        """Paths that differ between two commits (all of `new` when there is no `old`)."""
        if old is None:
            return self.run("ls-tree", "-r", "--name-only", "-z", new).split("\0")[:-1]
        return self.run("diff-tree", "-r", "--name-only", "-z", old, new).split("\0")[:-1]

    def checked_out_branches(self) -> set[str]:
        """Refs checked out in any worktree of the repository (`refs/heads/...`)."""
        lines = self.run("worktree", "list", "--porcelain").splitlines()
        return {line.split(" ", 1)[1] for line in lines if line.startswith("branch ")}


def _mode(path: Path) -> str:
    return "100755" if path.stat().st_mode & 0o111 else "100644"
