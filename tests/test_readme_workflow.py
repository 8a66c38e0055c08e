"""The README's GitHub Actions example is valid YAML that publishes on push."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO


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
