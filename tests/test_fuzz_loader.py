"""Property-based fuzzing of the loader: whatever the bytes, parse_record returns a Record or
raises RecordError, quickly and in bounded memory.

Example counts are kept small so the suite stays fast; raise them locally with
`--hypothesis-seed` and a profile when hunting.
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic, RecordError
from masthead.records.loader import KNOWN_FIELDS, Record, parse_record

CONFIG = SiteConfig(timezone="Pacific/Kiritimati", max_record_bytes=64 * 1024)
FUZZ = settings(
    max_examples=120,
    deadline=timedelta(seconds=2),  # a hang shows up as DeadlineExceeded, not a stuck CI
    suppress_health_check=[HealthCheck.too_slow],
)


def load(raw: bytes) -> Record | None:
    """parse_record, allowing only its own error type out."""
    warnings: list[Diagnostic] = []
    try:
        record = parse_record(raw, "fuzz.md", CONFIG, warnings)
    except RecordError as exc:
        assert exc.diagnostic.path == "fuzz.md"
        assert str(exc).startswith("fuzz.md")
        return None
    assert all(w.severity == "warning" for w in warnings)
    return record


# --- arbitrary bytes ---------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw: bytes) -> None:
    load(raw)


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([b"", b"\xef\xbb\xbf"]))
def test_arbitrary_bytes_inside_front_matter(raw: bytes, bom: bytes) -> None:
    load(bom + b"---\n" + raw + b"\n---\n")


# --- YAML-like documents -----------------------------------------------------------------

# Raw control characters are refused by YAML itself (the byte-level tests cover them), so
# text drawn for documents leaves them out and gets further into validation.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30)

KEYS = st.one_of(
    st.sampled_from(sorted(KNOWN_FIELDS)),
    st.sampled_from(["name", "url", "width", "height", "<<", "? x", "'q'", '"d"', "-", "7"]),
    TEXT.map(lambda s: s[:8]),
)
# fmt: off
TRICKY_SCALARS = [
    "~", "null", "yes", "No", "on", "true", "False", ".inf", "-.nan", "0x1F", "0o17",
    "0b101", "1_000", "190:20:30", "1e400", "-0", "2026-11-18", "2026-11-18T09:30:00Z",
    "0000-00-00", "9999-12-31T23:59:59-12:00", "2026-13-45 25:61:61", "''", '""',
    "|", ">-", "&anchor", "*anchor", "!!binary aGk=", "!!binary ???", "!!set {a}",
    "!!omap [a: 1]", "!!pairs [a]", "!!timestamp soon", "!!bool maybe", "!!int x",
    "!!float ''", "!!str [1]", "!!map x", "!!python/object:os.system x",
    "!!python/name:builtins.eval ''", "!custom x", "!<tag:x> y", "%TAG ! !", "---",
    "...", "{", "[", "}", "]", "#comment", "@x", "`x", "- a", "? b", ": c",
    '"\\x00\\ud800\\U0010FFFF"', '"\\e[2J"', "'unterminated", "javascript:alert(1)",
    "<script>alert(1)</script>", "&#106;avascript:x", "https://a.example/",
    "[a, b, {c: d}]", "{a: [1, 2], b: {c: *x}}", "&x [1, *x]",
]
# fmt: on
SCALARS = st.one_of(
    st.sampled_from(TRICKY_SCALARS),
    st.integers().map(str),
    st.floats(allow_nan=True).map(repr),
    TEXT.map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    TEXT,
)


# Values that are well-formed YAML on their own, of every type, for tidy documents.
# fmt: off
TIDY_SCALARS = [
    "~", "yes", "false", "0x1F", ".inf", "2026-11-18", "9999-12-31T23:59:59-12:00",
    "!!binary aGk=", "!!set {a, b}", "[a, b]", "{name: P, images: [{url: /a.png}]}",
    "[{title: R, webUrl: 'https://r.example/'}]", "'<script>alert(1)</script>'",
    "'javascript:alert(1)'", "https://a.example/x", "'  '", "[]", "{}",
]
# fmt: on
TIDY_VALUES = st.one_of(
    st.sampled_from(TIDY_SCALARS),
    st.integers().map(str),
    TEXT.map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
)


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """Front matter of plausible shape: tidy `key: value` documents that reach validation,
    or line noise of keys, values, lists, anchors and tags at drawn indents."""
    lines: list[str] = []
    if draw(st.booleans()):
        lines += ['title: "Fuzzed story"', "publishedDateTime: 2026-11-18T09:30:00Z"]
    if draw(st.booleans()):  # tidy: distinct top-level keys with well-formed values
        keys = draw(st.lists(KEYS.filter(lambda k: k.isidentifier()), unique=True, max_size=8))
        lines += [
            f"{k}: {draw(TIDY_VALUES)}" for k in keys if k not in ("title", "publishedDateTime")
        ]
        return "\n".join(lines)
    for _ in range(draw(st.integers(0, 25))):
        indent = " " * draw(st.sampled_from([0, 0, 0, 2, 2, 4, 1, 3, 8]))
        anchor = draw(st.sampled_from(["", "", "", "&a ", "&b ", "!!str ", "!!map "]))
        shape = draw(st.integers(0, 4))
        key, value = draw(KEYS), draw(SCALARS)
        if shape == 0:
            lines.append(f"{indent}{key}: {anchor}{value}")
        elif shape == 1:
            lines.append(f"{indent}- {anchor}{value}")
        elif shape == 2:
            lines.append(f"{indent}{key}:")
        elif shape == 3:
            lines.append(f"{indent}- {key}: {value}")
        else:
            lines.append(f"{indent}{key}: {draw(st.sampled_from(['*a', '*b', '<<: *a']))}")
    return "\n".join(lines)


@FUZZ
@given(yaml_documents(), st.sampled_from(["\n", "\r\n", "\r"]), st.text(max_size=200))
def test_yaml_like_documents(front: str, newline: str, body: str) -> None:
    text = "---\n" + front + "\n---\n" + body
    load(text.replace("\n", newline).encode("utf-8"))


@FUZZ
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=10), children, max_size=4),
        ),
        max_leaves=30,
    )
)
def test_any_value_in_any_known_field(value: object) -> None:
    """Arbitrary data, written as JSON (which is YAML flow syntax), in every field in turn."""
    for field in sorted(KNOWN_FIELDS):
        fields = {"title": "T", "publishedDateTime": "2026-11-18T09:30:00Z", field: value}
        front = "\n".join(f"{k}: {json.dumps(v)}" for k, v in fields.items())
        load(f"---\n{front}\n---\n".encode())


# --- bounded time and memory -------------------------------------------------------------


def _alias_bomb(width: int, depth: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth)]
    return "\n".join(lines)


def _merge_bomb(width: int, depth: int) -> str:
    lines = ["m0: &m0 {k: v}"]
    lines += [f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * width)}]}}" for i in range(1, depth)]
    return "\n".join(lines)


def _flow_nesting(depth: int) -> str:
    return "deep: " + "[" * depth + "]" * depth


def _map_nesting(depth: int) -> str:
    return "deep: " + "{a: " * depth + "b" + "}" * depth


def _block_nesting(depth: int) -> str:
    return "\n".join(" " * i + "k:" for i in range(depth)) + " v"


def _measure(front: str) -> tuple[float, int]:
    raw = f'---\ntitle: "Bomb"\npublishedDateTime: 2026-11-18T09:30:00Z\n{front}\n---\n'.encode()
    assert len(raw) <= CONFIG.max_record_bytes
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(RecordError):
            parse_record(raw, "bomb.md", CONFIG, [])
        return time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


PEAK_BYTES = 40 * 1024 * 1024
"""Far below what an expanded bomb needs (9**9 list items), far above what parsing 64 KiB takes."""


@pytest.mark.parametrize(
    "front",
    [
        pytest.param(_alias_bomb(9, 9), id="billion-laughs"),
        pytest.param(_alias_bomb(2, 60), id="deep-alias-chain"),
        pytest.param(_merge_bomb(9, 9), id="merge-key-bomb"),
        pytest.param(_flow_nesting(20_000), id="flow-sequences-20000-deep"),
        pytest.param(_map_nesting(10_000), id="flow-mappings-10000-deep"),
        pytest.param(_block_nesting(300), id="block-mappings-300-deep"),
        pytest.param("n: !!int " + "1:" * 30_000 + "1", id="base-60-number"),
        pytest.param("n: !!int 0x" + "f" * 60_000, id="long-hex-number"),
    ],
)
def test_bombs_are_refused_fast_in_bounded_memory(front: str) -> None:
    seconds, peak = _measure(front)
    assert seconds < 5
    assert peak < PEAK_BYTES


def test_a_megabyte_long_base_60_number_is_read_as_text_at_once() -> None:
    """Constructing it as an integer would take minutes (quadratic big-number arithmetic)."""
    config = SiteConfig()  # the default size limit, 1 MiB
    number = "1:" * 500_000 + "1"
    raw = f"---\ntitle: T\npublishedDateTime: 2026-11-18T09:30:00Z\nn: {number}\n---\n"
    tracemalloc.start()
    started = time.perf_counter()
    try:
        record = parse_record(raw.encode(), "big.md", config, [])
        seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert record.extra["n"] == number
    assert seconds < 5 and peak < PEAK_BYTES


@settings(max_examples=25, deadline=timedelta(seconds=5))
@given(
    st.sampled_from([_alias_bomb, _merge_bomb]),
    st.integers(2, 12),
    st.integers(2, 12),
)
def test_any_alias_bomb_shape_is_bounded(
    make: Callable[[int, int], str], width: int, depth: int
) -> None:
    _, peak = _measure(make(width, depth))
    assert peak < PEAK_BYTES


@settings(max_examples=25, deadline=timedelta(seconds=5))
@given(st.sampled_from([_flow_nesting, _map_nesting, _block_nesting]), st.integers(51, 300))
def test_any_nesting_past_the_limit_is_bounded(make: Callable[[int], str], depth: int) -> None:
    _, peak = _measure(make(depth))
    assert peak < PEAK_BYTES


# Compared with PyYAML reading the same grammar with the same parser masthead uses (libyaml
# when PyYAML has it): PyYAML's pure-Python parser differs from libyaml on one input, the
# empty value with the non-specific tag, pinned by
# test_the_non_specific_tag_on_nothing_is_the_empty_string.
_SAME_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# The builder reads the commonest integers and UTC timestamps itself, without PyYAML's
# constructors: it must give exactly what they give, or keep the text where they fail.
_digits = st.integers(min_value=0, max_value=10**25).map(str)
_octal = st.from_regex(r"0[0-9]{1,6}", fullmatch=True)
_utc = st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", fullmatch=True)


@given(st.one_of(_digits, _octal, _utc))
def test_numbers_and_timestamps_read_as_pyyaml_reads_them(text: str) -> None:
    from masthead.records.yamlload import load_yaml

    document = f"value: {text}\n"
    try:
        expected = yaml.load(document, Loader=_SAME_PARSER)["value"]
    except ValueError:  # 2024-13-45T...: PyYAML fails; masthead keeps the text
        expected = text
    assert load_yaml(document)["value"] == expected


# Plain scalars are typed by their first character before any pattern is tried (a
# headline cannot be a number): every such value must still read as PyYAML reads it.
_TYPED = ["true", "True", "yes", "No", "on", "OFF", "null", "Null", "~", "", "12", "-3", "+4",
          "0x1F", "0o17", "1_000", "1.5", ".5", "-.inf", ".NaN", "1:30", "2024-05-01", "<<", "="]  # fmt: skip
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)
_plain = st.one_of(
    st.sampled_from(_TYPED), st.tuples(st.sampled_from(_TYPED), _text).map("".join), _text
)


@given(_plain)
@example("!")  # the input that told the two parsers apart
def test_plain_scalars_typed_as_pyyaml_types_them(text: str) -> None:
    from masthead.records.yamlload import YamlError, load_yaml

    document = f"value: {text}\n"
    try:
        expected = yaml.load(document, Loader=_SAME_PARSER)
    except (yaml.YAMLError, ValueError):
        return  # not one value: what masthead says of it is tested above
    try:
        found = load_yaml(document)
    except YamlError:
        return  # refused outright (a tag, an alias): never a different value
    assert found == expected


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", ["!", "! ", "!\t"])
def test_the_non_specific_tag_on_nothing_is_the_empty_string(text: str) -> None:
    """YAML 1.1 and 1.2: a `!`-tagged scalar is a string, so `value: !` is ''. libyaml
    agrees; PyYAML's pure-Python parser says None (the one known difference between the
    two, which made the comparison above flaky while it used the pure parser)."""
    from masthead.records.yamlload import load_yaml

    assert load_yaml(f"value: {text}\n") == {"value": ""}


# The closing `---` is found with str.find; it must be the line the YAML-front-matter
# convention names: the first `---` or `...` line, trailing blanks allowed.
_FENCE_LINE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


@given(st.lists(st.sampled_from(["---", "...", "-", ".", "\n", " ", "\t", "a", "----"])))
def test_closing_fence_is_the_first_fence_line(pieces: list[str]) -> None:
    from masthead.records.loader import _closing_fence

    text = "---\n" + "".join(pieces)
    match = _FENCE_LINE.search(text, 3)
    assert _closing_fence(text, 3) == (match.start() if match else None)
