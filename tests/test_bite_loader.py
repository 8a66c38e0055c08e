"""Loading and validation at their edges: the cases mutation testing found unchecked.

Each test pins one promise of the loader (yamlload, records) at the boundary where a
one-character change to the code would break it: a limit at, below and above, a message
that must name the line, a branch taken only by an unusual but legal record.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic, RecordError
from masthead.records import loader, yamlload
from masthead.records.loader import (
    MAX_MARKUP,
    MAX_NAME,
    Read,
    Record,
    load_record,
    read_record,
    scan_records,
)
from masthead.records.yamlload import (
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    YamlError,
    is_secret_key,
    load_yaml,
)
from tests.conftest import EXTRA_LINE, filling_late, record_text


def test_a_typed_number_is_read_up_to_the_length_limit_and_refused_past_it() -> None:
    digits = "1" * MAX_NUMBER_CHARS
    assert load_yaml(f"n: !!int {digits}") == {"n": int(digits)}
    with pytest.raises(YamlError) as caught:
        load_yaml(f"a: 1\nn: !!int {digits}1")
    assert caught.value.line == 2
    assert f"{MAX_NUMBER_CHARS + 1} characters is too long" in caught.value.message
    assert str(caught.value) == caught.value.message  # what a traceback shows


def _error(text: str) -> YamlError:
    with pytest.raises(YamlError) as caught:
        load_yaml(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("a: @x", "YAML error: found character that cannot start any token"),
        ("a: [x]]", "YAML error: expected <block end>, but found another character"),
    ],
)
def test_the_pure_python_parser_quotes_no_character_of_the_value(
    monkeypatch: pytest.MonkeyPatch, text: str, said: str
) -> None:
    """PyYAML's own parser quotes the offending character, which may be a secret's."""
    monkeypatch.setattr(yamlload, "_Loader", yaml.SafeLoader)
    assert _error(text).message == said


def test_long_spellings_of_secured_are_secret_and_near_misses_are_not() -> None:
    padding = "\u200b" * 60
    assert is_secret_key("SECURED" + padding)
    assert is_secret_key(" " * 70 + "secured")
    assert not is_secret_key("secure" + padding + "d!")
    assert not is_secret_key("unsecured" + padding)
    assert not is_secret_key(12345678)


def test_an_unreadable_value_under_a_number_key_is_an_error_naming_its_line() -> None:
    error = _error("title: x\n12345678: !!bool maybe")
    assert (error.line, error.message) == (2, "YAML value 'maybe' cannot be read as !!bool")


def test_an_unreadable_secured_value_is_reported_without_quoting_it() -> None:
    error = _error("title: x\nsecured: !!int hunter2")
    assert (error.line, error.message, error.expected) == (
        2,
        "YAML value of secured cannot be read (not shown)",
        "a plain string",
    )


def test_an_alias_alone_is_refused_by_its_name() -> None:
    error = _error("title: x\nlink: *home")
    assert (error.line, error.message) == (
        2,
        "YAML anchors and aliases are not allowed (alias *home)",
    )
    assert error.expected == "every value written out, without anchors or aliases"


def test_a_duplicate_key_and_a_list_as_key_say_what_is_expected() -> None:
    duplicate = _error("title: x\ntitle: y")
    assert (duplicate.line, duplicate.expected) == (2, "each field once")
    listed = _error("title: x\n? [a, b]\n: 1")
    assert (listed.line, listed.message, listed.expected) == (
        2,
        "YAML mapping key is not a scalar",
        "a plain field name",
    )


def test_a_tagged_float_written_as_digits_is_a_float() -> None:
    value = load_yaml("ratio: !!float 5")["ratio"]
    assert (value, type(value)) == (5.0, float)


# records/loader.py: one record file read through read_record, as the build reads each one.

CONFIG = SiteConfig(timezone="Europe/London", max_record_bytes=8192)


def _read(
    tmp_path: Path, text: str | bytes, name: str = "2026-11-18-story.md"
) -> tuple[Record | None, tuple[Diagnostic, ...]]:
    path = tmp_path / "content" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    read = read_record(path, name, CONFIG)
    return read.record, read.diagnostics


def _said(tmp_path: Path, text: str | bytes) -> tuple[int | None, str, str | None]:
    """The one error a bad record gets: its line, message and what was expected."""
    record, diagnostics = _read(tmp_path, text)
    assert record is None and diagnostics[0].severity == "error"
    return diagnostics[0].line, diagnostics[0].message, diagnostics[0].expected


def _image(size: str) -> str:
    return f"images:\n  - url: https://news.example/a.jpg\n    width: {size}\n"


@pytest.mark.parametrize("size", [1, 100_000])
def test_an_image_size_at_either_limit_is_kept(tmp_path: Path, size: int) -> None:
    record, diagnostics = _read(tmp_path, record_text(extra=_image(str(size))))
    assert record is not None and diagnostics == ()
    assert record.images[0].width == size


@pytest.mark.parametrize("size", [0, -1, 100_001])
def test_an_image_size_past_either_limit_is_refused(tmp_path: Path, size: int) -> None:
    assert _said(tmp_path, record_text(extra=_image(str(size)))) == (
        EXTRA_LINE + 2,
        f"images[0].width is {size}",
        "a size between 1 and 100000",
    )


def test_a_link_to_a_folder_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "content" / "folder").mkdir(parents=True)
    (tmp_path / "content" / "dir.md").symlink_to(tmp_path / "content" / "folder")
    record, diagnostics, _ = read_record(tmp_path / "content" / "dir.md", "dir.md", CONFIG)
    assert record is None
    assert [(d.message, d.expected, d.severity) for d in diagnostics] == [
        (
            "symbolic link to a folder; not followed",
            "a file, or a link to a file inside the content folder",
            "warning",
        )
    ]


def test_a_record_at_the_size_limit_loads_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    text = record_text()
    text += "x" * (CONFIG.max_record_bytes - len(text.encode()) - 4) + " end"
    record, _ = _read(tmp_path, text)
    assert record is not None and record.body_html.endswith("x end</p>\n")  # read whole
    assert _said(tmp_path, text + "y") == (1, "file is 8193 bytes", "at most 8192")


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("loop.md", "symbolic link loops; not followed"),
        ("missing.md", "symbolic link is broken; not followed"),
    ],
)
def test_a_looping_or_broken_link_is_refused_by_what_is_wrong(
    tmp_path: Path, target: str, said: str
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "loop.md").symlink_to(content / "loop.md")
    (content / "link.md").symlink_to(content / target)
    record, diagnostics, _ = read_record(content / "link.md", "link.md", CONFIG)
    assert record is None
    assert [(d.message, d.severity) for d in diagnostics] == [(said, "warning")]


def test_load_record_without_a_list_for_warnings_still_loads(tmp_path: Path) -> None:
    """The warnings argument is optional: callers that want only the record leave it out."""
    path = tmp_path / "2026-11-18-story.md"
    path.write_text(_front(f"{BASE}\nwebUrl: 'javascript:x'"), encoding="utf-8")
    record = load_record(path, path.name, CONFIG)
    assert record.title == "Harbour" and record.web_url is None


def test_a_file_that_grew_past_the_limit_since_fstat_is_read_one_byte_past_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log being appended to was empty when fstat looked: the limit alone stops the read,
    and the message says how much was read. (Not /dev/zero: a mutant that never stops
    reading must meet the end of a file, not fill the memory.)"""
    limit = CONFIG.max_record_bytes
    path = tmp_path / "growing.md"
    path.write_bytes(b"x" * (limit + 100))
    real_fstat, inode = os.fstat, path.stat().st_ino

    def empty_then(fd: int) -> object:
        st = real_fstat(fd)
        return SimpleNamespace(st_size=0) if st.st_ino == inode else st

    monkeypatch.setattr(os, "fstat", empty_then)
    with pytest.raises(RecordError) as caught:
        load_record(path, "growing.md", CONFIG)
    diagnostic = caught.value.diagnostic
    assert (diagnostic.message, diagnostic.expected) == (
        f"file is {limit + 1} bytes",
        f"at most {limit}",
    )


def test_a_file_that_grows_after_a_short_read_is_read_no_further_than_the_limit() -> None:
    """fstat said 50 bytes; the first read returns 30 (a network file system), and by the
    next one the file has grown far past the limit: reading still stops at the limit."""
    data = bytes(range(200))
    with filling_late(data, 30) as read_end:
        assert loader._read_at_most(read_end, 60, 50) == data[:60]


def test_a_record_gone_before_it_is_read_is_an_error_not_a_crash(tmp_path: Path) -> None:
    record, diagnostics, _ = read_record(tmp_path / "gone.md", "gone.md", CONFIG)
    assert record is None
    assert [(d.path, d.line, d.message, d.expected) for d in diagnostics] == [
        ("gone.md", 1, "cannot read file: No such file or directory", "a readable file")
    ]


EMPTY = "front matter between '---' lines with at least title and publishedDateTime"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", (1, "file is empty", EMPTY)),
        (" \n\n", (1, "file is empty", EMPTY)),
        ("---", (1, "front matter is never closed", "a closing '---' line")),
        ("\n---\ntitle: x\n---\n", (1, "no front matter", "a first line of '---'")),
        ("---\n\n- a\n---\n", (3, "front matter is a list", "a mapping of fields")),
        ("title: x\n", (1, "no front matter", "a first line of '---'")),
        ("---\ntitle: x\n", (1, "front matter is never closed", "a closing '---' line")),
        ("---\ntitle: x\n---more\n", (1, "front matter is never closed", "a closing '---' line")),
        ("---\n---\n", (1, "front matter is empty", "a mapping with title and publishedDateTime")),
        ("---\n- a\n- b\n---\n", (2, "front matter is a list", "a mapping of fields")),
        ("---\njust text\n---\n", (2, "front matter is a string", "a mapping of fields")),
        (b"---\ntitle: \xff\n---\n", (2, "invalid UTF-8 at byte 11", "UTF-8 text")),
        (b"\n\xff", (2, "invalid UTF-8 at byte 1", "UTF-8 text")),
        ("---\ntitle: x\n\x00\n---\n", (3, "NUL byte", "text")),
        ("\n\x00\n\x00", (2, "NUL byte", "text")),
    ],
)
def test_a_file_without_usable_front_matter_says_where_and_what(
    tmp_path: Path, text: str | bytes, said: tuple[int, str, str | None]
) -> None:
    line, message, expected = _said(tmp_path, text)
    assert (line, message) == said[:2]
    if said[2] is not None:
        assert expected == said[2]


def test_front_matter_closes_at_the_first_fence_line_and_a_rule_below_stays_in_the_body(
    tmp_path: Path,
) -> None:
    """`---x` is no fence (a quoted title goes on there), and the `---` under the intro is
    a Markdown rule of the body, not the end of the front matter."""
    text = '---\ntitle: "Harbour\n---x"\npublishedDateTime: 2026-11-18T09:30:00Z\n---\n'
    record, _ = _read(tmp_path, text + "Intro\n\n---\n\nAfter the rule.\n")
    assert record is not None and record.title == "Harbour ---x"
    assert record.body_html == "<p>Intro</p>\n<hr />\n<p>After the rule.</p>\n"


def test_a_closing_fence_at_the_very_end_of_the_file_leaves_no_body(tmp_path: Path) -> None:
    record, _ = _read(tmp_path, _front(BASE).rstrip("\n"))
    assert record is not None and record.body_html == ""


def test_a_body_too_costly_for_markdown_is_flagged_at_its_first_line(tmp_path: Path) -> None:
    record, diagnostics = _read(tmp_path, _front(BASE) + "*" * (MAX_MARKUP + 1))
    assert record is not None
    assert [(d.line, d.severity) for d in diagnostics] == [(5, "warning")]
    assert diagnostics[0].message.startswith(f"body has {MAX_MARKUP + 1} Markdown punctuation")


def test_the_digest_is_of_the_file_bytes_so_any_change_to_them_changes_it(
    tmp_path: Path,
) -> None:
    lf, _ = _read(tmp_path, _front(BASE) + "Body\n", "a.md")
    crlf, _ = _read(tmp_path, (_front(BASE) + "Body\n").replace("\n", "\r\n"), "b.md")
    again, _ = _read(tmp_path, _front(BASE) + "Body\n", "c.md")
    assert lf is not None and crlf is not None and again is not None
    assert lf.body_html == crlf.body_html and lf.digest != crlf.digest
    assert lf.digest == again.digest and len(lf.digest) > 8


def test_a_yaml_failure_without_a_line_is_reported_at_the_front_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(text: str) -> None:
        raise yaml.YAMLError("boom")

    monkeypatch.setattr(yamlload, "_Loader", failing)
    assert _said(tmp_path, _front(BASE)) == (1, "YAML error: boom", "valid YAML")


def test_a_date_time_that_is_not_one_says_what_to_write(tmp_path: Path) -> None:
    assert _said(tmp_path, _front('title: "x"\npublishedDateTime: soon')) == (
        3,
        "publishedDateTime is not a date-time: 'soon'",
        "ISO 8601 such as 2024-05-01T09:30:00Z",
    )


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_range_of_a_date_time_is_judged_in_utc_and_the_sites_zone_not_the_machines(
    tmp_path: Path, machine_in_new_york: None
) -> None:
    """Pages show it in the site's zone (Tokyo here), feeds in UTC; the machine's zone (New
    York here) shows it nowhere: 01:00 at +01:00 on 1 January of year 1 is in range in UTC
    and Tokyo, though not in New York, and the last half hour of 9999 at -05:00 is not."""
    config = SiteConfig(timezone="Asia/Tokyo", max_record_bytes=8192)
    path = tmp_path / "edge.md"
    path.write_text(_front('title: "x"\npublishedDateTime: 0001-01-01T01:00:00+01:00'))
    record, diagnostics, _ = read_record(path, "edge.md", config)
    assert record is not None and record.published_at.year == 1 and diagnostics == ()
    path.write_text(_front('title: "x"\npublishedDateTime: 9999-12-31T23:30:00-05:00'))
    record, diagnostics, _ = read_record(path, "edge.md", config)
    assert record is None
    assert diagnostics[0].message.startswith("publishedDateTime is out of range")


@pytest.mark.parametrize(
    "fence", ["---", "--- \t", "...", "... "], ids=["dashes", "dashes-space", "dots", "dots-space"]
)
def test_front_matter_closes_at_dashes_or_dots_with_trailing_blanks(
    tmp_path: Path, fence: str
) -> None:
    front = record_text().split("---\n")[1]
    record, _ = _read(tmp_path, f"---\n{front}{fence}\nThe body.\n")
    assert record is not None and "The body." in record.body_html


def test_a_byte_order_mark_and_crlf_line_ends_are_read_as_plain_text(tmp_path: Path) -> None:
    text = record_text(title="Crlf story", body="First line.\n").replace("\n", "\r\n")
    record, diagnostics = _read(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert record is not None and diagnostics == ()
    assert record.title == "Crlf story" and "\r" not in record.body_html


def test_a_bare_cr_ends_a_line_too(tmp_path: Path) -> None:
    text = record_text(title="Cr story").replace("\n", "\r")
    record, _ = _read(tmp_path, text)
    assert record is not None and record.title == "Cr story"


def _front(fields: str) -> str:
    """A record of exactly these front-matter lines (line 2 is the first of them)."""
    return f"---\n{fields}\n---\n"


BASE = 'title: "Harbour"\npublishedDateTime: 2026-11-18T09:30:00Z'


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ('title: "  \\u0007 "', (2, "title is empty", "a non-empty string")),
        ("publishedDateTime: 2026-11-18", (2, "missing field title", "a non-empty string")),
        ("title: 12", (2, "title is an integer", "a string")),
        (
            'title: "x"',
            (2, "missing field publishedDateTime", "an ISO 8601 date-time"),
        ),
        (
            f"{BASE}\nquality: true",
            (4, "quality is a boolean True", "an integer"),
        ),
        (f"{BASE}\nheat: 1.5", (4, "heat is a number 1.5", "an integer")),
        (f"{BASE}\npublished: 1", (4, "published is an integer", "true or false")),
        (f"{BASE}\nprovider: [a]", (4, "provider is a list", "a mapping")),
        (f"{BASE}\nprovider:\n  domain: x.example", (4, "missing field provider.name", None)),
        (f"{BASE}\ntopics: Climate", (4, "topics is a string", "a list of topic names")),
        (f"{BASE}\ntopics:\n  - a\n  - ''", (6, "topics[1] is empty", "a topic name")),
        (f"{BASE}\ntopics:\n  - 7", (5, "topics[0] is an integer", "a topic name")),
        (f"{BASE}\nimages: [x]", (4, "images[0] is a string", "a mapping")),
        (f"{BASE}\nimages: x", (4, "images is a string", "a list of images")),
    ],
)
def test_each_field_of_the_wrong_kind_is_named_with_its_line(
    tmp_path: Path, fields: str, said: tuple[int, str, str | None]
) -> None:
    line, message, expected = _said(tmp_path, _front(fields))
    assert (line, message) == said[:2]
    if said[2] is not None:
        assert expected == said[2]


@pytest.mark.parametrize(("field", "limit"), [("topics", 50), ("images", 20), ("related", 100)])
def test_a_list_at_its_limit_loads_and_one_more_is_refused(
    tmp_path: Path, field: str, limit: int
) -> None:
    item = {
        "topics": "Topic {i}",
        "images": "{{url: 'https://news.example/{i}.jpg'}}",
        "related": "{{title: 'Story {i}'}}",
    }[field]
    items = [item.format(i=i) for i in range(limit + 1)]
    record, _ = _read(tmp_path, _front(f"{BASE}\n{field}: [{', '.join(items[:limit])}]"))
    assert record is not None and len(getattr(record, field)) == limit
    assert _said(tmp_path, _front(f"{BASE}\n{field}: [{', '.join(items)}]"))[:2] == (
        4,
        f"{field} has {limit + 1} entries",
    )


def test_a_name_of_the_longest_length_loads_and_one_more_is_refused(tmp_path: Path) -> None:
    name = "n" * MAX_NAME
    record, _ = _read(tmp_path, _front(f"{BASE}\ntopics: ['{name}', '  {name}  ']"))
    assert record is not None and record.topics == (name,)
    assert _said(tmp_path, _front(f"{BASE}\nprovider:\n  name: {name}x")) == (
        5,
        f"provider.name is {MAX_NAME + 1} characters",
        f"at most {MAX_NAME}",
    )


@pytest.mark.parametrize(
    ("value", "flag"), [("'false'", False), ("' Yes '", True), ("'NO'", False), ("'true'", True)]
)
def test_published_as_a_word_in_quotes_is_read_with_a_warning(
    tmp_path: Path, value: str, flag: bool
) -> None:
    record, diagnostics = _read(tmp_path, _front(f"{BASE}\npublished: {value}"))
    assert record is not None and record.published is flag
    assert [(d.line, d.message, d.expected, d.severity) for d in diagnostics] == [
        (
            4,
            f"published is the string {value.strip(chr(39))!r}, read as {str(flag).lower()}",
            "true or false without quotes",
            "warning",
        )
    ]


def test_published_in_any_other_words_is_refused(tmp_path: Path) -> None:
    assert _said(tmp_path, _front(f"{BASE}\npublished: 'maybe'"))[1] == "published is a string"


def test_a_link_that_is_not_http_is_dropped_with_a_warning(tmp_path: Path) -> None:
    record, diagnostics = _read(tmp_path, _front(f"{BASE}\nwebUrl: 'javascript:alert(1)'"))
    assert record is not None and record.web_url is None
    assert [(d.line, d.message, d.expected) for d in diagnostics] == [
        (4, "webUrl dropped: 'javascript:alert(1)'", "an http(s) URL")
    ]
    record, diagnostics = _read(tmp_path, _front(f"{BASE}\nwebUrl: ''"))
    assert record is not None and record.web_url is None and diagnostics == ()


def test_a_dropped_link_is_quoted_in_the_warning_up_to_80_characters(tmp_path: Path) -> None:
    value = "javascript:" + "a" * 68 + "yz"
    _, diagnostics = _read(tmp_path, _front(f"{BASE}\nwebUrl: '{value}'"))
    assert [d.message for d in diagnostics] == [f"webUrl dropped: {value[:80]!r}"]


def test_only_an_image_marked_cached_with_true_is_cached_and_one_without_url_is_left_out(
    tmp_path: Path,
) -> None:
    images = (
        "images:\n"
        "  - {url: 'https://news.example/1.jpg', isCached: true}\n"
        "  - {url: 'https://news.example/2.jpg', isCached: 'yes'}\n"
        "  - {width: 5}\n"
        "  - {url: 'https://news.example/3.jpg', height: 7}"
    )
    record, _ = _read(tmp_path, _front(f"{BASE}\n{images}"))
    assert record is not None
    assert [(i.url[-5:], i.cached, i.width, i.height) for i in record.images] == [
        ("1.jpg", True, None, None),
        ("2.jpg", False, None, None),
        ("3.jpg", False, None, 7),
    ]


def test_the_scan_lists_records_and_links_and_names_every_other_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "2026" / "deep").mkdir(parents=True)
    (content / ".drafts").mkdir()
    (content / "folder").mkdir()
    for rel in ("a.md", "b.markdown", "2026/deep/c.md", ".drafts/d.md", ".hidden.md"):
        (content / rel).write_text(record_text())
    for rel in ("notes.txt", "2026/image.png", "z.MD"):
        (content / rel).write_text("not a record")
    (content / "link.md").symlink_to(content / "a.md")
    (content / "dirlink").symlink_to(content / "folder")
    (content / "broken.md").symlink_to(tmp_path / "nothing")
    (content / "other-link").symlink_to(content / "notes.txt")
    ignored: list[str] = []
    found = scan_records(content, ignored)
    assert list(found) == [
        "2026/deep/c.md",
        "a.md",
        "b.markdown",
        "broken.md",
        "dirlink",
        "link.md",
    ]
    assert ignored == ["2026/image.png", "notes.txt", "z.MD"]
    size = (content / "a.md").stat().st_size
    assert found["a.md"][0] == size and found["link.md"] == found["a.md"]
    assert found["a.md"][3] == (content / "a.md").stat().st_ino
    assert found["broken.md"][3] == os.lstat(content / "broken.md").st_ino
    assert scan_records(content) == found


def test_a_link_in_a_subfolder_to_a_record_elsewhere_in_content_is_read(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "2026").mkdir(parents=True)
    (content / "archive").mkdir()
    (content / "archive" / "story.md").write_text(record_text(title="Linked story"))
    (content / "2026" / "story.md").symlink_to(content / "archive" / "story.md")
    record, diagnostics, _ = read_record(content / "2026" / "story.md", "2026/story.md", CONFIG)
    assert record is not None and record.title == "Linked story" and diagnostics == ()
    (tmp_path / "private.md").write_text(record_text(title="Private"))
    (content / "2026" / "out.md").symlink_to(tmp_path / "private.md")
    record, diagnostics, _ = read_record(content / "2026" / "out.md", "2026/out.md", CONFIG)
    assert record is None
    assert diagnostics[0].message == "symbolic link leads outside its folder; not followed"


def test_a_linked_record_read_from_the_content_folder_itself_is_judged_against_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = tmp_path / "content"
    (content / "archive").mkdir(parents=True)
    (content / "archive" / "story.md").write_text(record_text(title="Linked story"))
    (content / "story.md").symlink_to(content / "archive" / "story.md")
    monkeypatch.chdir(content)
    record, diagnostics, _ = read_record(Path("story.md"), "story.md", CONFIG)
    assert record is not None and record.title == "Linked story" and diagnostics == ()


@pytest.mark.parametrize(("open_", "close"), [("{a: ", "}"), ("[", "]"), ("{a: [", "]}")])
def test_nesting_is_read_up_to_the_depth_limit_and_refused_past_it(open_: str, close: str) -> None:
    levels = MAX_DEPTH // len(close)
    assert load_yaml(open_ * levels + "1" + close * levels) is not None
    more = levels + 1
    with pytest.raises(YamlError) as caught:
        load_yaml(open_ * more + "1" + close * more)
    assert caught.value.message == "YAML nested too deeply"


@pytest.mark.parametrize(
    "text", ["n: !!int 08", "n: !!float 2024-05-01T09:30:00Z", "n: !!int 2024-05-01T09:30:00Z"]
)
def test_an_explicit_tag_the_value_does_not_fit_is_refused_as_pyyaml_refuses_it(text: str) -> None:
    with pytest.raises(ValueError):
        yaml.safe_load(text)
    value = text.split()[-1]
    assert _error(text).message == f"YAML value {value!r} cannot be read as {text.split()[1]}"


def test_the_builder_alone_refuses_a_node_reached_twice() -> None:
    """Behind the check of the text for anchors: a node graph with an alias still fails."""
    node = yaml.compose("a: 1\nb: &x [1]\nc: *x\n", Loader=yamlload._Loader)
    with pytest.raises(YamlError) as caught:
        yamlload._Builder().build(node, 0)
    error = caught.value
    assert (error.message, error.line, error.expected) == (
        "YAML anchors and aliases are not allowed",
        2,
        "every value written out, without anchors or aliases",
    )


@pytest.mark.parametrize(
    ("text", "said", "line", "expected"),
    [
        ("a: 1\n<<: {b: 2}", "YAML merge keys (<<) are not allowed", 2, "each field written out"),
        ("n: !custom x", "YAML tag !custom is not allowed", 1, "plain values"),
        ("n: !!python/object x", "YAML tag !!python/object is not allowed", 1, "plain values"),
    ],
)
def test_a_refused_tag_says_what_to_write_instead(
    text: str, said: str, line: int, expected: str
) -> None:
    error = _error(text)
    assert (error.message, error.line, error.expected) == (said, line, expected)


def test_a_timestamp_is_not_held_to_the_length_limit_of_numbers() -> None:
    text = "t: !!timestamp 2024-05-01 09:30:00." + "1" * MAX_NUMBER_CHARS + " +05:00"
    assert load_yaml(text)["t"].microsecond == 111111


def test_a_plain_number_is_typed_up_to_the_length_limit_and_text_past_it() -> None:
    digits = "1" * MAX_NUMBER_CHARS
    assert load_yaml(f"n: {digits}") == {"n": int(digits)}
    assert load_yaml(f"n: {digits}1") == {"n": digits + "1"}


def test_a_value_that_cannot_be_read_is_quoted_in_the_message_up_to_60_characters() -> None:
    value = "x" * 59 + "yz"
    error = _error(f"n: !!int {value}")
    assert error.message == f"YAML value {value[:60]!r} cannot be read as !!int"


def test_broken_yaml_and_unreadable_characters_say_what_is_wanted_and_where() -> None:
    error = _error("a: [1\nb: 2")
    assert error.expected == "valid YAML" and error.message.startswith("YAML error: ")
    error = _error("\na: 1\nb: x\x01y\n")
    assert (error.message, error.line, error.expected) == (
        "YAML error: a control or non-character code point",
        3,
        "printable text",
    )


def test_any_other_yaml_failure_is_still_one_yaml_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(text: str) -> None:
        raise yaml.YAMLError("boom")

    monkeypatch.setattr(yamlload, "_Loader", failing)
    error = _error("a: 1")
    assert (error.message, error.line, error.expected) == ("YAML error: boom", None, "valid YAML")


# records/loader.py: load_record, the one-file reader tests and tools call directly.


def test_load_record_refuses_a_file_too_big_by_the_name_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(b"x" * (CONFIG.max_record_bytes + 1))
    with pytest.raises(RecordError) as caught:
        load_record(path, "2026/big.md", CONFIG)
    diagnostic = caught.value.diagnostic
    assert (diagnostic.path, diagnostic.line, diagnostic.message) == (
        "2026/big.md",
        1,
        f"file is {CONFIG.max_record_bytes + 1} bytes",
    )


def test_load_record_gives_a_kept_records_warnings_to_the_list_it_is_handed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "2026-11-18-story.md"
    path.write_text(_front(f"{BASE}\nwebUrl: 'javascript:x'"), encoding="utf-8")
    warnings: list[Diagnostic] = []
    record = load_record(path, path.name, CONFIG, warnings)
    assert record.title == "Harbour" and record.web_url is None
    assert [(d.path, d.line, d.message, d.severity) for d in warnings] == [
        (path.name, 4, "webUrl dropped: 'javascript:x'", "warning")
    ]


# records/loader.py: a record broken in several fields (_Fields.with_every_problem).


def test_every_wrong_field_of_a_record_is_named_with_its_line_in_the_files_order(
    tmp_path: Path,
) -> None:
    """The title is checked first but written below quality: each problem is reported,
    once, in the order of the file's lines, not the order the fields are checked in."""
    text = _front("quality: lots\ntitle: 12\npublishedDateTime: soon\nheat: 2")
    record, diagnostics = _read(tmp_path, text)
    assert record is None
    assert [(d.path, d.line, d.message, d.expected, d.severity) for d in diagnostics] == [
        ("2026-11-18-story.md", 2, "quality is a string 'lots'", "an integer", "error"),
        ("2026-11-18-story.md", 3, "title is an integer", "a string", "error"),
        (
            "2026-11-18-story.md",
            4,
            "publishedDateTime is not a date-time: 'soon'",
            "ISO 8601 such as 2024-05-01T09:30:00Z",
            "error",
        ),
    ]


# records/loader.py: a build that leaves drafts out skims them (says_draft).

DRAFT = record_text(title="Embargoed fares", published=False)
LIVE = record_text(title="Ferry timetable")
SKIMMED: dict[str, tuple[str | bytes, bool]] = {
    "plain": (DRAFT, True),
    "first field": (_front(f"published: false\n{BASE}"), True),
    "a body line like the key": (DRAFT + "published: in print on Monday\n", True),
    # A front matter ended with CRs alone and a body with LFs: the search of the bytes
    # goes on past the body's other lines, the decoded front matter decides.
    "cr front matter": (
        _front(f"{BASE}\npublished: false").replace("\n", "\r")
        + "\npublished: soon\npublished: false\npublished: later\n",
        True,
    ),
    "published": (LIVE, False),
    "key twice": (DRAFT.replace("published: false", "published: false\n'published': true"), False),
    "in the body only": (LIVE + "published: false\n", False),
}


@pytest.mark.parametrize("name", list(SKIMMED))
def test_a_draft_is_skimmed_when_its_front_matter_says_so_plainly(
    tmp_path: Path, name: str
) -> None:
    text, skimmed = SKIMMED[name]
    path = tmp_path / "content" / "2026-11-18-story.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    skim = read_record(path, path.name, CONFIG, skim_drafts=True)
    full = read_record(path, path.name, CONFIG)
    if skimmed:
        assert skim == Read(None, (), draft=True)
        assert skim.draft is True
        assert full.record is not None and full.record.published is False
    else:
        assert skim == full and skim.draft is False


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("---\ntitle: x\npublished: false\n", 1, "front matter is never closed"),
        (b"---\ntitle: \xff\npublished: false\n---\n", 2, "invalid UTF-8 at byte 11"),
    ],
)
def test_a_broken_draft_skimmed_is_refused_by_name_and_line_as_the_parser_refuses_it(
    tmp_path: Path, text: str | bytes, line: int, message: str
) -> None:
    path = tmp_path / "content" / "2026" / "draft.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    skim = read_record(path, "2026/draft.md", CONFIG, skim_drafts=True)
    assert skim.record is None and skim.draft is False
    assert [(d.path, d.line, d.message, d.severity) for d in skim.diagnostics] == [
        ("2026/draft.md", line, message, "error")
    ]
    assert skim == read_record(path, "2026/draft.md", CONFIG)
