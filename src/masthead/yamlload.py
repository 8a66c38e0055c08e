"""Safe YAML for front matter: libyaml when present, no aliases, no duplicate keys, bounded depth."""

from __future__ import annotations

from typing import Any

import yaml

try:  # libyaml's C parser is several times faster; the pure-Python one is the same grammar.
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Base = yaml.SafeLoader

MAX_DEPTH = 50


class YamlError(Exception):
    """Front matter that is not acceptable YAML; `line` is 1-based within the front matter."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


class _StrictLoader(_Base):  # type: ignore[misc, valid-type]
    """A safe loader that refuses aliases (billion-laughs) and duplicate keys.

    Records never need anchors, and refusing them outright keeps memory bounded by the
    file size instead of by how cleverly the aliases nest.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise YamlError("YAML aliases are not allowed", node.start_mark.line + 1)
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise YamlError(
                        f"duplicate key {key_node.value!r}", key_node.start_mark.line + 1
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse one YAML document; every failure becomes a YamlError with a line when known."""
    try:
        loader = _StrictLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "python/" in str(exc) or "could not determine a constructor" in problem:
            problem = f"YAML tag not allowed: {problem.split('tag')[-1].strip()}"
        raise YamlError(f"YAML error: {problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {exc}") from None
    except RecursionError:
        raise YamlError(f"YAML nested too deeply (more than {MAX_DEPTH} levels)") from None
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. a timestamp like 2024-13-45
        raise YamlError(f"YAML value cannot be read: {exc}") from None
    _check_depth(data, 0)
    return data


def _check_depth(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise YamlError(f"YAML nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(value, dict):
        for v in value.values():
            if isinstance(v, (dict, list)):
                _check_depth(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)):
                _check_depth(v, depth + 1)


def key_line(text: str, keys: tuple[str | int, ...]) -> int | None:
    """1-based line of the value at `keys` in `text` (of the deepest key found), for messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None
    line = node.start_mark.line + 1 if node else None
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            match = next((kv for kv in node.value if kv[0].value == key), None)
            if match is None:
                return line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
