"""The loader on hostile records, beyond test_records.py: tags that do not fit, values that
crash PyYAML's constructors, number bombs, dates that cannot be shown, limits, control
characters, secrets nested in unknown fields, and messages a hostile file cannot abuse.
"""

from __future__ import annotations

import pytest

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic, RecordError
from masthead.records.loader import MAX_ITEMS, MAX_WARNINGS, Record, parse_record
from tests.conftest import EXTRA_LINE, record_text

CONFIG = SiteConfig(timezone="Asia/Tokyo")


def parse(text: str | bytes, config: SiteConfig = CONFIG) -> tuple[Record, list[Diagnostic]]:
    warnings: list[Diagnostic] = []
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_record(raw, "r.md", config, warnings), warnings


def error(text: str | bytes, config: SiteConfig = CONFIG) -> str:
    with pytest.raises(RecordError) as caught:
        parse(text, config)
    return str(caught.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # PyYAML's own constructors raise KeyError, IndexError or AttributeError on these.
        ("x: !!bool sometimes", "YAML value 'sometimes' cannot be read as !!bool"),
        ("x: !!int ''", "YAML value '' cannot be read as !!int"),
        ("x: !!float ''", "YAML value '' cannot be read as !!float"),
        ("x: !!int 0x", "YAML value '0x' cannot be read as !!int"),
        # A tag on the wrong kind of node used to hand raw nodes or crash.
        ("x: !!map text", "YAML tag !!map does not fit a scalar"),
        ("x: !!seq text", "YAML tag !!seq does not fit a scalar"),
        ("x: !!str [a, b]", "YAML tag !!str does not fit a sequence"),
        ("x: !!int {a: 1}", "YAML tag !!int does not fit a mapping"),
        ("x: !!int " + "1:" * 200 + "1", "!!int value of 401 characters is too long"),
    ],
)
def test_tags_and_values_that_crashed_the_constructors(extra: str, message: str) -> None:
    text = error(record_text(extra=extra + "\n"))
    assert text.startswith(f"r.md:{EXTRA_LINE}: {message}"), text
    assert "(expected " in text


def test_a_timestamp_tag_on_words_stays_text() -> None:
    record, _ = parse(record_text(extra="x: !!timestamp soon\n"))
    assert record.extra["x"] == "soon"


def test_a_long_base_60_number_is_text_and_its_message_is_short() -> None:
    number = "1:" * 500 + "1"
    message = error(record_text().replace("heat: 10", f"heat: {number}"))
    assert message.startswith("r.md:10: heat is a string '1:1:1:")
    assert len(message) < 200


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("0000-01-01T00:00:00Z", "is not a date-time: '0000-01-01T00:00:00Z'"),
        ("'99999-01-01'", "is not a date-time: '99999-01-01'"),
        # Tokyo is nine hours ahead of UTC, so these cannot be shown on the site's pages.
        ("9999-12-31T20:00:00Z", "is out of range"),
        ("'9999-12-31T23:59:59+00:00'", "is out of range"),
        # And this one does not exist in UTC, which feeds use.
        ("0001-01-01T01:00:00+05:00", "is out of range"),
    ],
)
def test_dates_that_cannot_be_shown_are_record_errors(when: str, fragment: str) -> None:
    message = error(record_text(when=when))
    assert message.startswith("r.md:5: publishedDateTime ")
    assert fragment in message and "(expected " in message


def test_an_out_of_range_related_date_is_an_error_too() -> None:
    extra = "related:\n  - title: Old\n    publishedDateTime: 9999-12-31T23:00:00-05:00\n"
    message = error(record_text(extra=extra))
    assert message.startswith(
        f"r.md:{EXTRA_LINE + 2}: related[0].publishedDateTime is out of range"
    )


def test_dates_near_the_edges_that_exist_everywhere_are_kept() -> None:
    record, _ = parse(record_text(when="0001-01-01T12:00:00Z"))
    assert record.published_at.year == 1
    record, _ = parse(record_text(when="9999-12-31T00:00:00Z"))
    assert record.published_at.astimezone(CONFIG.tz).day == 31


def test_title_limits() -> None:
    assert "title is 501 characters (expected at most 500)" in error(record_text("x" * 501))
    assert error(record_text(" \\a\\t ")).startswith("r.md:3: title is empty")
    record, _ = parse(record_text("  two\\nlines\\a  "))
    assert record.title == "two lines"


def _with_list(field: str, count: int) -> str:
    if field == "topics":
        return record_text(topics=tuple(f"T{i}" for i in range(count)))
    item = "{url: /i.png}" if field == "images" else "{title: t}"
    return record_text(extra=f"{field}:\n" + f"  - {item}\n" * count)


@pytest.mark.parametrize("field", sorted(MAX_ITEMS))
def test_list_lengths_are_bounded(field: str) -> None:
    limit = MAX_ITEMS[field]
    message = error(_with_list(field, limit + 1))
    assert f"{field} has {limit + 1} entries" in message
    assert message.endswith(f"of at most {limit})")
    record, _ = parse(_with_list(field, limit))
    assert len(getattr(record, field)) == limit


def test_a_lone_carriage_return_ends_lines_too() -> None:
    record, warnings = parse(record_text("Old Mac line endings").replace("\n", "\r"))
    assert (record.title, record.topics, warnings) == ("Old Mac line endings", ("Climate",), [])


def test_secured_is_dropped_at_every_depth() -> None:
    extra = (
        "secured: top-secret-blob\n"
        "meta:\n  secured: nested-secret\n  keep: [1, {secured: listed-secret, also: 2}]\n"
        "related:\n  - title: R\n    secured: related-secret\n"
        "provider2: {secured: other-secret}\n"
    )
    record, _ = parse(record_text(extra=extra))
    assert "secret" not in repr(record)
    assert dict(record.extra) == {"meta": {"keep": [1, {"also": 2}]}, "provider2": {}}


def test_control_characters_are_removed_from_text() -> None:
    text = record_text("Bell\\a here", topics=('"Tab\\x1bTopic"',))
    record, _ = parse(text.replace("name: Harbour Ledger", 'name: "Esc\\x9bProvider"'))
    assert (record.title, record.topics) == ("Bell here", ("TabTopic",))
    assert record.provider is not None and record.provider.name == "EscProvider"
    assert "topics[0] is empty" in error(record_text(topics=('"\\x07"',)))


def test_warnings_per_record_are_capped() -> None:
    images = "images:\n" + "".join(f"  - url: 'javascript:x{i}'\n" for i in range(15))
    record, warnings = parse(record_text(extra=images))
    assert record.images == ()
    assert len(warnings) == MAX_WARNINGS + 1
    assert str(warnings[0]).startswith(f"r.md:{EXTRA_LINE + 1}: warning: images[0].url dropped")
    assert str(warnings[-1]) == "r.md: warning: 5 more warnings not shown"


def test_a_skipped_record_reports_only_its_error() -> None:
    warnings: list[Diagnostic] = []
    text = record_text(url="javascript:x", extra="quality2: !!int ''\n")
    with pytest.raises(RecordError):
        parse_record(text.encode(), "r.md", CONFIG, warnings)
    assert warnings == []


def test_diagnostics_escape_control_characters_in_file_names() -> None:
    line = str(Diagnostic("evil\x1b[2J\x07.md", 3, "bad\rthing"))
    assert line == "evil\\x1b[2J\\x07.md:3: bad\\rthing"


WHEN = "publishedDateTime: 2026-11-18T09:00:00Z\n"
QUOTE_IT = 'valid YAML: a value holding ": " in quotes, such as title: "Harbour: a year on"'
NO_TABS = "valid YAML: spaces, not tabs, to indent"


@pytest.mark.parametrize(
    ("front", "line", "wanted"),
    [
        # The two mistakes of YAML written by hand, each with its fix.
        (f"title: Harbour: a year on\n{WHEN}", 2, QUOTE_IT),
        (f"title: Re:\n{WHEN}", 2, QUOTE_IT),
        (f"title: T\ntopics:\n\t- Rail\n{WHEN}", 4, NO_TABS),
        (f"\ttitle: T\n{WHEN}", 2, NO_TABS),
        (f"{WHEN}title: T\ntopics:\n\t- Rail\n", 5, NO_TABS),  # on the last line
        # libyaml's own words name the tab, on a line before the one that holds it.
        (f"excerpt: |\n\tText\ntitle: T\n{WHEN}", 2, NO_TABS),
        # A tab inside a value is no indentation; a line indented by mistake is no value
        # holding ": "; a mark past the last line (libyaml's, at the end of the text).
        (f'title: "Tab\there\n{WHEN}', 2, "valid YAML"),
        (f"title: T\n excerpt: E\n{WHEN}", 3, "valid YAML"),
        (f"title: [unclosed\n{WHEN}", 2, "valid YAML"),
        (f"{WHEN}title: T\n%YAML 1.2\n", 5, "valid YAML"),
    ],
)
def test_a_yaml_mistake_says_how_to_write_it(front: str, line: int, wanted: str) -> None:
    text = error(f"---\n{front}---\n")
    assert text.startswith(f"r.md:{line}: YAML error: "), text
    assert text.endswith(f"(expected {wanted})"), text


@pytest.mark.parametrize(
    ("written", "example"),
    [
        ("Harbour  Ledger", '"Harbour Ledger"'),  # its spaces as a name's
        ("Le Monde – Économie", '"Le Monde – Économie"'),  # as written, not \u escapes
        ("Quay " * 20, '"' + ("Quay " * 12)[:60] + '"'),  # at most 60 characters of it
    ],
)
def test_a_provider_written_as_its_name_says_how_to_write_it(written: str, example: str) -> None:
    mapping = "provider:\n  name: Harbour Ledger\n  domain: harbourledger.example\n"
    assert mapping in record_text()
    text = record_text().replace(mapping, f"provider: {written}\n")
    message = error(text)
    assert message.endswith(
        f"provider is a string (expected a mapping, such as {{name: {example}}})"
    )
    assert message.startswith("r.md:"), message
