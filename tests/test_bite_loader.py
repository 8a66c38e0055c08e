"""Loading and validation at their edges: the cases mutation testing found unchecked.

Each test pins one promise of the loader (yamlload, records) at the boundary where a
one-character change to the code would break it: a limit at, below and above, a message
that must name the line, a branch taken only by an unusual but legal record.
"""

from __future__ import annotations

import pytest
import yaml

from masthead import yamlload
from masthead.yamlload import MAX_NUMBER_CHARS, YamlError, is_secret_key, load_yaml


def test_a_typed_number_is_read_up_to_the_length_limit_and_refused_past_it() -> None:
    digits = "1" * MAX_NUMBER_CHARS
    assert load_yaml(f"n: !!int {digits}") == {"n": int(digits)}
    with pytest.raises(YamlError) as caught:
        load_yaml(f"a: 1\nn: !!int {digits}1")
    assert caught.value.line == 2
    assert f"{MAX_NUMBER_CHARS + 1} characters is too long" in caught.value.message


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
