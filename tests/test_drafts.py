"""Drafts in a build that leaves them out: read as far as their `published: false`.

A third of a real site's records can be drafts. A build without --drafts makes no page
of them, so it reads a draft's front matter only as far as a plain `published: false`
line; `check`, `build --strict` and `build --drafts` parse and validate it in full.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from masthead.building import rendering
from masthead.building.build import Builder, BuildOptions
from masthead.config import SiteConfig
from masthead.records.loader import read_record
from tests.conftest import Scratch, masthead, record_text

LIVE = record_text(title="Harbour ferry timetable changes")
DRAFT = record_text(title="Embargoed ferry fares", published=False)


VARIANTS: dict[str, tuple[str, bool]] = {
    "plain": (DRAFT, True),
    "comment": (DRAFT.replace("published: false", "published: false  # embargo"), True),
    "crlf": (DRAFT.replace("\n", "\r\n"), True),
    "broken elsewhere": (DRAFT.replace("heat: 10", "heat: [10"), True),
    "capital False": (DRAFT.replace("published: false", "published: False"), False),
    "quoted false": (DRAFT.replace("published: false", 'published: "false"'), False),
    "no space": (DRAFT.replace("published: false", "published:false"), False),
    "tagged": (DRAFT.replace("published: false", "published: !!bool false"), False),
    "key twice": (DRAFT.replace("published: false", "published: false\n'published': true"), False),
    "indented only": (LIVE.replace("published: true\n", "").replace(
        "provider:\n", "provider:\n  published: false\n"), False),
    "in the body": (LIVE + "published: false\n", False),
    "published": (LIVE, False),
}  # fmt: skip
"""Record texts, each with whether a build leaving drafts out skims it."""


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_draft_is_skimmed_only_when_the_parser_would_leave_it_out(
    tmp_path: Path, name: str
) -> None:
    text, skimmed = VARIANTS[name]
    path = tmp_path / "2026-11-18-story.md"
    path.write_bytes(text.encode())
    config = SiteConfig()
    skim = read_record(path, path.name, config, skim_drafts=True)
    full = read_record(path, path.name, config)
    assert skim.draft is skimmed
    if skimmed:
        assert skim.record is None and skim.diagnostics == ()
        # What the full parse makes of it: a draft, or a record it would skip anyway.
        assert full.record is None or full.record.published is False
    else:
        assert skim == full


def test_a_published_false_line_in_a_quoted_value_makes_a_draft(tmp_path: Path) -> None:
    """The one front matter the skim reads otherwise than the parser, as says_draft says:
    YAML lets a quoted value run on over lines, even one that reads `published: false`
    at the start of a line. The build takes the line at its word."""
    text = LIVE.replace("published: true\n", "").replace(
        'excerpt: "', 'excerpt: "An excerpt that runs on\npublished: false\n'
    )
    path = tmp_path / "2026-11-18-story.md"
    path.write_bytes(text.encode())
    full = read_record(path, path.name, SiteConfig())
    assert full.record is not None and full.record.published is True
    assert "runs on published: false" in full.record.excerpt
    assert read_record(path, path.name, SiteConfig(), skim_drafts=True).draft


def _site(tmp_path: Path) -> Scratch:
    site = Scratch(tmp_path / "site")
    site.add("2026-11-18-live.md", LIVE)
    # A draft with an error a full parse reports: a flow list never closed.
    site.add("2026-11-17-draft.md", DRAFT.replace("heat: 10", "heat: [10"))
    return site


def test_build_leaves_a_broken_draft_unread_and_check_and_strict_report_it(
    tmp_path: Path,
) -> None:
    """As people run it, from inside the site. The build after a --strict one (and the
    --strict one after a plain one) shares no records with it: each reads drafts its way."""
    site = _site(tmp_path)
    named = re.compile(r"^content/2026-11-17-draft\.md:\d+: ", re.M)
    for _ in range(2):
        built = masthead("build", "--no-search", cwd=site.root)
        assert built.returncode == 0, built.stderr
        assert "read 2 records (0 skipped, 1 draft left out)" in built.stdout
        assert not named.search(built.stderr), built.stderr
        assert "content/2026-11-17-draft.md" in built.stdout  # named among the drafts left out
        strict = masthead("build", "--no-search", "--strict", cwd=site.root)
        assert strict.returncode == 1
        assert named.search(strict.stderr), strict.stderr
    checked = masthead("check", cwd=site.root)
    assert checked.returncode == 1 and named.search(checked.stderr), checked.stderr
    drafts = masthead("build", "--no-search", "--drafts", cwd=site.root)
    assert drafts.returncode == 0 and named.search(drafts.stderr), drafts.stderr
    assert "read 2 records (1 skipped)" in drafts.stdout
    assert {p.parent.name for p in (site.output / "news").rglob("index.html")} == {"live"}


def test_a_draft_published_is_read_in_full_and_a_draft_edited_touches_no_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Scratch(tmp_path / "site")
    site.add("2026-11-18-live.md", LIVE)
    draft = site.add("2026-11-17-draft.md", DRAFT)
    builder = Builder(BuildOptions(site_dir=site.root, search=False, jobs=1))
    assert builder.build().drafts == ["2026-11-17-draft.md"]

    looked_at: list[str] = []
    fingerprint = rendering.page_fingerprint

    def counted(url: str, *args: object) -> str:
        looked_at.append(url)
        return fingerprint(url, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rendering, "page_fingerprint", counted)
    draft.write_text(DRAFT.replace("Embargoed ferry fares", "Embargoed fares, revised"))
    report = builder.build()
    assert report.drafts == ["2026-11-17-draft.md"] and report.parsed == 1
    assert looked_at == []  # no page shows a draft: none is fingerprinted again

    draft.write_text(DRAFT.replace("published: false", "published: true"))
    report = builder.build()
    assert report.drafts == [] and not report.diagnostics
    assert any(path.endswith("/draft/index.html") for path in report.written_paths)
