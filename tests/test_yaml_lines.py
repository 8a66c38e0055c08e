"""Where masthead's YAML loader says a problem is, and how it names tags.

Written to kill the mutants tools/mutation.py found surviving in masthead.records.yamlload: the
line of a value by its keys (for messages), the line of a parse error, the nesting error
and the short spelling of tags.
"""

from __future__ import annotations

import pytest

from masthead.records.yamlload import MAX_DEPTH, YamlError, key_line, load_yaml, node_line

TEXT = """\
title: T
images:
  - url: a
    width: 5
  - url: b
topics: [x, y]
"""


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        ((), 1),
        (("title",), 1),
        (("images", 0, "width"), 4),
        (("images", 1, "url"), 5),
        (("topics", 1), 6),
        (("missing",), 1),  # not there: the deepest key found, here the document
        (("images", 2), 2),  # past the end of the list: the list's key
        (("images", "url"), 2),  # a name in a list: the list's key
        (("title", "x"), 1),  # a name in a scalar
        (("title", 0), 1),  # an index in a scalar
        (("images", 0, "nothing"), 3),
    ],
)
def test_the_line_of_a_value_by_its_keys(keys: tuple[str | int, ...], line: int) -> None:
    assert key_line(TEXT, keys) == line


def test_no_line_without_a_document() -> None:
    assert node_line(None, ("title",)) is None
    assert key_line("title: [unclosed", ("title",)) is None


def test_nesting_too_deep_is_reported_at_its_line() -> None:
    deep = "title: T\nx: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH
    with pytest.raises(YamlError) as caught:
        load_yaml(deep)
    error = caught.value
    assert (error.message, error.expected) == (
        "YAML nested too deeply",
        f"at most {MAX_DEPTH} levels of nesting",
    )
    assert error.line == 2


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("title: T\nurl: x\n  bad: indent\n", 3),  # no context: the problem
        ("title: T\n- x\n", 2),  # "while parsing a block mapping" (line 1): the problem
        ("a: b\nc\nd: e\n", 2),  # "while scanning a simple key": the key, not line 3
    ],
)
def test_a_parse_error_is_reported_at_its_culprit(text: str, line: int) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(text)
    assert caught.value.line == line


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object:os.system x", "!!python/object:os.system"),
        ("!<tag:yaml.org,2002:tag:yaml.org,2002:x> v", "!!tag:yaml.org,2002:x"),  # prefix once
        (
            "!<tag:x.example,2000:tag:yaml.org,2002:str> v",  # not the prefix: as written
            "tag:x.example,2000:tag:yaml.org,2002:str",
        ),
    ],
)
def test_an_unknown_tag_is_named_in_its_short_form(value: str, shown: str) -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(f"title: T\nv: {value}\n")
    assert caught.value.message == f"YAML tag {shown} is not allowed"
    assert caught.value.line == 2


def test_a_list_as_a_mapping_key_is_refused() -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml("title: T\n? [a, b]\n: v\n")
    assert caught.value.message == "YAML mapping key is not a scalar"
    assert caught.value.line == 2


@pytest.mark.parametrize(("size", "shown"), [(39, 39), (40, 40), (41, 37), (200, 37)])
def test_a_long_anchor_name_is_cut_in_the_message(size: int, shown: int) -> None:
    name = "n" * size
    with pytest.raises(YamlError) as caught:
        load_yaml(f"title: T\na: &{name} x\n")
    cut = name[:shown] + ("..." if shown < size else "")
    assert caught.value.message == f"YAML anchors and aliases are not allowed (anchor &{cut})"
