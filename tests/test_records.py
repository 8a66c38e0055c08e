"""The loader: every field of a record read as documented, every bad input reported precisely."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic
from masthead.records import loader as records
from masthead.records.loader import LoadResult, Record, load_records
from tests.conftest import Scratch, filling_late, record_text

LONDON = SiteConfig(timezone="Europe/London")
MESSAGE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<what>.+) \(expected (?P<expected>.+)\)$")

FULL_RECORD = """\
---
category: news
title: "Tide gauge network gets its first upgrade in thirty years"
excerpt: "Engineers replaced the <b>oldest</b> gauges &amp; sensors &#8212; and added &quot;live&quot; feeds.<br>"
publishedDateTime: 2026-07-01T23:30:00Z
originalUrl: "https://tidewatch.example/originals/tide-gauges"
webUrl: "https://tidewatch.example/news/tide-gauges"
ampWebUrl: "https://tidewatch.example/amp/tide-gauges"
cdnAmpWebUrl: "https://cdn.tidewatch.example/amp/tide-gauges"
type: video
quality: 87
heat: -1
featuredContent: '<iframe src="https://www.youtube.com/embed/tide123" width="640" height="360" onload="steal()" style="x"></iframe>'
provider:
  name: "Tidewatch   Weekly"
  domain: tidewatch.example
  images:
    - url: "https://tidewatch.example/logo.png"
      width: 48
      height: 48
topics:
  - Climate
  - Coastal Engineering
  - Climate
images:
  - url: "https://tidewatch.example/gauge.jpg"
    width: 1200
    height: 675
    isCached: true
  - url: "/images/gauge-2.jpg"
related:
  - title: "Why tide gauges drift"
    excerpt: "A short <i>explainer</i>."
    publishedDateTime: 2026-06-30T08:00:00Z
    webUrl: "https://tidewatch.example/news/drift"
    type: article
    quality: 40
    provider:
      name: Tidewatch Weekly
    images:
      - url: "https://tidewatch.example/drift.jpg"
        width: 300
        height: 200
  - title: "Harbour survey"
    originalUrl: "https://harbourledger.example/survey"
secured: "c2VjcmV0LWJsb2ItdGhhdC1tdXN0LW5ldmVyLWxlYWs="
curatorNote: "checked twice"
sourceScores:
  trust: 4
  tags: [coastal, infrastructure]
---
Engineers spent **two summers** on the work.

| gauge | year |
|-------|------|
| North | 1994 |

<script>alert("body")</script>

[click](javascript:alert(1))
"""


FILE_DAY = "2026-07-01T09:00:00Z"
"""The day in the name `load` gives its file: a record dated otherwise gets a warning."""


def load(scratch: Scratch, text: str | bytes, config: SiteConfig = LONDON) -> LoadResult:
    scratch.add("2026-07-01-record.md", text)
    return load_records(scratch.content, config)


def load_ok(scratch: Scratch, text: str | bytes, config: SiteConfig = LONDON) -> Record:
    result = load(scratch, text, config)
    assert result.errors == (), [str(d) for d in result.errors]
    [record] = result.records
    return record


def load_error(scratch: Scratch, text: str | bytes, config: SiteConfig = LONDON) -> Diagnostic:
    result = load(scratch, text, config)
    assert result.records == ()
    [error] = result.errors
    return error


def with_field(text: str, key: str, value: str | None) -> str:
    """`text` with top-level field `key` set to the raw YAML `value`, or removed when None."""
    line = "" if value is None else f"{key}: {value}\n"
    changed, n = re.subn(rf"^{key}:.*\n", lambda _: line, text, count=1, flags=re.M)
    assert n == 1, key
    return changed


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of `text` containing `needle`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def assert_message(error: Diagnostic, line: int, what: str) -> None:
    """The message is `path:line: what (expected ...)`, blaming `line`, and says `what`."""
    match = MESSAGE.match(str(error))
    assert match, str(error)
    assert match["path"] == "2026-07-01-record.md"
    assert int(match["line"]) == line, str(error)
    assert re.search(what, match["what"]), str(error)


# Every field ---------------------------------------------------------------------------


def test_every_field_of_the_schema_is_read(scratch: Scratch) -> None:
    r = load_ok(scratch, FULL_RECORD)
    assert r.path == "2026-07-01-record.md"
    assert r.title == "Tide gauge network gets its first upgrade in thirty years"
    assert r.category == "news"
    assert r.type == "video"
    assert (r.quality, r.heat) == (87, -1)
    assert r.published is True  # no `published` field means published
    assert r.original_url == "https://tidewatch.example/originals/tide-gauges"
    assert r.web_url == "https://tidewatch.example/news/tide-gauges"
    assert r.url == r.web_url
    assert r.amp_url == "https://tidewatch.example/amp/tide-gauges"
    assert r.cdn_amp_url == "https://cdn.tidewatch.example/amp/tide-gauges"
    assert r.slug_hint == "record"


def test_provider_with_logo_is_read(scratch: Scratch) -> None:
    provider = load_ok(scratch, FULL_RECORD).provider
    assert provider is not None
    assert provider.name == "Tidewatch Weekly"  # runs of blanks collapse
    assert provider.domain == "tidewatch.example"
    assert provider.logo is not None
    assert (provider.logo.url, provider.logo.width, provider.logo.height) == (
        "https://tidewatch.example/logo.png",
        48,
        48,
    )


def test_images_are_read_in_order(scratch: Scratch) -> None:
    images = load_ok(scratch, FULL_RECORD).images
    assert [(i.url, i.width, i.height, i.cached) for i in images] == [
        ("https://tidewatch.example/gauge.jpg", 1200, 675, True),
        ("/images/gauge-2.jpg", None, None, False),
    ]


def test_related_stories_are_read(scratch: Scratch) -> None:
    first, second = load_ok(scratch, FULL_RECORD).related
    assert first.title == "Why tide gauges drift"
    assert first.url == "https://tidewatch.example/news/drift"
    assert first.excerpt == "A short explainer."
    assert first.published_at == datetime(2026, 6, 30, 8, 0, tzinfo=UTC)
    assert (first.type, first.quality) == ("article", 40)
    assert first.provider is not None and first.provider.name == "Tidewatch Weekly"
    assert [(i.url, i.width, i.height) for i in first.images] == [
        ("https://tidewatch.example/drift.jpg", 300, 200)
    ]
    assert second.title == "Harbour survey"
    assert second.url == "https://harbourledger.example/survey"  # originalUrl when no webUrl
    assert second.provider is None and second.published_at is None


def test_topics_keep_order_and_drop_repeats(scratch: Scratch) -> None:
    assert load_ok(scratch, FULL_RECORD).topics == ("Climate", "Coastal Engineering")


def test_web_url_falls_back_to_original_url(scratch: Scratch) -> None:
    text = with_field(record_text(url="https://a.example/story"), "webUrl", None)
    r = load_ok(scratch, text)
    assert r.web_url is None
    assert r.url == "https://a.example/story"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-07-01T23:30:00Z", datetime(2026, 7, 1, 23, 30, tzinfo=UTC)),
        ("2026-07-01T23:30:00+05:00", datetime(2026, 7, 1, 18, 30, tzinfo=UTC)),
        ('"2026-07-01T23:30:00Z"', datetime(2026, 7, 1, 23, 30, tzinfo=UTC)),
        # No zone: the site's timezone (London is on summer time, UTC+1, in July).
        ("2026-07-01T23:30:00", datetime(2026, 7, 1, 22, 30, tzinfo=UTC)),
        ("2026-07-01", datetime(2026, 6, 30, 23, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_dates_without_a_zone_are_in_the_site_timezone(
    scratch: Scratch, written: str, expected: datetime
) -> None:
    r = load_ok(scratch, record_text(when=written))
    assert r.published_at.tzinfo is not None
    assert r.published_at == expected


def test_naive_dates_follow_the_configured_zone(scratch: Scratch) -> None:
    tokyo = SiteConfig(timezone="Asia/Tokyo")
    r = load_ok(scratch, record_text(when="2026-07-01T09:00:00"), tokyo)
    assert r.published_at == datetime(2026, 7, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert r.published_at.utcoffset() is not None


def test_excerpt_entities_and_stray_tags_become_plain_text(scratch: Scratch) -> None:
    r = load_ok(scratch, FULL_RECORD)
    assert r.excerpt == 'Engineers replaced the oldest gauges & sensors — and added "live" feeds.'


@pytest.mark.parametrize(
    ("excerpt", "text"),
    [
        ("a < b and c > d", "a < b and c > d"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
        ("<script>alert(1)</script>Kept", "Kept"),
        ("Fish &amp; chips", "Fish & chips"),
        ("line\n\n  breaks   collapse", "line breaks collapse"),
    ],
)
def test_excerpt_is_text_not_markup(scratch: Scratch, excerpt: str, text: str) -> None:
    """An escaped tag stays visible text (the renderer escapes it); a real one is removed."""
    r = load_ok(scratch, with_field(record_text(), "excerpt", json.dumps(excerpt)))
    assert r.excerpt == text


def test_featured_content_keeps_only_allowlisted_iframes(scratch: Scratch) -> None:
    embed = (
        '<div onclick="x()"><iframe src="https://www.youtube.com/embed/ok" width="560" '
        'height="315" onload="steal()" allowfullscreen></iframe>'
        '<iframe src="https://evil.example/embed/x"></iframe>'
        '<iframe src="http://www.youtube.com/embed/plain-http"></iframe>'
        '<iframe src="javascript:alert(1)"></iframe>'
        "<script>alert(1)</script><img src=x onerror=alert(1)></div>"
    )
    text = with_field(record_text(extra=f"featuredContent: '{embed}'\n"), "type", "video")
    r = load_ok(scratch, text)
    soup = BeautifulSoup(r.embed_html, "html5lib")
    frames = soup.find_all("iframe")
    assert [f["src"] for f in frames] == ["https://www.youtube.com/embed/ok"]
    assert not soup.find_all(["script", "img", "div"])
    assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.startswith("on")]
    assert frames[0].get("width") == "560" and frames[0].has_attr("allowfullscreen")


def test_featured_content_without_an_allowed_iframe_warns(scratch: Scratch) -> None:
    text = record_text(
        when=FILE_DAY, extra="featuredContent: '<iframe src=\"https://evil.example/x\"></iframe>'\n"
    )
    result = load(scratch, text)
    [record] = result.records
    assert record.embed_html == ""
    [warning] = result.diagnostics
    assert warning.severity == "warning"
    assert warning.line == line_of(text, "featuredContent")
    assert "www.youtube.com" in str(warning)


def test_featured_content_host_list_comes_from_config(scratch: Scratch) -> None:
    config = SiteConfig(iframe_hosts=("video.example",))
    extra = (
        'featuredContent: \'<iframe src="https://video.example/e/1"></iframe>'
        '<iframe src="https://www.youtube.com/embed/ok"></iframe>\'\n'
    )
    r = load_ok(scratch, record_text(extra=extra), config)
    srcs = [f["src"] for f in BeautifulSoup(r.embed_html, "html5lib").find_all("iframe")]
    assert srcs == ["https://video.example/e/1"]


def test_markdown_body_has_tables_and_no_raw_html(scratch: Scratch) -> None:
    body = BeautifulSoup(load_ok(scratch, FULL_RECORD).body_html, "html5lib")
    assert body.find("strong").get_text() == "two summers"
    table = body.find("table")
    assert table is not None
    assert [th.get_text() for th in table.find_all("th")] == ["gauge", "year"]
    assert [td.get_text() for td in table.find_all("td")] == ["North", "1994"]
    assert body.find("script") is None
    assert '<script>alert("body")</script>' in body.get_text()  # shown as text
    assert not [a for a in body.find_all("a") if "javascript" in a.get("href", "")]


def test_record_without_a_body_has_no_body_html(scratch: Scratch) -> None:
    assert load_ok(scratch, record_text(body="\n  \n")).body_html == ""


def test_unknown_fields_are_kept_in_extra(scratch: Scratch) -> None:
    r = load_ok(scratch, FULL_RECORD)
    assert dict(r.extra) == {
        "curatorNote": "checked twice",
        "sourceScores": {"trust": 4, "tags": ["coastal", "infrastructure"]},
    }
    with pytest.raises(TypeError):
        r.extra["curatorNote"] = "edited"  # type: ignore[index]


def test_secured_is_never_kept(scratch: Scratch) -> None:
    r = load_ok(scratch, FULL_RECORD)
    assert "secured" not in r.extra
    assert not [f for f in Record.__slots__ if "c2VjcmV0" in repr(getattr(r, f))]


def test_secured_never_reaches_the_output(scratch: Scratch) -> None:
    scratch.add("2026-07-01-record.md", FULL_RECORD)
    report = scratch.build()
    assert report.skipped == 0
    files = [p for p in scratch.output.rglob("*") if p.is_file()]
    assert files
    assert not [p for p in files if b"c2VjcmV0LWJsb2I" in p.read_bytes()]


def test_published_false_is_a_draft_and_missing_is_published(scratch: Scratch) -> None:
    assert load_ok(scratch, record_text(published=False)).published is False
    text = with_field(record_text(), "published", None)
    assert load_ok(scratch, text).published is True


def test_published_as_a_string_is_read_with_a_warning(scratch: Scratch) -> None:
    text = with_field(record_text(when=FILE_DAY), "published", '"false"')
    result = load(scratch, text)
    [record] = result.records
    assert record.published is False
    [warning] = result.diagnostics
    assert warning.severity == "warning"
    assert_message(warning, line_of(text, "published:"), "published is the string 'false'")
    assert ": warning: " in str(warning)


def test_unsafe_urls_are_dropped_with_a_warning(scratch: Scratch) -> None:
    text = record_text(url="javascript:alert(1)", when=FILE_DAY)
    result = load(scratch, text)
    [record] = result.records
    assert (record.web_url, record.original_url) == (None, None)
    assert {d.line for d in result.diagnostics} == {
        line_of(text, "originalUrl"),
        line_of(text, "webUrl"),
    }
    assert all(d.severity == "warning" for d in result.diagnostics)


def test_bom_and_crlf_just_work(scratch: Scratch) -> None:
    text = record_text(title="Windows-written story", body="Body *text*.\n")
    raw = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    r = load_ok(scratch, raw)
    assert r.title == "Windows-written story"
    assert r.topics == ("Climate",)
    assert "\r" not in r.body_html and "<em>text</em>" in r.body_html


def test_fences_may_have_trailing_blanks(scratch: Scratch) -> None:
    text = record_text(title="Loose fences", body="Body.\n").replace("---\n", "---  \t\n")
    r = load_ok(scratch, text)
    assert r.title == "Loose fences" and r.body_html == "<p>Body.</p>\n"


def test_crlf_errors_name_the_right_line(scratch: Scratch) -> None:
    text = record_text(quality="high")  # type: ignore[arg-type]
    raw = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    assert_message(load_error(scratch, raw), line_of(text, "quality:"), "quality is a string")


def test_records_are_found_recursively_and_dotfiles_skipped(scratch: Scratch) -> None:
    scratch.add("2026/11/2026-11-18-deep.md", title="Deep")
    scratch.add("2026-11-18-top.markdown", title="Top")
    scratch.add(".drafts/2026-11-18-hidden.md", title="Hidden")
    scratch.add("notes.txt", "not a record")
    result = load_records(scratch.content, LONDON)
    assert result.files == 2
    assert sorted(r.title for r in result.records) == ["Deep", "Top"]
    assert {r.path for r in result.records} == {
        "2026/11/2026-11-18-deep.md",
        "2026-11-18-top.markdown",
    }


# Invalid input -------------------------------------------------------------------------

BAD_FIELDS = [
    # (case, text, the line's needle or None for the first front matter line, what)
    ("missing title", with_field(record_text(), "title", None), None, r"missing field title"),
    ("empty title", record_text(title="  "), "title:", r"title is empty"),
    ("title a number", with_field(record_text(), "title", "1984"), "title:", r"title is an integer"),
    ("missing date", with_field(record_text(), "publishedDateTime", None), None, r"missing field publishedDateTime"),
    ("date is words", record_text(when="next tuesday"), "publishedDateTime", r"not a date-time: 'next tuesday'"),
    ("impossible date", record_text(when="2026-02-30T10:00:00Z"), "publishedDateTime", r"is 2026-02-30, a date that does not exist: February 2026 has 28 days"),
    ("impossible month", record_text(when="2026-13-45"), "publishedDateTime", r"is 2026-13-45, a date that does not exist: there is no month 13"),
    ("date is a boolean", record_text(when="true"), "publishedDateTime", r"not a date-time"),
    ("string for a list", with_field(record_text(topics=()), "topics", "Climate"), "topics:", r"topics is a string"),
    ("mapping for a list", record_text(extra="images:\n  url: /a.png\n  width: 10\n"), "images:", r"images is a mapping"),
    ("number as string", record_text(extra='related:\n  - title: Other\n    quality: "80"\n'), 'quality: "80"', r"related\[0\]\.quality is a string '80'"),
    ("quality as string", record_text(quality='"80"'), "quality:", r"quality is a string '80'"),  # type: ignore[arg-type]
    ("float for an int", record_text(quality="7.5"), "quality:", r"quality is a number 7\.5"),  # type: ignore[arg-type]
    ("topic not a string", record_text(topics=("Climate", "42")), "- 42", r"topics\[1\] is an integer"),
    ("provider a string", record_text().replace("provider:\n  name: Harbour Ledger\n  domain: harbourledger.example\n", "provider: Harbour Ledger\n"), "provider:", r"provider is a string"),
    ("provider without name", record_text().replace("  name: Harbour Ledger\n", ""), "provider:", r"missing field provider\.name"),
    ("image width a word", record_text(extra="images:\n  - url: /a.png\n    width: wide\n"), "width: wide", r"images\[0\]\.width is a string"),
    ("image width absurd", record_text(extra="images:\n  - url: /a.png\n    height: 0\n"), "height: 0", r"images\[0\]\.height is 0"),
    ("related without title", record_text(extra="related:\n  - webUrl: https://a.example/x\n"), "- webUrl", r"missing field related\[0\]\.title"),
    ("published a number", with_field(record_text(), "published", "1"), "published:", r"published is an integer"),
    ("field name a number", record_text(extra="2026: year\n"), "2026: year", r"field name 2026 is an integer"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "text", "needle", "what"), BAD_FIELDS, ids=[c[0] for c in BAD_FIELDS]
)
def test_invalid_fields_are_reported_at_their_line(
    scratch: Scratch, case: str, text: str, needle: str | None, what: str
) -> None:
    line = line_of(text, needle) if needle else 2
    assert_message(load_error(scratch, text), line, what)


BAD_YAML = [
    ("syntax: colon in a plain value", record_text(extra="note: a: b\n"), "note: a: b", r"^YAML error: mapping values"),
    ("syntax: unclosed quote", record_text(extra='note: "never ends\nmore: 1\n'), "never ends", r"^YAML error"),
    ("syntax: line without a colon", record_text(extra="just some words\nmore: 1\n"), "just some words", r"^YAML error"),
    ("syntax: unclosed flow list", record_text(extra="tags: [a, b\nmore: 1\n"), "tags: [a, b", r"^YAML error"),
    ("syntax: tab indentation", record_text(extra="deep:\n\tkey: 1\n"), "\tkey", r"^YAML error"),
    ("duplicate key", record_text(extra='title: "Again"\n'), 'title: "Again"', r"^duplicate key 'title'"),
    ("duplicate nested key", record_text().replace("  domain:", "  name: Other\n  domain:"), "name: Other", r"^duplicate key 'name'"),
    ("alias", record_text(extra="base: &b {x: 1}\ncopy: *b\n"), "&b", r"anchors and aliases are not allowed"),
    ("merge key", record_text(extra="copy:\n  <<: {x: 1}\n"), "<<:", r"^YAML merge keys \(<<\) are not allowed"),
    ("set tag", record_text(extra="tags: !!set {a, b}\n"), "tags:", r"^YAML tag !!set is not allowed"),
    ("python tag", record_text(extra="boom: !!python/object/apply:os.system ['true']\n"), "boom:", r"^YAML tag !!python/object/apply:os\.system is not allowed"),
    ("python name tag", record_text(extra="boom: !!python/name:os.system\n"), "boom:", r"^YAML tag !!python/name:os\.system is not allowed"),
    ("custom tag", record_text(extra="boom: !local thing\n"), "boom:", r"^YAML tag !local is not allowed"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "needle", "what"), BAD_YAML, ids=[c[0] for c in BAD_YAML])
@pytest.mark.usefixtures("yaml_parser")
def test_bad_yaml_is_reported_at_its_line(
    scratch: Scratch, case: str, text: str, needle: str, what: str
) -> None:
    assert_message(load_error(scratch, text), line_of(text, needle), what)


@pytest.mark.parametrize(
    ("case", "text", "line", "what"),
    [
        ("front matter a list", "---\n- one\n- two\n---\n", 2, r"^front matter is a list"),
        ("front matter a string", "---\njust a sentence\n---\n", 2, r"^front matter is a string"),
        ("never closed", "---\ntitle: Open\npublishedDateTime: 2026-01-01\n", 1, r"never closed"),
        ("empty front matter", "---\n---\nA body only.\n", 1, r"^front matter is empty"),
        ("empty file", "", 1, r"^file is empty"),
        ("blank file", " \n\n", 1, r"^file is empty"),
        ("no front matter", "title: Loose\n", 1, r"^no front matter"),
    ],
)
def test_broken_front_matter_is_reported(
    scratch: Scratch, case: str, text: str, line: int, what: str
) -> None:
    assert_message(load_error(scratch, text), line, what)


def test_invalid_utf8_names_its_line(scratch: Scratch) -> None:
    text = record_text(extra="note: caf\udce9\n")
    raw = text.encode("utf-8", "surrogateescape")
    assert_message(load_error(scratch, raw), line_of(text, "note:"), r"^invalid UTF-8")


def test_nul_byte_names_its_line(scratch: Scratch) -> None:
    text = record_text(extra="note: a\x00b\n")
    assert_message(load_error(scratch, text), line_of(text, "note:"), r"^NUL byte")


def test_oversized_file_is_refused_unread(scratch: Scratch) -> None:
    config = SiteConfig(max_record_bytes=2048)
    text = record_text(body="x" * 4096)
    error = load_error(scratch, text, config)
    assert_message(error, 1, rf"^file is {len(text.encode())} bytes")
    assert "at most 2048" in str(error)


def test_alias_bomb_is_refused_quickly(scratch: Scratch) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = record_text(extra="\n".join(lines) + "\n")
    started = time.perf_counter()
    error = load_error(scratch, text)
    assert time.perf_counter() - started < 2
    assert "aliases are not allowed" in str(error)


def test_deep_nesting_is_refused(scratch: Scratch) -> None:
    text = record_text(extra="deep: " + "[" * 200 + "]" * 200 + "\n")
    assert "nested too deeply" in str(load_error(scratch, text))


def test_one_bad_record_does_not_stop_the_others(scratch: Scratch) -> None:
    scratch.add("2026-11-18-good.md", title="Good one")
    scratch.add("2026-11-18-bad.md", "---\ntitle: [unclosed\n---\n")
    scratch.add("2026-11-18-also-good.md", title="Also good")
    result = load_records(scratch.content, LONDON)
    assert result.files == 3
    assert sorted(r.title for r in result.records) == ["Also good", "Good one"]
    assert [d.path for d in result.errors] == ["2026-11-18-bad.md"]


@pytest.mark.parametrize(
    ("stat_size", "limit", "expected"),
    [(50, 100, 50), (10, 100, 50), (80, 100, 50), (50, 20, 20), (10, 20, 20), (0, 100, 50)],
    ids=["as stat said", "grew", "shrank", "over the limit", "grew over it", "empty then"],
)
def test_a_record_file_is_read_whole_whatever_its_size_did_after_stat(
    tmp_path: Path, stat_size: int, limit: int, expected: int
) -> None:
    """The file is read in one call when it is as long as fstat said; a file that grew or
    shrank since is still read to its end, or to the limit."""
    path = tmp_path / "record.md"
    path.write_bytes(bytes(range(50)))
    fd = os.open(path, os.O_RDONLY)
    try:
        assert records._read_at_most(fd, limit, stat_size) == bytes(range(50))[:expected]
    finally:
        os.close(fd)


def test_a_short_read_before_the_end_is_followed_by_another() -> None:
    """Network file systems may return less than asked before the end: a pipe that gets
    the second half of a file later stands in for one."""
    data = bytes(range(50))
    with filling_late(data, 30) as read_end:
        assert records._read_at_most(read_end, 100, len(data)) == data


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("topcis", "topics"),
        ("provder", "provider"),
        ("publishedDatetime", "publishedDateTime"),
        ("Title", "title"),
        ("exerpt", "excerpt"),
        ("webURL", "webUrl"),
        ("imagse", "images"),
    ],
)
def test_a_field_name_close_to_a_known_one_asks_did_you_mean(
    scratch: Scratch, typo: str, meant: str
) -> None:
    text = record_text(when=FILE_DAY, extra=f"{typo}: [x]\n")
    result = load(scratch, text)
    [record] = result.records
    assert record.extra == {typo: ["x"]}  # still kept as an extra, as documented
    [warning] = result.diagnostics
    assert warning.severity == "warning" and warning.line == line_of(text, f"{typo}:")
    assert f"unknown field {typo!r}" in warning.message
    assert f"did you mean {meant!r}?" in warning.message


@pytest.mark.parametrize("extra", ["curatorNote", "score", "sourceFeed", "id", "tags", "Secured"])
def test_other_unknown_fields_stay_silent_extras(scratch: Scratch, extra: str) -> None:
    result = load(scratch, record_text(when=FILE_DAY, extra=f"{extra}: 1\n"))
    assert len(result.records) == 1
    assert [str(d) for d in result.diagnostics] == []


@pytest.mark.parametrize(
    ("when", "warned"),
    [
        ("2026-07-01T09:00:00Z", False),
        ("2026-07-02T12:00:00Z", False),  # a day away: time zones and late edits
        ("2026-06-30T00:30:00Z", False),
        ("2026-07-03T09:00:00Z", True),
        ("2025-07-01T09:00:00Z", True),
    ],
)
def test_a_file_name_date_far_from_the_published_date_is_mentioned(
    scratch: Scratch, when: str, warned: bool
) -> None:
    result = load(scratch, record_text(when=when))
    assert len(result.records) == 1
    messages = [d.message for d in result.diagnostics if "file name says 2026-07-01" in d.message]
    assert len(messages) == int(warned)
    if warned:
        assert "publishedDateTime is " + when[:10] in messages[0]
