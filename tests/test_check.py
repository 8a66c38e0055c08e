"""`masthead check`: the full list of what is wrong, exit 1; one OK line, exit 0; never a write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from masthead.commands.cli import main
from tests.conftest import Scratch, build_and_check, masthead, record_text
from tests.htmlcheck import parse


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and modification time, to prove nothing was written."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def run_check(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def good(scratch: Scratch) -> Scratch:
    scratch.add("2026-11-10-quay.md", title="Quay", when="2026-11-10T09:00:00Z")
    scratch.add(
        "2026-11-11-ferry.md",
        title="Ferry",
        when="2026-11-11T09:00:00Z",
        extra="related:\n  - title: Quay\n    webUrl: /news/2026/11/10/quay/\n",
    )
    return scratch


def test_a_good_site_passes_with_one_line_and_writes_nothing(
    good: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(good.root)
    code, out, err = run_check(capsys, "--site", good.root)
    assert code == 0, err
    assert err == ""
    assert out.startswith("OK: 2 records, ") and out.count("\n") == 1
    assert tree(good.root) == before
    assert not good.output.exists()


def test_every_kind_of_problem_is_listed(good: Scratch, capsys: pytest.CaptureFixture[str]) -> None:
    good.add("2026-11-12-broken.md", "---\ntitle: [unclosed\n---\n")
    good.add("2026-11-12-also-broken.md", "---\ntitle: T\n---\n")
    good.add("2026-11-13-copy.md", title="Quay again", url=_url_of(good, "2026-11-10-quay.md"))
    good.add(
        "2026-11-14-dangling.md",
        title="Dangling",
        extra="related:\n  - title: Gone\n    webUrl: /news/2020/01/01/gone/\n",
    )
    good.template(
        "term.html",
        "{% extends 'base.html' %}{% block main %}<a href=\"{{ url('/nowhere/') }}\">x</a>"
        "{{ 1 // 0 if term.name == 'Climate' else '' }}{% endblock %}",
    )
    before = tree(good.root)
    code, out, err = run_check(capsys, "--site", good.root)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    # What fails `build --strict` (a record skipped, a template that fails) fails the
    # check; what a build only warns about is printed as a warning.
    problems = [
        "content/2026-11-12-broken.md:2: YAML error",
        "content/2026-11-12-also-broken.md:2: missing field publishedDateTime",
        "content/2026-11-14-dangling.md:19: related story 'Gone' links to /news/2020/01/01/gone/",
        "term.html:1: ZeroDivisionError",
    ]
    warnings = [
        # Both files named the one way (here, outside the working folder: in full).
        "content/2026-11-13-copy.md: warning: same webUrl as "
        f"{good.root / 'content' / '2026-11-10-quay.md'}, whose record is shown",
        "providers/harbour-ledger/index.html: warning: broken link '/nowhere/'",
    ]
    for fragment in problems + warnings:
        assert [line for line in lines if fragment in line], (fragment, lines)
    # The dangling related link is reported once, as the record's problem, not as a page's;
    # links to the page whose template failed are not reported as broken as well.
    assert not [line for line in lines if "broken link '/news/2020" in line]
    assert not [line for line in lines if "broken link '/topics/climate/'" in line]
    shown = len(lines) - 1
    warned = len([line for line in lines if ": warning: " in line])
    assert lines[-1] == f"Check failed: {shown - warned} problems, {warned} warnings"
    assert shown - warned == 4
    assert tree(good.root) == before


def _url_of(scratch: Scratch, name: str) -> str:
    text = (scratch.content / name).read_text()
    return text.split('webUrl: "', 1)[1].split('"', 1)[0]


def test_a_template_error_on_many_pages_is_one_line(
    good: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    good.template(
        "article.html", "{% extends 'base.html' %}{% block main %}{{ nope }}{% endblock %}"
    )
    code, _, err = run_check(capsys, "--site", good.root)
    assert code == 1
    problems = [line for line in err.splitlines() if "'nope' is undefined" in line]
    assert len(problems) == 1 and problems[0].endswith("(2 pages)")


def test_a_template_that_does_not_parse(good: Scratch, capsys: pytest.CaptureFixture[str]) -> None:
    good.template("index.html", "{% for %}")
    code, _, err = run_check(capsys, "--site", good.root)
    assert code == 1 and "index.html:1:" in err


def test_bad_config_is_one_error(good: Scratch, capsys: pytest.CaptureFixture[str]) -> None:
    good.config('timezone = "Mars/Olympus_Mons"\n')
    code, out, err = run_check(capsys, "--site", good.root)
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and "Mars/Olympus_Mons" in err


def test_an_unsafe_output_folder_in_the_config_is_reported(
    good: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    good.config('output_dir = "content"\n')
    code, _, err = run_check(capsys, "--site", good.root)
    assert code == 1 and "refusing" in err


def test_content_and_drafts_options(
    good: Scratch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good.add(
        "2026-11-15-draft.md",
        title="Draft",
        published=False,
        extra="related:\n  - title: Gone\n    webUrl: /gone/\n",
    )
    assert run_check(capsys, "--site", good.root)[0] == 0
    code, _, err = run_check(capsys, "--site", good.root, "--drafts")
    assert code == 1 and "2026-11-15-draft.md:19: related story 'Gone' links to /gone/" in err
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "2026-11-16-x.md").write_text("---\ntitle: X\n---\n")
    code, _, err = run_check(capsys, "--site", good.root, "--content", other)
    assert code == 1 and err.startswith(
        f"{other}/2026-11-16-x.md:2: missing field publishedDateTime"
    )


def test_check_leaves_an_existing_output_alone(
    good: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    good.build()
    good.add("2026-11-10-quay.md", title="Quay, retitled", when="2026-11-10T09:00:00Z")
    before = tree(good.output)
    assert run_check(capsys, "--site", good.root)[0] == 0
    assert tree(good.output) == before


BROKEN_FIELDS = {
    "title": ("title: 123", "title is an integer (expected a string)"),
    "excerpt": ("excerpt: [a, b]", "excerpt is a list (expected a string)"),
    "publishedDateTime": ("publishedDateTime: yesterday", "publishedDateTime is not a date-time"),
    "quality": ("quality: lots", "quality is a string 'lots' (expected an integer)"),
    "topics": ("topics: Rail", "topics is a string (expected a list of topic names)"),
}
"""Fields of one record each broken a different way, with what masthead says of each."""


def _broken_record() -> tuple[str, dict[str, int]]:
    """A record with every field of BROKEN_FIELDS broken, and the line each is on."""
    lines = record_text(title="Broken", topics=()).splitlines()
    for field, (line, _message) in BROKEN_FIELDS.items():
        at = next((i for i, text in enumerate(lines) if text.startswith(f"{field}:")), None)
        if at is None:
            lines.insert(1, line)
        else:
            lines[at] = line
    text = "\n".join(lines) + "\n"
    where = {f: text.splitlines().index(line) + 1 for f, (line, _m) in BROKEN_FIELDS.items()}
    return text, where


def test_check_names_every_problem_of_a_broken_record_build_one_line(good: Scratch) -> None:
    """A curator fixes a broken record once, not once per run: `check` names every
    field's problem, each with its line, in the file's order. `build` keeps to one line
    for a skipped record, its first problem and how many more it has."""
    text, where = _broken_record()
    good.add("2026-11-12-broken.md", text)
    expected = sorted(BROKEN_FIELDS, key=where.__getitem__)
    checked = masthead("check", cwd=good.root)
    said = [line for line in checked.stderr.splitlines() if "2026-11-12-broken.md" in line]
    assert [line.split(":")[1] for line in said] == [str(where[f]) for f in expected]
    for line, field in zip(said, expected, strict=True):
        assert BROKEN_FIELDS[field][1] in line, line
    assert checked.returncode == 1
    assert "Check failed: 5 problems" in checked.stdout + checked.stderr
    built = masthead("build", cwd=good.root)
    assert built.returncode == 0, built.stderr
    (line,) = [line for line in built.stderr.splitlines() if "2026-11-12-broken.md" in line]
    assert line.startswith(f"content/2026-11-12-broken.md:{where[expected[0]]}: ")
    assert line.endswith("(and 4 more problems: masthead check lists them)")
    assert "(1 skipped)" in built.stdout
    assert (good.output / "news/2026/11/11/ferry/index.html").is_file()


def test_a_duplicate_names_both_records_from_the_site_folder(good: Scratch) -> None:
    """`cd mysite && masthead build`: the warning names the kept record as it names the
    merged one, from the working folder, so a terminal or an editor opens either."""
    good.add("2026-11-13-copy.md", title="Quay again", url=_url_of(good, "2026-11-10-quay.md"))
    expected = (
        "content/2026-11-13-copy.md: warning: same webUrl as content/2026-11-10-quay.md, "
        "whose record is shown (same quality, first by path); this one is left out"
    )
    for lines in build_and_check(good.root):
        assert expected in lines, lines
    inside = masthead("build", "--site", "..", cwd=good.root / "content")
    assert "2026-11-13-copy.md: warning: same webUrl as 2026-11-10-quay.md, whose" in inside.stderr


@pytest.mark.parametrize(
    ("copy", "args", "said"),
    [
        (
            {"quality": 10},
            (),
            "content/2026-11-13-copy.md: warning: same webUrl as content/2026-11-10-quay.md, "
            "whose record is shown (quality 50 against 10); this one is left out",
        ),
        (
            {"published": False, "quality": 90},
            ("--drafts",),
            "content/2026-11-13-copy.md: warning: same webUrl as content/2026-11-10-quay.md, "
            "whose record is shown (published, where this one is a draft); this one is left out",
        ),
    ],
)
def test_a_duplicate_says_which_record_is_shown_and_why(
    good: Scratch, copy: dict[str, object], args: tuple[str, ...], said: str
) -> None:
    """A curator who added a story twice should not have to guess which one they see."""
    url = _url_of(good, "2026-11-10-quay.md")
    good.add("2026-11-13-copy.md", title="Quay again", url=url, **copy)  # type: ignore[arg-type]
    for lines in build_and_check(good.root, *args):
        assert said in lines, lines


def test_a_story_type_the_theme_does_not_know_is_named(good: Scratch) -> None:
    """`type: Video` is meant as video and shown as one; `vidoe` would lose its player
    without a word, so it is named, with the word meant; a word of the site's own
    (`podcast`) is kept without one, for the site's own templates."""
    for day, title, kind in (
        ("12", "Clip", "Video"),
        ("13", "Typo", "vidoe"),
        ("14", "Pod", "podcast"),
    ):
        good.add(
            f"2026-11-{day}-{title.lower()}.md",
            title=title,
            when=f"2026-11-{day}T09:00:00Z",
            story_type=kind,
        )
    line = record_text(story_type="x").splitlines().index("type: x") + 1
    for lines in build_and_check(good.root):
        assert [text for text in lines if "type" in text] == [
            f"content/2026-11-13-typo.md:{line}: warning: type 'vidoe' is shown as an "
            "article; did you mean 'video'? (expected article or video)",
        ]
    clip = parse(good.output / "news/2026/11/12/clip/index.html")
    assert "Video" in [badge.get_text() for badge in clip.select(".story-header .badge")]
    api = json.loads((good.output / "api/news/index.json").read_text("utf-8"))
    kinds = {item["title"]: item["type"] for item in api["items"]}
    assert (kinds["Clip"], kinds["Typo"], kinds["Pod"]) == ("video", "vidoe", "podcast")


def test_a_name_on_one_story_close_to_a_common_one_is_named(good: Scratch) -> None:
    """`Heritge` would give its story a topic page of its own, away from `Heritage`; the
    curator hears of it. Left alone: `Windows 10` beside `Windows 11` (not a letter), a
    slip in a short word (`CBS News`, `CBC News`), a provider one letter from another on
    a different domain, and a name rare everywhere."""
    for day in (15, 16, 17):
        good.add(f"2026-11-{day}-h.md", title=f"Heritage {day}", when=f"2026-11-{day}T09:00:00Z",
                 topics=("Heritage", "Windows 11", "CBS News"))  # fmt: skip
    good.add(
        "2026-11-18-typo.md",
        title="Typo",
        topics=("Heritge", "Windows 10", "CBC News", "Busines"),
        provider="Harbour Ledgr",  # on harbourledgr.example
    )
    same_domain = record_text(title="Ship", when="2026-11-19T09:00:00Z", topics=("Shiping",),
                              provider="Harbour Ledgerr")  # fmt: skip
    good.add("2026-11-19-ship.md", same_domain.replace("ledgerr.example", "ledger.example"))
    (good.root / "data" / "topics").mkdir(parents=True)
    (good.root / "data" / "topics" / "shipping.yaml").write_text("name: Shipping\n", "utf-8")
    for lines in build_and_check(good.root):
        assert [line for line in lines if "on this story only" in line] == [
            "content/2026-11-18-typo.md: warning: topic 'Heritge' is on this story only; "
            "did you mean 'Heritage'?",
            "content/2026-11-19-ship.md: warning: topic 'Shiping' is on this story only; "
            "did you mean 'Shipping'?",
            "content/2026-11-19-ship.md: warning: provider 'Harbour Ledgerr' is on this "
            "story only; did you mean 'Harbour Ledger'?",
        ], lines
    assert (good.output / "topics/heritge/index.html").is_file()  # said, not changed
