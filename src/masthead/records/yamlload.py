"""Safe YAML for front matter: libyaml when present, no aliases, no duplicate keys, bounded depth.

libyaml composes the node graph in C; building plain dicts, lists and scalars from it
here, instead of through PyYAML's generic constructor, is about twice as fast and is the
place where aliases, duplicate keys and unknown tags are refused. Front matter is
attacker-controlled text: nothing here may cost more than the file's size in memory or
time, and every failure is a YamlError, never another exception.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from datetime import datetime
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from masthead.upstream import WithoutPathResolvers

try:  # libyaml's C parser; the pure-Python one reads the same grammar, more slowly.
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader

_resolved: dict[str, str] = {}


MAX_DEPTH = 50
MAX_NUMBER_CHARS = 100
"""Longer plain scalars are read as text and longer `!!int`s refused: a base-60 integer
(`1:2:3:...`) costs quadratic time to construct, and matching a megabyte against the
resolvers' patterns costs tens of megabytes of regex state. No number, date or boolean
is this long."""
_P = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _P + "str", _P + "map", _P + "seq"
_INT, _TIMESTAMP = _P + "int", _P + "timestamp"
_Scalar = yaml.ScalarNode
_UTC_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class _Loader(WithoutPathResolvers, _Base):  # type: ignore[misc, valid-type]
    """Remembers the tag of plain scalars: keys like `title` or `width` recur in every record."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0] or len(value) > MAX_NUMBER_CHARS:
                return _STR  # quoted (no path resolvers are registered), or too long for a number
            if value and value[0] not in _IMPLICIT_FIRST:
                return _STR  # plain text such as a headline: no implicit type starts this way
            if len(value) < 32:
                tag = _resolved.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)
                    if len(_resolved) < 4096:
                        _resolved[value] = tag
                return tag
        return super().resolve(kind, value, implicit)


# The first characters that can begin a value of an implicit type (number, date, bool,
# null...); anything else is a string. A wildcard resolver would make every one possible.
assert None not in _Loader.yaml_implicit_resolvers
_IMPLICIT_FIRST = frozenset(_Loader.yaml_implicit_resolvers)

_scalars = SafeConstructor()
_SCALAR_TAGS = {
    _P + "int": _scalars.construct_yaml_int,
    _P + "float": _scalars.construct_yaml_float,
    _P + "bool": _scalars.construct_yaml_bool,
    _P + "null": lambda node: None,
    _P + "timestamp": _scalars.construct_yaml_timestamp,
}
_NODE_KIND: dict[str, type[yaml.Node]] = {
    _STR: yaml.ScalarNode,
    _MAP: yaml.MappingNode,
    _SEQ: yaml.SequenceNode,
    **dict.fromkeys(_SCALAR_TAGS, yaml.ScalarNode),
}
"""The kind of node each readable tag needs: `!!map` on a scalar is an error, not a crash."""
# What PyYAML's scalar constructors raise on values the resolver would never give them,
# such as `!!bool maybe` (KeyError), `!!int ''` (IndexError) or `!!timestamp soon`.
_CONSTRUCTOR_FAILURES = (ValueError, OverflowError, TypeError, AttributeError, KeyError, IndexError)


SECRET_KEY = "secured"
_UNREADABLE = yaml.reader.Reader.NON_PRINTABLE
# `found character '@' that...` in the pure-Python parser's messages: a character of the
# value, which may be a secret one; libyaml says the same without it.
_QUOTED_CHAR = re.compile(r"\b(?:(found)|character) '(?:[^'\\]|\\[^']{1,9})'")


def _unquoted(problem: str) -> str:
    return _QUOTED_CHAR.sub(lambda m: "found another character" if m[1] else "character", problem)


@functools.lru_cache(maxsize=1024)
def _normal_key(key: str) -> str:
    folded = unicodedata.normalize("NFKC", key).casefold()
    return "".join(c for c in folded if not c.isspace() and unicodedata.category(c)[0] != "C")


def is_secret_key(key: object) -> bool:
    """Whether `key` names a `secured` value: `Secured`, `"secured "`, `SEC\u200bURED`...

    Any key that reads as `secured` once case, width, whitespace and invisible characters
    are set aside: a template printing unknown fields must not find the secret under a
    near-miss spelling.
    """
    if not isinstance(key, str) or len(key) < len(SECRET_KEY):
        return False
    if len(key) > 64:  # not cached: a hostile key may be a megabyte of spaces
        return _normal_key.__wrapped__(key) == SECRET_KEY
    return _normal_key(key) == SECRET_KEY


class YamlError(Exception):
    """Front matter that is not acceptable YAML; `line` is 1-based within the front matter."""

    def __init__(self, message: str, line: int | None = None, expected: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.expected = message, line, expected


def load_yaml(text: str) -> Any:
    """Parse one YAML document; every failure becomes a YamlError with a line when known."""
    return load_yaml_document(text)[0]


def load_yaml_document(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into (data, node graph); the graph gives lines for messages."""
    try:
        if _MAY_HOLD_ANCHOR.search(text):
            _refuse_anchors(text)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        problem = _unquoted(exc.problem or exc.context or "invalid YAML")
        line = _error_line(exc)
        raise YamlError(f"YAML error: {problem}", line, _wanted(problem, text, line)) from None
    except yaml.reader.ReaderError:
        # Its position counts bytes with libyaml and characters without: find the culprit.
        found = _UNREADABLE.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        raise YamlError(
            "YAML error: a control or non-character code point", line, "printable text"
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {exc}", None, "valid YAML") from None
    except RecursionError:
        raise _too_deep(None) from None
    if node is None:
        return None, None
    return _Builder().build(node, 0), node


# Where an anchor (`&a`) or alias (`*a`) can begin: `&` or `*` followed by a non-space,
# at the start of the text or after whitespace or a YAML indicator. Anywhere else
# (`AT&T`, `?a=1&b=2`, `5 * 3`) it is text, and the document needs no second look.
# The `&` or `*` comes first and the look behind it after: a pattern that starts with
# its characters lets the regex engine skip ahead to them, five times as fast as trying
# the look-behind at every position of the front matter.
_MAY_HOLD_ANCHOR = re.compile(r"[&*](?<![^\s\[\]{},:?!|>\"'#-][&*])\S")


def _refuse_anchors(text: str) -> None:
    """Raise YamlError at the first anchor or alias, of any kind of node, key or value.

    The composer turns an alias into the anchored node itself, so a scalar aliased into
    every field costs its size again in each, unseen by any later check; the events still
    tell them apart. An anchor alone is refused too: `title: &Co news` would otherwise
    lose its first word without a word said.
    """
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                found = f"alias *{_cut(event.anchor)}"
            elif getattr(event, "anchor", None) is not None:
                found = f"anchor &{_cut(event.anchor)}"
            else:
                continue
            raise YamlError(
                f"YAML anchors and aliases are not allowed ({found})",
                event.start_mark.line + 1,
                "every value written out, without anchors or aliases",
            )
    finally:
        loader.dispose()


def _cut(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."


class _Builder:
    """Plain Python values from a node graph; each collection node may be visited once."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, depth: int) -> Any:
        tag = node.tag
        if node.__class__ is _Scalar:  # most values: checked first
            if tag == _STR:
                return node.value
            value = node.value
            if tag == _INT and value.isascii() and value.isdigit() and len(value) < 19:
                if value[0] != "0" or len(value) == 1:  # 010 is octal in YAML 1.1
                    return int(value)
            elif tag == _TIMESTAMP and len(value) == 20 and _UTC_SECONDS.match(value):
                # 2024-05-01T09:30:00Z, read as PyYAML reads it; 2024-13-45... goes on below
                with contextlib.suppress(ValueError):
                    return datetime.fromisoformat(value)
        kind = _NODE_KIND.get(tag)
        if kind is not None and not isinstance(node, kind):
            name = _short(tag)
            raise YamlError(
                f"YAML tag {name} does not fit a {node.id}", _line(node), f"{name} on a {kind.id}"
            )
        if tag == _STR:
            return node.value
        if tag in (_MAP, _SEQ):
            if depth >= MAX_DEPTH:
                raise _too_deep(_line(node))
            if id(node) in self.seen:  # an alias: refused, so memory stays bounded by file size
                raise YamlError(
                    "YAML anchors and aliases are not allowed",  # reported at the anchor
                    _line(node),
                    "every value written out, without anchors or aliases",
                )
            self.seen.add(id(node))
            if tag == _SEQ:
                return [self.build(item, depth + 1) for item in node.value]
            return self.mapping(node, depth)
        constructor = _SCALAR_TAGS.get(tag)
        if constructor is None:
            if tag == _P + "merge":
                raise YamlError(
                    "YAML merge keys (<<) are not allowed", _line(node), "each field written out"
                )
            raise YamlError(f"YAML tag {_short(tag)} is not allowed", _line(node), "plain values")
        if len(node.value) > MAX_NUMBER_CHARS and tag != _P + "timestamp":
            raise YamlError(
                f"{_short(tag)} value of {len(node.value)} characters is too long",
                _line(node),
                f"at most {MAX_NUMBER_CHARS} characters",
            )
        try:
            return constructor(node)
        except _CONSTRUCTOR_FAILURES:
            if tag == _P + "timestamp":
                # 2024-13-45 stays text: the loader then names the field and what it wants.
                return node.value
            raise YamlError(
                f"YAML value {node.value[:60]!r} cannot be read as {_short(tag)}",
                _line(node),
                f"a value that fits {_short(tag)}",
            ) from None

    def mapping(self, node: yaml.MappingNode, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        build, deeper = self.build, depth + 1
        for key_node, value_node in node.value:
            # Plain text keys and values, the common case, without a call each.
            if key_node.tag == _STR and key_node.__class__ is _Scalar:
                key = key_node.value
            else:
                key = build(key_node, deeper)
            try:
                if key in out:
                    raise YamlError(f"duplicate key {key!r}", _line(key_node), "each field once")
                if value_node.tag == _STR and value_node.__class__ is _Scalar:
                    out[key] = value_node.value
                else:
                    out[key] = self.value(key, value_node, deeper)
            except TypeError:  # a list or mapping used as a key
                raise YamlError(
                    "YAML mapping key is not a scalar", _line(key_node), "a plain field name"
                ) from None
        return out

    def value(self, key: Any, node: yaml.Node, depth: int) -> Any:
        """A mapping's value; what is wrong with a `secured` one is said without quoting it."""
        try:
            return self.build(node, depth)
        except YamlError as exc:
            if not is_secret_key(key):
                raise
            raise YamlError(
                f"YAML value of {SECRET_KEY} cannot be read (not shown)",
                exc.line,
                "a plain string",
            ) from None


def _wanted(problem: str, text: str, line: int | None) -> str:
    """What the front matter should be, with the fix for the two mistakes people make most
    when they write YAML by hand: an unquoted value holding `: `, a tab to indent."""
    lines = text.splitlines()
    blamed = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    value = blamed.partition(": ")[2]
    if problem.startswith("mapping values are not allowed") and (
        ": " in value or value.endswith(":")
    ):
        return 'valid YAML: a value holding ": " in quotes, such as title: "Harbour: a year on"'
    if "\t" in blamed[: len(blamed) - len(blamed.lstrip())] or "tab" in problem:
        return "valid YAML: spaces, not tabs, to indent"
    return "valid YAML"


def _error_line(exc: yaml.MarkedYAMLError) -> int | None:
    """The line to blame: where an unfinished scalar, key or flow list began, else the problem.

    For `title: "no end` or a line without `:`, PyYAML's problem mark is where it gave up,
    often the next line or the end of the front matter; the context mark is the culprit.
    """
    context = exc.context or ""
    use_context = context.startswith(("while scanning", "while parsing a flow"))
    mark = (exc.context_mark if use_context else None) or exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark else None


def _short(tag: str) -> str:
    return tag.replace(_P, "!!", 1) if tag.startswith(_P) else tag


def _too_deep(line: int | None) -> YamlError:
    return YamlError("YAML nested too deeply", line, f"at most {MAX_DEPTH} levels of nesting")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def node_line(node: yaml.Node | None, keys: tuple[str | int, ...]) -> int | None:
    """1-based line of the value at `keys` under `node` (of the deepest key found)."""
    line = _line(node) if node is not None else None
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            match = next((kv for kv in node.value if kv[0].value == key), None)
            if match is None:
                return line
            line, node = _line(match[0]), match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = _line(node)
        else:
            return line
    return line


def key_line(text: str, keys: tuple[str | int, ...]) -> int | None:
    """1-based line of the value at `keys` in `text` (of the deepest key found), for messages."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return None
    return node_line(node, keys)
