"""The hostile corpus (tests/sites/hostile): nothing crashes, nothing leaks, each bad file is named.

Every injection payload in the corpus carries the marker MHXSS and every secret MHSECRET;
the build runs as a user runs it (the `masthead` command in a subprocess) and every file
it writes is scanned by tests/outputscan.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from masthead.config import load_config
from masthead.records.loader import load_record
from tests.conftest import SITES, masthead
from tests.htmlcheck import broken_links, html_files, parse
from tests.outputscan import MARKER, SECRET, scan_output

SITE = SITES / "hostile"
CONTENT = SITE / "content"

# Every malformed file, and the fragment its one error line must contain.
ERRORS = {
    "bad-yaml-syntax.md": "YAML error: found unexpected end of stream",
    "bad-no-front-matter.md": "no front matter",
    "bad-empty-front-matter.md": "front matter is empty",
    "bad-never-closed.md": "front matter is never closed",
    "bad-front-matter-list.md": "front matter is a list",
    "bad-invalid-utf8.md": "invalid UTF-8",
    "bad-nul-byte.md": "NUL byte",
    "bad-topics-string.md": "topics is a string",
    "bad-images-mapping.md": "images is a mapping",
    "bad-quality-string.md": "quality is a string '40'",
    "bad-date-words.md": "publishedDateTime is not a date-time: 'next Tuesday",
    "bad-date-year-zero.md": "publishedDateTime is not a date-time: '0000-01-01",
    "bad-date-year-99999.md": "publishedDateTime is not a date-time: '99999-01-01",
    "bad-date-month-13.md": "publishedDateTime is 2026-13-45, a date that does not exist",
    "bad-date-overflow-tz.md": "publishedDateTime is out of range",
    "bad-related-date-overflow.md": "related[0].publishedDateTime is out of range",
    "bad-python-tag.md": "YAML tag !!python/object/apply:os.system is not allowed",
    "bad-custom-tag.md": "YAML tag !MHXSS is not allowed",
    "bad-alias-bomb.md": "YAML anchors and aliases are not allowed",
    "bad-merge-bomb.md": "YAML anchors and aliases are not allowed (anchor &m0)",
    "bad-deep-nesting.md": "YAML nested too deeply",
    "bad-oversized.md": "file is 11120 bytes",
    "bad-long-title.md": "title is 659 characters",
    "bad-title-empty.md": "title is empty",
    "bad-missing-title.md": "missing field title",
    "bad-missing-date.md": "missing field publishedDateTime",
    "bad-duplicate-key.md": "duplicate key 'title'",
    "bad-number-key.md": "field name 2026 is an integer",
    "bad-sexagesimal.md": "!!int value of 3001 characters is too long",
    "bad-bool-tag.md": "YAML value 'MHXSS' cannot be read as !!bool",
    "bad-too-many-topics.md": "topics has 60 entries",
    "bad-provider-string.md": "provider is a string",
    "bad-empty-topic.md": "topics[0] is empty",
    "bad-published-word.md": "published is a string",
    "bad-tab-indent.md": "YAML error: found a tab character",
    "bad-image-size.md": "images[0].width is 99999999",
    "bad-unhashable-key.md": "YAML mapping key is not a scalar",
    "bad-scalar-alias.md": "YAML anchors and aliases are not allowed (anchor &x)",
    "bad-secured-int.md": "YAML value of secured cannot be read (not shown)",
    "bad-control-char-line.md": "bad-control-char-line.md:17: YAML error: a control",
}

# Records that are built, and a warning each must get.
WARNINGS = {
    "2026-11-03-url-javascript.md": "webUrl dropped",
    "2026-11-03-url-tab.md": "webUrl dropped",
    "2026-11-03-url-newline.md": "webUrl dropped",
    "2026-11-03-url-control.md": "webUrl dropped",
    "2026-11-03-url-entity-decimal.md": "webUrl dropped",
    "2026-11-03-url-entity-hex.md": "webUrl dropped",
    "2026-11-03-url-entity-colon.md": "webUrl dropped",
    "2026-11-03-url-mixed-case.md": "webUrl dropped",
    "2026-11-03-url-vbscript.md": "webUrl dropped",
    "2026-11-03-url-data.md": "webUrl dropped",
    "2026-11-03-url-file.md": "webUrl dropped",
    "2026-11-03-url-protocol-relative.md": "webUrl dropped",
    "2026-11-03-url-backslash.md": "webUrl dropped",
    "2026-11-03-url-no-host.md": "webUrl dropped",
    "2026-11-03-url-other-fields.md": "ampWebUrl dropped",
    "2026-11-02-image-urls.md": "images[1].url dropped",
    "2026-11-02-provider-name-svg.md": "provider.images[0].url dropped",
    "2026-11-02-related-injection.md": "related[0].images[0].url dropped",
    "2026-11-04-embed-only-bad.md": "embed dropped",
    "2026-11-07-published-string.md": "published is the string 'false', read as false",
    "2026-11-08-duplicate-story.md": "same webUrl as 2026-11-01-script-in-title.md",
    "b/2026-11-08-same-slug.md": "already taken; using 'same-slug-2'",
    "2026-11-06-colliding-provider.md": "shares the slug 'quay-courier' with 'Quay Courier'",
    "2026-11-06-colliding-topics.md": "topic 'AT-T' shares the slug 'at-t' with 'at t'",
    "2026-11-09-markdown-bomb.md": "Markdown punctuation characters; shown as plain text",
}


@dataclass(frozen=True)
class Run:
    out: Path
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


def in_content(*args: str | Path) -> tuple[int, str, str]:
    """Run in the content folder, where messages name each record by its file name."""
    done = masthead(*args, cwd=CONTENT)
    return done.returncode, done.stdout, done.stderr


def _build(out: Path, *flags: str) -> Run:
    """Build into `out`, with the cache beside it: the checked-in site stays untouched."""
    cache = out.parent / "cache"
    code, stdout, stderr = in_content(
        "build", "--site", SITE, "--output", out, "--cache-dir", cache, *flags
    )
    return Run(out, code, stdout, stderr)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _build(tmp_path_factory.mktemp("hostile") / "public")


@pytest.fixture(scope="module")
def with_drafts(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _build(tmp_path_factory.mktemp("hostile-drafts") / "public", "--drafts")


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    records = sorted(CONTENT.rglob("*.md"))
    assert len(records) >= 40
    names = {p.relative_to(CONTENT).as_posix() for p in records}
    assert set(ERRORS) <= names
    assert set(WARNINGS) <= names
    payloads = [p for p in records if MARKER.encode() in p.read_bytes()]
    assert len(payloads) >= 40


def test_build_succeeds_and_names_every_bad_file_once(built: Run) -> None:
    assert built.code == 0, built.stderr
    for name, fragment in ERRORS.items():
        mine = [line for line in built.lines if line.startswith(f"{name}:")]
        assert len(mine) == 1, (name, mine)
        # path:line: what is wrong (expected ...); an oversized file is refused unread.
        shape = rf"{re.escape(name)}(:\d+)?: (?!warning).+ \(expected .+\)"
        assert re.fullmatch(shape, mine[0]), mine[0]
        assert fragment in mine[0], (name, mine[0])
        if name != "bad-oversized.md":
            assert re.match(rf"{re.escape(name)}:\d+: ", mine[0]), mine[0]


def test_warnings_name_the_files_that_were_built_anyway(built: Run) -> None:
    for name, fragment in WARNINGS.items():
        assert any(
            line.startswith(f"{name}:") and "warning: " in line and fragment in line
            for line in built.lines
        ), (name, fragment)


def test_summary_counts_the_skipped_records(built: Run) -> None:
    total = len(list(CONTENT.rglob("*.md")))
    assert f"read {total} records ({len(ERRORS)} skipped" in built.stdout


def test_strict_lists_every_bad_file_and_writes_nothing(tmp_path: Path) -> None:
    run = _build(tmp_path / "public", "--strict")
    assert run.code == 1
    named = {line.split(":", 1)[0] for line in run.lines if "warning: " not in line}
    assert set(ERRORS) <= named
    assert f"({len(ERRORS)} skipped" in run.stderr
    assert "Build failed" in run.stderr
    assert not run.out.exists()


def test_no_injected_markup_in_any_output_file(built: Run, with_drafts: Run) -> None:
    hosts = load_config(SITE).iframe_hosts
    for run in (built, with_drafts):
        assert run.code == 0, run.stderr
        assert scan_output(run.out, hosts) == []


def test_payloads_survive_only_as_visible_text(built: Run) -> None:
    """The scan above is not vacuous: the payloads are on the pages, as text."""
    page = parse(built.out / "news/2026/11/10/script-in-title/index.html")
    assert page.h1.get_text() == "<script>alert('MHXSS-title')</script> Harbour crane stops"
    # The one inline script is the page's JSON-LD, where the title is JSON text; the
    # others are the theme's own files.
    (script,) = page.find_all("script", src=False)
    files = [s["src"] for s in page.find_all("script", src=True)]
    assert files and all("/assets/" in src for src in files)
    assert script["type"] == "application/ld+json"
    assert json.loads(script.string)["headline"] == page.h1.get_text()
    topic = parse(built.out / "topics/script-mhxss-topic-script/index.html")
    assert topic.h1.get_text() == "<script>MHXSS-topic</script>"
    related = parse(built.out / "news/2026/11/10/related-injection/index.html")
    titles = [h.get_text(strip=True) for h in related.select(".related-item h3")]
    assert "<script>alert('MHXSS-related-title')</script>" in titles
    excerpt = parse(built.out / "news/2026/11/10/excerpt-tags/index.html").select_one(".lead")
    # Tags are stripped; what entities spelled out stays visible text.
    assert excerpt.get_text() == "Ferries run late. <script>alert('MHXSS-entity')</script>"
    marked = [p for p in html_files(built.out) if MARKER in p.read_text(encoding="utf-8")]
    assert len(marked) > 20


def test_hostile_embed_keeps_only_the_allowlisted_iframe(built: Run) -> None:
    page = parse(built.out / "news/2026/11/10/embed-hostile/index.html")
    frames = page.find_all("iframe")
    assert [f["src"] for f in frames] == ["https://www.youtube.com/embed/harbourtour"]
    frame = frames[0]
    assert frame["allow"] == "autoplay; encrypted-media"  # camera and microphone are gone
    assert set(frame.attrs) == {
        "allow", "allowfullscreen", "height", "src", "title", "width", "loading",
    }  # fmt: skip
    assert "MHXSS-embed-title" in frame["title"]
    assert page.select(".embed a, .embed img, .embed svg, .embed object") == []
    bad_only = parse(built.out / "news/2026/11/10/embed-only-bad/index.html")
    assert bad_only.find("iframe") is None and bad_only.select(".embed") == []


def test_dropped_urls_leave_no_link(built: Run) -> None:
    for name in ("url-javascript", "url-tab", "url-entity-hex", "url-protocol-relative"):
        page = parse(built.out / f"news/2026/11/10/{name}/index.html")
        assert page.select(".read-original") == [], name


def test_markdown_body_links_are_text_or_safe(built: Run) -> None:
    body = parse(built.out / "news/2026/11/10/markdown-body/index.html").select_one(".body")
    assert [a["href"] for a in body.find_all("a")] == ["https://quaycourier.example/ok"]
    assert body.find("img") is None and body.find("script") is None
    assert "<script>alert('MHXSS-md-raw')</script>" in body.get_text()


def test_every_output_path_is_computed_and_inside_the_output(built: Run) -> None:
    out = built.out.resolve()
    slug = re.compile(
        r"[a-z0-9]+(-[a-z0-9]+)*|index\.html|404\.html|index\.json|feed\.xml|rss\.xml"
        r"|feed\.json|sitemap\.xml|robots\.txt|email\.html|email\.txt"
    )
    asset = re.compile(r"[a-z0-9-]+(\.[0-9a-f]{8})?\.[a-z]+")
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out) and not path.is_symlink()
        rel = path.relative_to(out)
        if rel.parts[0].startswith(".masthead"):
            continue
        if rel.parts[0] == "assets" and len(rel.parts) == 2:
            assert asset.fullmatch(rel.parts[1]), rel
        elif rel.parts[0] == "pagefind":  # the search bundle, named by Pagefind
            assert all(re.fullmatch(r"[a-z0-9_.-]+", part) for part in rel.parts), rel
        else:
            assert all(slug.fullmatch(part) for part in rel.parts), rel
    # Nothing was written beside the output but the cache; nothing in the site folder.
    assert sorted(p.name for p in built.out.parent.iterdir()) == ["cache", "public"]
    assert not list(SITE.glob(".masthead*"))


def test_traversal_names_become_terms_inside_their_folders(built: Run) -> None:
    topics = {p.name for p in (built.out / "topics").iterdir() if p.is_dir()}
    # "Etc" and "../../etc" share a slug: each gets a page; "/", ".." and an emoji get
    # stable hashed slugs.
    assert {"etc", "windows", "2e-2e-2fescape"} <= topics
    assert parse(built.out / "topics/etc/index.html").h1.get_text(strip=True) == "Etc"
    assert len([t for t in topics if re.fullmatch("etc-[0-9a-f]{6}", t)]) == 1
    assert len([t for t in topics if t.startswith("n-")]) == 3
    providers = {p.name for p in (built.out / "providers").iterdir() if p.is_dir()}
    assert "tmp-mhxss-provider-path" in providers
    # "quay-courier" slugs like "Quay Courier": a page of its own, not an overwrite.
    page = parse(built.out / "providers/quay-courier/index.html")
    assert page.h1.get_text(strip=True) == "Quay Courier"
    (other,) = [p for p in providers if re.fullmatch("quay-courier-[0-9a-f]{6}", p)]
    page = parse(built.out / "providers" / other / "index.html")
    assert page.h1.get_text(strip=True) == "quay-courier"


def test_titles_that_slugify_to_nothing_or_a_path(built: Run) -> None:
    day = built.out / "news/2026/11/10"
    assert (day / "etc-passwd-mhxss-traversal-title/index.html").is_file()
    hashed = [p for p in day.iterdir() if p.name.startswith("n-")]
    titles = sorted(parse(p / "index.html").h1.get_text() for p in hashed)
    assert titles == ["/", "A file name of dots", "🌊🌊🌊"]
    long_title = parse(day / "long-title-ok/index.html").h1.get_text()
    assert long_title.startswith("Harbour Harbour") and len(long_title) > 400


def test_secured_never_reaches_output_or_extra(built: Run) -> None:
    for path in built.out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    record = load_record(CONTENT / "2026-11-07-secured.md", "secured.md", load_config(SITE))
    assert SECRET not in repr(record)
    assert record.extra["meta"] == {"note": "kept", "deeper": [{}]}
    # Nor in any spelling of the key, nor in any message, the one about a bad value included.
    spellings = CONTENT / "2026-11-07-secured-spellings.md"
    record = load_record(spellings, "s.md", load_config(SITE))
    assert record.extra == {"meta": {"note": "kept", "list": [{"keep": True}]}}
    assert SECRET not in built.stderr and SECRET not in built.stdout


def test_only_the_dangling_related_link_is_broken(built: Run) -> None:
    assert broken_links(built.out, "/sub/") == [
        "news/2026/11/10/related-injection/index.html: /sub/news/2030/01/01/nothing-here/"
    ]


def test_byte_order_mark_crlf_and_control_characters_simply_work(built: Run) -> None:
    day = built.out / "news/2026/11/10"
    assert parse(day / "bom-crlf/index.html").h1.get_text() == "BOM and CRLF simply work"
    title = parse(day / "control-chars-title/index.html").h1.get_text()
    assert title == "Bell and escape[2J in the title"


def test_published_false_as_a_string_is_a_draft(built: Run, with_drafts: Run) -> None:
    draft = "news/2026/11/10/published-string/index.html"
    assert not (built.out / draft).exists()
    assert parse(with_drafts.out / draft).select_one(".badge-draft") is not None


def test_check_lists_every_bad_file_and_writes_nothing() -> None:
    before = sorted((p, p.stat().st_mtime_ns) for p in SITE.rglob("*"))
    code, _, err = in_content("check", "--site", SITE)
    assert code == 1
    named = {line.split(":", 1)[0] for line in err.splitlines()}
    assert set(ERRORS) <= named
    assert "2026-11-08-duplicate-story.md: warning: same webUrl as" in err
    assert "links to /news/2030/01/01/nothing-here/, which is no page or file of this site" in err
    assert sorted((p, p.stat().st_mtime_ns) for p in SITE.rglob("*")) == before
