"""The loader under the attacks of issue 14: every anchor and alias shape refused, symlinks
leading out of the site skipped, colliding term slugs kept apart, `secured` never kept
nor quoted, and pathological Markdown bounded.
"""

from __future__ import annotations

import re
import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from masthead.config import SiteConfig
from masthead.data import load_data
from masthead.diagnostics import Diagnostic, RecordError
from masthead.records import MAX_EXCERPT, Record, parse_record
from masthead.yamlload import _MAY_HOLD_ANCHOR
from tests.conftest import Scratch, record_text

CONFIG = SiteConfig(timezone="Europe/London")
EXTRA_LINE = 17
"""record_text() appends `extra` at this line."""


def parse(text: str, config: SiteConfig = CONFIG) -> tuple[Record, list[Diagnostic]]:
    warnings: list[Diagnostic] = []
    return parse_record(text.encode("utf-8"), "r.md", config, warnings), warnings


def error(text: str, config: SiteConfig = CONFIG) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse(text, config)
    return caught.value


# --- Break 2: anchors and aliases --------------------------------------------------------

# Every kind of node an anchor can name, as `field: <anchor> <node>` continues it.
ANCHORED = [
    "&a plain text",
    '&a "double quoted"',
    "&a 'single quoted'",
    "&a 42",
    "&a",  # an anchored empty value (null)
    "&a !!str tagged",
    "!!str &a tagged after",
    "&a [one, two]",
    "&a {k: v}",
    "&a |\n  literal block\n  of text",
    "&a >-\n  folded block",
    "&a\n  - block\n  - list",
    "&a\n  k: block map",
]
# Every place the anchor can sit: a top field's value, a list item, a nested value, a key.
PLACES = [
    "{node}",
    "[x, {node}]",
    "{{n: {node}}}",
]
# Every place an alias can be used.
USES = [
    "copy: *a",
    "copy: [1, *a]",
    "copy: {k: *a}",
    "copy:\n  - *a",
    "copy:\n  k: *a",
    "*a : used as a key",
    "copy: {*a : v}",
    "copy: {? *a : v}",
]


def _anchored_field(anchored: str, place: str) -> str:
    if "\n" in anchored and place != "{node}":
        place = "{node}"  # a block node cannot sit inside a flow collection
    return "base: " + place.format(node=anchored)


@settings(max_examples=150)
@given(
    st.sampled_from(ANCHORED),
    st.sampled_from(PLACES),
    st.sampled_from(USES),
    st.sampled_from(["", "other: 1\n", "title2: x\n"]),
)
def test_every_anchor_and_alias_shape_is_refused_at_its_line(
    anchored: str, place: str, use: str, before: str
) -> None:
    extra = before + _anchored_field(anchored, place) + "\n" + use + "\n"
    text = record_text(extra=extra)
    message = str(error(text))
    line = EXTRA_LINE + before.count("\n")
    assert message.startswith(f"r.md:{line}: YAML anchors and aliases are not allowed"), message
    assert "(expected every value written out" in message


@pytest.mark.parametrize("use", USES)
def test_an_alias_alone_is_refused_at_its_own_line(use: str) -> None:
    text = record_text(extra="one: 1\n" + use + "\n")
    line = text[: text.index("*a")].count("\n") + 1
    message = str(error(text))
    assert message.startswith(f"r.md:{line}: YAML anchors and aliases"), message


def test_an_anchor_alone_is_refused_rather_than_eating_a_word() -> None:
    # Without the refusal `&Co` is silently taken for an anchor and the title loses it.
    text = record_text().replace('title: "A story about the harbour"', "title: &Co news")
    message = str(error(text))
    assert message.startswith("r.md:3: YAML anchors and aliases are not allowed (anchor &Co)")


def test_a_megabyte_excerpt_aliased_into_every_field_is_refused() -> None:
    """The attack: one excerpt, aliased into every field and 100 related stories."""
    big = "harbour " * 120_000
    fields = ["title: *x", "category: *x", "note: *x"]
    related = "\n".join(
        f"  - {{title: *x, excerpt: *x, webUrl: 'https://r.example/{i}'}}" for i in range(100)
    )
    text = (
        f"---\nexcerpt: &x {big}\n" + "\n".join(fields)
        + "\npublishedDateTime: 2026-11-18T09:30:00Z\nrelated:\n" + related + "\n---\n"
    )  # fmt: skip
    message = str(error(text, SiteConfig(max_record_bytes=2 * 1024 * 1024)))
    assert message.startswith("r.md:2: YAML anchors and aliases are not allowed (anchor &x)")


def test_text_that_only_looks_like_an_anchor_is_kept() -> None:
    note = "AT&T, Q&A *and* 5 * 3 https://x.example/?a=1&b=2 & more"
    record, _ = parse(record_text(extra=f"note: {note}\nquoted: '&a *b'\n"))
    assert record.extra == {"note": note, "quoted": "&a *b"}


# Text rich in YAML indicators: whatever PyYAML reads from it as an anchor or an alias,
# the quick test that decides whether to look for them must have noticed.
_YAMLISH = st.text(alphabet="&*ab1 \n\t-:?,[]{}!|>'\"#%@`\\.=/;\u2028\x85", max_size=40)


@settings(max_examples=400)
@given(_YAMLISH)
def test_the_quick_anchor_test_never_misses_one(text: str) -> None:
    found = False
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                found = True
                break
    except yaml.YAMLError:
        pass
    if found:
        assert _MAY_HOLD_ANCHOR.search(text), repr(text)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("topics/a.yaml", "name: Harbour\ndescription: &d Boats\nother: *d\n", 2),
        ("topics/b.yaml", "name: Harbour\nimages:\n  - *logo\n", 3),
        ("providers/c.md", "---\nname: &n Quay\ndomain: *n\n---\n", 2),
    ],
)
def test_data_files_refuse_anchors_and_aliases_at_their_line(
    tmp_path: pytest.TempPathFactory, name: str, text: str, line: int
) -> None:
    path = tmp_path / "data" / name  # type: ignore[operator]
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    data = load_data(tmp_path)  # type: ignore[arg-type]
    assert data.topics == {} and data.providers == {}
    (diagnostic,) = data.diagnostics
    assert (diagnostic.path, diagnostic.line) == (f"data/{name}", line)
    assert re.match("YAML anchors and aliases are not allowed", diagnostic.message)


@pytest.mark.parametrize("name_length", [100, 1500])
def test_output_grows_by_a_bounded_factor_of_the_worst_record(
    scratch: Scratch, name_length: int
) -> None:
    """With aliases gone, what a record repeats on every page that lists it (excerpt,
    topic and provider names) is bounded, so no record multiplies itself into the output:
    names within the limit are built, longer ones refused."""
    topics = tuple(f"Topic {i:02d} " + "x" * (name_length - 9) for i in range(50))
    related = "".join(f"  - {{title: R{i}, excerpt: '{'y ' * 2500}'}}\n" for i in range(100))
    text = record_text(
        title="T" * 500,
        topics=topics,
        provider="P" * name_length,
        excerpt="harbour " * 30_000,
        extra="related:\n" + related,
        body="body " * 30_000,
    )
    path = scratch.add("2026-11-18-x.md", text)
    report = scratch.build(search=False)
    assert report.skipped == (name_length > 100), report.diagnostics
    written = sum(p.stat().st_size for p in scratch.output.rglob("*") if p.is_file())
    assert written < 8 * path.stat().st_size


def test_a_long_excerpt_is_cut_at_a_word_with_a_warning() -> None:
    record, warnings = parse(record_text(excerpt="harbour " * 1000))
    assert len(record.excerpt) <= MAX_EXCERPT and record.excerpt.endswith("harbour…")
    assert [(w.line, w.message) for w in warnings] == [
        (4, f"excerpt is 7999 characters; cut to {MAX_EXCERPT}")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (record_text(topics=("ok", "t" * 101)), "r.md:17: topics[1] is 101 characters"),
        (record_text(provider="p" * 101), "r.md:13: provider.name is 101 characters"),
    ],
)
def test_over_long_topic_and_provider_names_are_refused(text: str, message: str) -> None:
    assert str(error(text)).startswith(message)


# --- Break 8: `secured` in any spelling, never kept and never quoted -------------------------

SECRET_KEYS = [
    "secured",
    "Secured",
    "SECURED",
    '"secured "',
    "' SeCuReD\t'",
    '"\\tsecured\\u0007"',
    "ｓｅｃｕｒｅｄ",  # fullwidth letters
    "sec\u200bured",  # a zero-width space inside
]
# Where a secret can sit: `{key}: {value}` at the top, inside unknown fields, in lists, in
# the known structures that pick only their own fields.
SECRET_PLACES = [
    "{key}: {value}",
    "meta:\n  {key}: {value}",
    "meta:\n  - {{note: kept, {key}: {value}}}",
    "meta: {{deep: {{deeper: [{{{key}: {value}}}]}}}}",
    "related:\n  - title: R\n    {key}: {value}",
    "images:\n  - url: https://img.example/a.png\n    {key}: {value}",
]
# Values that make some error path describe the value: each must be refused without it.
FAILING_VALUES = [
    "!!int {s}",
    "!!float {s}",
    "!!bool {s}",
    "!!int {s}" + "9" * 120,
    "!!map {s}",
    "!{s} x",
    "[!!bool {s}]",
    "{{a: !!int {s}}}",
    "{{{s}: 1, {s}: 2}}",
    "!!binary {s}",
]


def _with_secret(key: str, value: str, place: str) -> str:
    return record_text(extra=place.format(key=key, value=value) + "\n")


@settings(max_examples=200)
@given(
    st.sampled_from(SECRET_KEYS),
    st.sampled_from(SECRET_PLACES),
    st.from_regex(r"[A-Za-z0-9]{4,12}", fullmatch=True),
)
def test_secured_in_any_spelling_is_removed_at_every_depth(
    key: str, place: str, token: str
) -> None:
    secret = f"MHSECRET{token}"
    record, warnings = parse(_with_secret(key, f'"{secret}"', place))
    assert secret not in repr(record) and secret not in repr(warnings)
    if place.startswith("meta:\n  - "):
        assert record.extra["meta"] == [{"note": "kept"}]


@settings(max_examples=300)
@given(
    st.sampled_from(SECRET_KEYS),
    st.sampled_from(SECRET_PLACES),
    st.sampled_from(FAILING_VALUES),
    st.from_regex(r"[A-Za-z0-9]{4,12}", fullmatch=True),
)
def test_no_error_quotes_any_part_of_a_secured_value(
    key: str, place: str, value: str, token: str
) -> None:
    secret = f"MHSECRET{token}"
    message = str(error(_with_secret(key, value.format(s=secret), place)))
    assert "MHSECRET" not in message and token not in message, message
    assert "cannot be read (not shown)" in message, message


@pytest.mark.parametrize("parser", ["libyaml", "pure-python"])
@pytest.mark.parametrize(
    "value", ['"MHSECRET\\Q"', '"MHSECRET\\x4Z"', "MHSECRET\x07Q", "@MHSECRETQ"]
)
def test_syntax_errors_in_a_secured_value_quote_none_of_it(
    monkeypatch: pytest.MonkeyPatch, parser: str, value: str
) -> None:
    from masthead import yamlload

    if parser == "pure-python":
        monkeypatch.setattr(yamlload, "_Loader", yaml.SafeLoader)
    text = record_text(extra=f"secured: {value}\n")
    message = str(error(text))
    assert message.startswith(f"r.md:{EXTRA_LINE}: YAML error: "), message
    assert "MHSECRET" not in message and "Q" not in message and "Z" not in message, message


# --- Break 16: pathological Markdown, and control characters at their own line ------------------

BODY_LINE = 18
"""record_text() puts the body on this line."""
MEGABYTE_BODIES = {
    "image openers": "![" * 450_000,
    "link openers": "[" * 900_000,
    "unclosed destinations": "[a](" * 1_000 + "y" * 800_000,
    "unclosed angle destinations": "![a](<" * 1_000 + "y " * 400_000,
    "unclosed titles": '[a](x "' * 1_000 + "y " * 400_000,
    "unclosed reference titles": '[a]: x "' * 1_000 + "y " * 400_000,
    "escaped destinations": "[a](" + "\\\n" * 400_000,
    "emphasis runs": "*_" * 450_000,
    "lines": "a\n" * 450_000,
    "nested quotes": "> " * 450_000,
    "backticks": "``a" * 300_000,
    "autolinks": "<a href=" * 100_000,
    "entities": "&#" * 450_000,
}


@pytest.mark.parametrize("body", MEGABYTE_BODIES.values(), ids=MEGABYTE_BODIES)
def test_pathological_markdown_costs_a_fraction_of_a_second(body: str) -> None:
    config = SiteConfig(max_record_bytes=2 * 1024 * 1024)
    started = time.perf_counter()
    record, warnings = parse(record_text(body=body), config)
    assert time.perf_counter() - started < 2  # 19 s and more before; ~0.2 s on an idle core
    if body.startswith("[a]: "):  # cheap as Markdown: definitions stop at their line's end
        assert warnings == []
        return
    (warning,) = warnings
    assert warning.line == BODY_LINE and warning.message.endswith("; shown as plain text")
    assert record.body_html.startswith("<p>") and "<a" not in record.body_html


def test_a_long_link_heavy_article_is_still_markdown() -> None:
    paragraph = (
        "The *harbour* master [said](https://quay.example/a-b?c=d&e=f#g) that `cranes` "
        "would **resume** work, [as planned][plan].\n\n"
    )
    table = "| a | b |\n|---|---|\n" + "| 1 | [x](https://t.example/) |\n" * 50
    body = paragraph * 150 + table + '\n[plan]: https://quay.example/plan "Plan"\n'
    record, warnings = parse(record_text(body=body))
    assert warnings == []
    assert record.body_html.count('<a href="https://quay.example/plan"') == 150
    assert record.body_html.count("<td>") == 100


@pytest.mark.parametrize("parser", ["libyaml", "pure-python"])
@pytest.mark.parametrize("control", ["\x07", "\x1b", "\x7f", "\x9b", "\ufffe"])
def test_a_control_character_is_reported_at_its_own_line(
    monkeypatch: pytest.MonkeyPatch, parser: str, control: str
) -> None:
    from masthead import yamlload

    if parser == "pure-python":
        monkeypatch.setattr(yamlload, "_Loader", yaml.SafeLoader)
    # Multi-byte text before it: libyaml counts its position in bytes.
    extra = "a: Zürich — Škoda ✓\nb: fine\nnote: before" + control + "after\n"
    message = str(error(record_text(extra=extra)))
    assert message.startswith(f"r.md:{EXTRA_LINE + 2}: YAML error: "), message
    assert "\n" not in message
