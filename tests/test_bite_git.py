"""Publishing's git plumbing at its edges: the cases mutation testing found unchecked.

GitRepo runs against a real repository made here; nothing of the user's is touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from masthead.gitrepo import GitError, GitRepo


def test_a_folder_outside_any_repository_is_named_in_the_error(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    assert GitRepo.containing(tmp_path / "repo").folder == (tmp_path / "repo").resolve()
    with pytest.raises(GitError, match="is not in a git repository"):
        GitRepo.containing(tmp_path)
