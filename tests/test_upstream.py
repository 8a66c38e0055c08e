"""The library internals masthead's speed tricks rely on (masthead.upstream).

Each test fails when an upgrade changes what a trick relies on: then check the trick and
widen the range in upstream.CHECKED and pyproject.toml, or drop it.
"""

from __future__ import annotations

import inspect
import tomllib
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from jinja2.compiler import CodeGenerator
from markupsafe import Markup, escape
from packaging.requirements import Requirement

from masthead import upstream
from masthead.outputs.pagefind_service import PINNED
from masthead.records import yamlload
from masthead.upstream import EscapeTextCodeGenerator, WithoutPathResolvers, escape_text

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _pinned() -> dict[str, str]:
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    return {(r := Requirement(d)).name.lower(): str(r.specifier) for d in deps}


@pytest.mark.parametrize("name", sorted(upstream.CHECKED))
def test_pyproject_pins_the_checked_range_and_it_is_installed(name: str) -> None:
    checked = Requirement(f"{name}{upstream.CHECKED[name]}").specifier
    assert _pinned()[name] == str(checked)
    assert version(name) in checked


def test_pyproject_pins_the_pagefind_versions_whose_service_protocol_is_spoken() -> None:
    """outputs/pagefind_service.py refuses any other Pagefind: pip must not install one."""
    pinned = Requirement(f"pagefind{_pinned()['pagefind']}").specifier
    assert version("pagefind") in pinned
    for release in ("1.4.0", "1.6.0", "2.0.0"):
        assert (release in pinned) == release.startswith(PINNED)


# MarkupSafe ---------------------------------------------------------------------------


def test_markupsafe_escape_inner_is_its_c_escaping_of_str_to_str() -> None:
    inner = markupsafe._escape_inner  # type: ignore[attr-defined]
    assert inspect.isbuiltin(inner)  # C: the point of calling it directly
    assert type(inner("<a & 'b'>")) is str
    assert inner("<a & 'b'>") == "&lt;a &amp; &#39;b&#39;&gt;"


@given(st.text())
def test_escape_text_escapes_as_markupsafe_does(text: str) -> None:
    assert escape_text(text) == str(escape(text))


class _Html:
    def __html__(self) -> str:
        return "<b>already safe</b>"


@pytest.mark.parametrize(
    "value", [Markup("<i>safe</i>"), _Html(), 42, None, 1.5, ["<a>", "'"], 'it\'s <b> & "c"']
)
def test_escape_text_keeps_markup_and_escapes_other_values(value: object) -> None:
    assert escape_text(value) == str(escape(value))


# Jinja --------------------------------------------------------------------------------


def test_jinja_writes_output_escaping_in_output_child_pre() -> None:
    """The hook exists with the arguments overridden, and is where escape( is written."""
    parameters = list(inspect.signature(CodeGenerator._output_child_pre).parameters)
    assert parameters == ["self", "node", "frame", "finalize"]
    assert "escape(" in jinja2.Environment(autoescape=True).compile("{{ x }}", raw=True)
    ours = _environment(EscapeTextCodeGenerator).compile("{{ x }}", raw=True)
    assert "escape_text(" in ours
    assert "escape(" not in ours.replace("escape_text(", "")


TEMPLATES = [
    "{{ x }}|{{ m }}|{{ n }}|{{ x ~ m }}|{{ x | upper }}",
    "{% set s %}{{ x }}{% endset %}{{ s }}",
    "{% macro card(v) %}<p>{{ v }}</p>{% endmacro %}{{ card(x) }}{{ card(m) }}",
    "{% autoescape false %}{{ x }}{% endautoescape %}{{ x }}",
    "{% for i in items %}{{ i }},{% endfor %}{{ items | join(', ') }}",
]
VALUES: dict[str, Any] = {
    "x": "<a href='x'>&\"</a>",
    "m": Markup("<em>ok</em>"),
    "n": 3,
    "items": ["<i>", Markup("<b>"), 1.5, None],
}


def _environment(generator: type[CodeGenerator] | None, **options: Any) -> jinja2.Environment:
    class Environment(jinja2.Environment):
        code_generator_class = generator or CodeGenerator

    return Environment(autoescape=True, **options)


@pytest.mark.parametrize("finalize", [None, lambda v: "" if v is None else v])
@pytest.mark.parametrize("text", TEMPLATES)
def test_templates_render_as_jinjas_own_code_renders_them(text: str, finalize: Any) -> None:
    jinjas, ours = (_environment(g, finalize=finalize) for g in (None, EscapeTextCodeGenerator))
    assert ours.from_string(text).render(VALUES) == jinjas.from_string(text).render(VALUES)


# ElementTree --------------------------------------------------------------------------


def test_xml_namespace_prefixes_is_the_registry_elementtree_writes_with() -> None:
    uri = "urn:masthead-test:upstream"
    ET.register_namespace("mhtest", uri)
    try:
        assert upstream.xml_namespace_prefixes()[uri] == "mhtest"
        assert (
            ET.tostring(ET.Element(f"{{{uri}}}x")) == f'<mhtest:x xmlns:mhtest="{uri}" />'.encode()
        )
    finally:
        del upstream.xml_namespace_prefixes()[uri]


# PyYAML -------------------------------------------------------------------------------

LOADERS = [yaml.SafeLoader, *([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])]
DOCUMENT = "title: t\ntopics: [a, b]\nprovider: {name: n}\n"


@pytest.mark.parametrize("base", LOADERS, ids=lambda c: c.__name__)
def test_the_composer_calls_the_resolver_hooks_once_each_way_per_node(base: type) -> None:
    calls: list[tuple[str, int]] = []

    class Recording(base):  # type: ignore[misc, valid-type]
        def descend_resolver(self, *args: Any) -> None:
            calls.append(("descend", len(args)))

        def ascend_resolver(self, *args: Any) -> None:
            calls.append(("ascend", len(args)))

    yaml.compose(DOCUMENT, Loader=Recording)
    nodes = 1 + 2 * 3 + 2 + 2  # the root map, three keys and values, their items
    assert sorted(set(calls)) == [("ascend", 0), ("descend", 2)]
    assert calls.count(("descend", 2)) == calls.count(("ascend", 0)) == nodes


@pytest.mark.parametrize("base", LOADERS, ids=lambda c: c.__name__)
def test_without_path_resolvers_the_hooks_do_nothing(base: type) -> None:
    """Stock hooks and the no-op C functions compose the same tree (no path resolvers)."""
    assert not base.yaml_path_resolvers

    class Quick(WithoutPathResolvers, base):  # type: ignore[misc, valid-type]
        pass

    stock, quick = (yaml.serialize(yaml.compose(DOCUMENT, Loader=c)) for c in (base, Quick))
    assert quick == stock
    assert yamlload.load_yaml(DOCUMENT) == yaml.load(DOCUMENT, Loader=base)


def test_a_loader_with_path_resolvers_keeps_its_hooks() -> None:
    class WithPaths(yaml.SafeLoader):
        pass

    WithPaths.add_path_resolver("!x", ["title"])
    with pytest.raises(TypeError, match="path resolvers"):

        class Quick(WithoutPathResolvers, WithPaths):
            pass
