"""Per-build memos (masthead.outputs.memo.Memos): made once per build, handed down, let go at its end."""

from __future__ import annotations

import ast
from pathlib import Path

import masthead
from masthead.config import SiteConfig
from masthead.outputs.memo import IdentityMemo, Memos
from masthead.outputs.render import build_memos, make_env

SOURCE = Path(masthead.__file__).parent


class _Story:
    def __init__(self, title: str) -> None:
        self.title = title


def test_a_build_makes_each_result_once_and_lets_go_of_it_when_closed() -> None:
    made: list[str] = []

    def card(story: _Story, heading: str) -> str:
        made.append(story.title)
        return f"<h{heading}>{story.title}"

    story = _Story("Harbour wall")
    with Memos() as memos:
        assert memos.of(card) is memos.of(card)
        assert memos.of(card)(story, "2") == memos.of(card)(story, "2") == "<h2>Harbour wall"
        assert memos.of(card)(story, "3") == "<h3>Harbour wall"
        assert made == ["Harbour wall"] * 2
    with Memos() as next_build:  # a new site model: nothing carried over
        next_build.of(card)(story, "2")
    assert made == ["Harbour wall"] * 3


def test_a_memo_kept_for_longer_holds_one_builds_results_only() -> None:
    kept = IdentityMemo(lambda story: story.title)
    story = _Story("Ferry times")
    kept(story)
    memos = Memos(kept)  # the next build begins
    story.title = "Ferry times changed"  # stands in for that build's new model
    assert kept(story) == "Ferry times changed"
    memos.close()
    story.title = "Again"
    assert kept(story) == "Again"


def test_the_template_fragment_cache_is_this_builds() -> None:
    """`cached(macro, ...)` in templates: the environment outlives a preview's build."""
    env = make_env(SiteConfig(), None)
    cached = env.globals["cached"]

    def shout(story: _Story) -> str:  # stands in for a macro imported by the templates
        return story.title.upper()

    story = _Story("tide tables")
    with build_memos(env):
        assert cached(shout, story) == "TIDE TABLES"
        story.title = "moved"
        assert cached(shout, story) == "TIDE TABLES"  # made once in a build
    with build_memos(env):
        assert cached(shout, story) == "MOVED"


def test_no_module_keeps_a_memo_of_its_own() -> None:
    """Module-level memos would outlive the build: they belong to a Memos."""
    found = []
    for path in SOURCE.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            value = getattr(node, "value", None)
            if isinstance(value, ast.Call) and "Memo" in ast.unparse(value.func):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
