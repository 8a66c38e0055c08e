"""The README's examples as a reader copies them: the GitHub Actions workflow and the record."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import REPO, Scratch, masthead
from tests.htmlcheck import parse


def test_the_workflow_example_publishes_to_gh_pages_on_push() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### GitHub Actions", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    workflow = yaml.safe_load(block[1])
    assert "push" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"]["contents"] == "write"
    steps = workflow["jobs"]["publish"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "masthead publish --to gh-pages" in commands
    assert "git config user.email" in commands


def test_the_record_example_builds_as_written(tmp_path: Path) -> None:
    """The README's record is what a newcomer copies first: it must build, without a
    warning, into the page and lists it describes."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The record", 1)[1]
    block = re.search(r"```markdown\n(.*?)```", section, re.S)
    name = re.search(r"`content/(\d{4}-\d\d-\d\d-[\w-]+\.md)`", section)
    assert block is not None and name is not None
    site = Scratch(tmp_path / "site")
    site.add(name[1], block[1])
    done = masthead("build", cwd=site.root)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    page = parse(site.output / "news/2026/11/18/harbour-wall-approved/index.html")
    assert page.h1.get_text() == "Harbour wall approved: work starts in spring"
    assert page.select_one(".body").get_text().strip().startswith("An optional body")
    for folder in ("topics/local-government", "topics/climate", "providers/harbour-ledger"):
        assert (site.output / folder / "index.html").is_file(), folder
