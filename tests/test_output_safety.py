"""Nothing is lost: each refusal leaves every file around the site as it was, and a build
that fails for any reason (config, template, an exception mid-render) leaves the previous
output byte-identical. test_output.py covers the writer's own cases (stale files, user
files, planted symlinks, foreign folders); these go end to end through build().
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import masthead.building.rendering
from masthead.diagnostics import ConfigError, MastheadError
from masthead.outputs.writer import MANIFEST, STAGING
from tests.conftest import Scratch, tree


def _site(scratch: Scratch, count: int = 5) -> None:
    for i in range(count):
        scratch.add(
            f"2026-11-1{i}-story-{i}.md", title=f"Story {i}", when=f"2026-11-1{i}T09:00:00Z"
        )


REFUSAL_IDS = "site content templates static parent grandparent home root in-content in-templates"


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (lambda s: s.root, "the site folder"),
        (lambda s: s.content, "the site's content/ folder"),
        (lambda s: s.root / "templates", "the site's templates/ folder"),
        (lambda s: s.root / "static", "the site's static/ folder"),
        (lambda s: s.root.parent, "it contains the site folder"),
        (lambda s: s.root.parent.parent, "it contains the site folder"),
        (lambda s: Path.home(), "your home folder"),
        (lambda s: Path("/"), "the file system root"),
        (lambda s: s.content / "public", "inside the site's content/ folder"),
        (lambda s: s.root / "templates" / "out", "inside the site's templates/ folder"),
    ],
    ids=REFUSAL_IDS.split(),
)
def test_each_refused_output_folder_changes_nothing(
    scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: object, reason: str
) -> None:
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "todo.txt").write_text("mine")
    monkeypatch.setenv("HOME", str(home))
    _site(scratch, 1)
    (scratch.root / "templates").mkdir()
    (scratch.root / "static").mkdir()
    before = tree(tmp_path)
    with pytest.raises(ConfigError, match="refusing") as caught:
        scratch.build(output_dir=output(scratch))  # type: ignore[operator]
    assert reason in str(caught.value)
    assert tree(tmp_path) == before


def test_a_content_folder_given_as_output_is_refused(scratch: Scratch, tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "2026-11-10-a.md").write_text("---\ntitle: A\npublishedDateTime: 2026-11-10\n---\n")
    before = tree(tmp_path)
    with pytest.raises(ConfigError, match="refusing to use the content folder"):
        scratch.build(content_dir=records, output_dir=records)
    assert tree(tmp_path) == before


def test_a_content_folder_inside_the_output_is_refused(scratch: Scratch, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "records").mkdir(parents=True)
    (out / "records" / "2026-11-10-a.md").write_text("---\ntitle: A\n---\n")
    before = tree(tmp_path)
    with pytest.raises(ConfigError, match=r"content folder .* inside the output folder"):
        scratch.build(content_dir=out / "records", output_dir=out)
    assert tree(tmp_path) == before


# --- a failed build changes nothing ----------------------------------------------------------


@pytest.fixture
def built(scratch: Scratch) -> Scratch:
    _site(scratch)
    scratch.build()
    assert (scratch.output / MANIFEST).is_file()
    # The next build would change pages: a new title and a removed story.
    scratch.add("2026-11-10-story-0.md", title="Story zero, retitled", when="2026-11-10T09:00:00Z")
    (scratch.content / "2026-11-11-story-1.md").unlink()
    return scratch


def _assert_unchanged(scratch: Scratch, before: dict[str, bytes | None]) -> None:
    assert tree(scratch.output) == before
    assert not (scratch.output / STAGING).exists()


def test_bad_config_leaves_previous_output(built: Scratch) -> None:
    before = tree(built.output)
    built.config('page_size = "twenty"\n')
    with pytest.raises(ConfigError, match="page_size must be an integer"):
        built.build()
    _assert_unchanged(built, before)


def test_a_template_raising_mid_render_leaves_previous_output(built: Scratch) -> None:
    """Pages before the failing one are already rendered and staged when it raises."""
    before = tree(built.output)
    built.template(
        "article.html",
        "{% extends 'base.html' %}{% block main %}<h1>{{ article.title }}</h1>"
        "{{ 1 // 0 if article.title == 'Story 2' else '' }}{% endblock %}",
    )
    with pytest.raises(MastheadError, match="ZeroDivisionError") as caught:
        built.build()
    assert "article.html:1: " in str(caught.value)
    _assert_unchanged(built, before)


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_an_exception_injected_mid_render_leaves_previous_output(
    built: Scratch, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    before = tree(built.output)
    real = masthead.building.rendering.render_output
    calls = 0

    def flaky(*args: object, **kwargs: object) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise error
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(masthead.building.rendering, "render_output", flaky)
    with pytest.raises(type(error)):
        built.build(jobs=1)
    assert calls == 4
    _assert_unchanged(built, before)


def test_a_failed_first_build_leaves_no_output_folder(scratch: Scratch) -> None:
    _site(scratch)
    scratch.template("index.html", "{{ no_such_variable }}")
    with pytest.raises(MastheadError):
        scratch.build()
    assert not scratch.output.exists()


def test_the_build_after_a_failure_is_complete(built: Scratch) -> None:
    built.template("index.html", "{% broken")
    with pytest.raises(MastheadError):
        built.build()
    (built.root / "templates" / "index.html").unlink()
    report = built.build()
    assert not report.failed
    assert not (built.output / "news/2026/11/11/story-1").exists()
    assert "Story zero, retitled" in (built.output / "index.html").read_text()


def test_stale_cleanup_does_not_follow_a_folder_replaced_by_a_symlink(
    scratch: Scratch, tmp_path: Path
) -> None:
    """An old manifest entry under a folder the user swapped for a symlink to elsewhere."""
    _site(scratch, 1)
    scratch.build()
    outside = tmp_path / "photos"
    outside.mkdir()
    (outside / "cat.jpg").write_bytes(b"a cat")
    (scratch.output / "gallery").symlink_to(outside, target_is_directory=True)
    path = scratch.output / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"]["gallery/cat.jpg"] = hashlib.sha256(b"a cat").hexdigest()
    path.write_text(json.dumps(manifest))
    scratch.build()
    assert (outside / "cat.jpg").read_bytes() == b"a cat"
