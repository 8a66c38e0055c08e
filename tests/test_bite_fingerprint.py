"""Fingerprints at their edges: the cases mutation testing found unchecked.

The preview's fast path (substitute) through named tuples and dataclasses, the record
index (records_in) through every kind of value, the memos, which templates a page's
fingerprint covers, and what the parsing and config digests cover.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import pytest
from markupsafe import Markup

from masthead.building import fingerprint
from masthead.building.fingerprint import (
    TemplateDigests,
    Unknown,
    config_digest,
    page_fingerprint,
    parsing_digest,
    records_in,
    substitute,
    value_key,
)
from masthead.config import SiteConfig
from masthead.model.site import Site
from tests.test_fingerprint import site

__all__ = ["site"]


class Pair(NamedTuple):
    first: Any
    second: Any


def _box() -> type:
    """A dataclass type no other test has shown the module: its field names are not cached."""

    @dataclasses.dataclass(frozen=True)
    class Box:
        items: Any
        label: str = "box"

    return Box


def test_substitute_rebuilds_a_named_tuple_as_its_own_type(site: Site) -> None:
    a, b, _ = site.articles
    new_b = dataclasses.replace(b, digest="edited")
    result = substitute({"pair": Pair(a, b)}, {id(b): new_b}, {})
    assert type(result["pair"]) is Pair
    assert result["pair"] == Pair(a, new_b)


def test_substitute_rebuilds_a_dataclass_holding_the_article_and_keeps_the_rest(
    site: Site,
) -> None:
    a, b, c = site.articles
    new_b = dataclasses.replace(b, digest="edited")
    box = _box()
    holding, other = box((a, b), "front"), box((c,), "back")
    result = substitute([holding, other, box], {id(b): new_b}, {})
    assert type(result[0]) is box
    assert result[0].items == (a, new_b) and result[0].label == "front"
    assert result[1] is other  # nothing of it changed: the same object
    assert result[2] is box  # a dataclass type is a value, not an instance to rebuild
    assert holding.items == (a, b)  # the original is left as it was


def test_substitute_keeps_values_of_other_kinds_and_a_shared_value_once(site: Site) -> None:
    a, b, _ = site.articles
    new_b = dataclasses.replace(b, digest="edited")
    where, shared, untouched = Path("x"), (b,), (a,)
    memo: dict[int, Any] = {}
    result = substitute(
        {"p": where, "s": [shared, shared], "u": [untouched, untouched]}, {id(b): new_b}, memo
    )
    assert result["p"] is where
    assert result["s"] == [(new_b,), (new_b,)]
    assert result["u"][0] is untouched and result["u"][1] is untouched
    assert memo[id(shared)] == (new_b,)


def test_records_in_reaches_records_dataclasses_and_skips_other_objects(site: Site) -> None:
    a, b, c = site.articles
    box = _box()
    context = {"record": a.record, "box": box([b], "x"), "path": Path("y"), "n": object()}
    context["more"] = (c, box)
    assert records_in(context, {}) == (a.record.path, b.record.path, c.record.path)


def test_records_in_remembers_each_value_and_trusts_what_it_remembers(site: Site) -> None:
    a, b, _ = site.articles
    inner, outer = [a], {"x": [b]}
    memo: dict[int, tuple[str, ...]] = {id(inner): ("remembered.md",)}
    assert records_in((inner, outer), memo) == ("remembered.md", b.record.path)
    assert memo[id(outer)] == (b.record.path,)
    assert memo[id(outer["x"])] == (b.record.path,)


@pytest.mark.parametrize(
    "change",
    [
        {"max_record_bytes": 1000},
        {"timezone": "Europe/Paris"},
        {"iframe_hosts": ("www.youtube.com",)},
    ],
)
def test_the_parsing_digest_covers_each_setting_parsing_reads(change: dict[str, Any]) -> None:
    assert parsing_digest(SiteConfig(**change)) != parsing_digest(SiteConfig())
    assert parsing_digest(SiteConfig(title="Other")) == parsing_digest(SiteConfig())


def test_both_config_digests_cover_masthead_s_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = parsing_digest(SiteConfig()), config_digest(SiteConfig())
    monkeypatch.setattr(fingerprint, "__version__", "0.0.0-other")
    after = parsing_digest(SiteConfig()), config_digest(SiteConfig())
    assert before[0] != after[0] and before[1] != after[1]


# value_key and page_fingerprint: the memo, and a digest that says nothing ---------------


def test_an_empty_digest_is_no_name_the_value_is_walked() -> None:
    @dataclasses.dataclass(frozen=True)
    class Item:
        digest: str
        text: str

    assert value_key(Item("", "a")) != value_key(Item("", "b"))
    assert value_key(Item("d", "a")) == value_key(Item("d", "b")) == "d"


def test_a_string_or_number_of_a_subclass_is_its_own_key_not_an_unknown_value() -> None:
    """Markup (what the body_html filter gives) is a str, an IntEnum member an int: a page
    showing one is fingerprinted, and its fingerprint follows the value, rather than the
    page being unknown and rendered again on every build."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"p.html": "{{ body }} {{ status }}"}))

    def fingerprint_of(body: Markup, status: HTTPStatus) -> str | None:
        context = {"body": body, "status": status}
        return page_fingerprint("/a/", ("p.html",), context, "b", TemplateDigests(env), {})

    first = fingerprint_of(Markup("<p>a</p>"), HTTPStatus.OK)
    assert first is not None
    assert fingerprint_of(Markup("<p>a</p>"), HTTPStatus.OK) == first
    assert fingerprint_of(Markup("<p>b</p>"), HTTPStatus.OK) != first
    assert fingerprint_of(Markup("<p>a</p>"), HTTPStatus.NOT_FOUND) != first
    assert value_key(Markup("<p>a</p>"), {}) == "<p>a</p>"
    assert value_key(HTTPStatus.OK, {}) == 200


def test_the_memo_keeps_every_compound_value_walked(site: Site) -> None:
    inner, when = ["a", site.articles[0]], datetime(2026, 11, 18, tzinfo=UTC)
    context = {"x": (inner, when)}
    memo: dict[int, Any] = {}
    env = jinja2.Environment(loader=jinja2.DictLoader({"p.html": "p"}))
    assert page_fingerprint("/a/", ("p.html",), context, "b", TemplateDigests(env), memo)
    assert memo[id(context)] == value_key(context)
    assert memo[id(context["x"])] == value_key(context["x"])
    assert memo[id(inner)] == ("a", site.articles[0].digest)
    assert memo[id(when)] == when.isoformat()


# TemplateDigests: which templates a page's fingerprint covers ---------------------------


def _digest(templates: dict[str, str], *names: str) -> str:
    env = jinja2.Environment(loader=jinja2.DictLoader(templates), autoescape=True)
    return TemplateDigests(env).for_names(names)


def test_every_template_included_is_covered_whatever_the_order_or_repeats() -> None:
    page = "{% include 'b.html' %}{% include 'a.html' %}{% include 'a.html' %}"
    page += "{% include 'gone.html' ignore missing %}{% include 'c.html' %}"
    templates = {"page.html": page, "a.html": "a", "b.html": "b", "c.html": "c"}
    before = _digest(templates, "page.html")
    for name in ("a.html", "b.html", "c.html"):
        assert _digest({**templates, name: "edited"}, "page.html") != before, name


def test_pages_of_different_templates_differ_even_when_both_may_use_any() -> None:
    templates = {"a.html": "{% include name %}", "b.html": "{% include name %}"}
    assert _digest(templates, "a.html") != _digest(templates, "b.html")
    assert _digest(templates, "none.html") != _digest(templates, "gone.html")


def test_a_template_that_does_not_parse_is_covered_by_its_text() -> None:
    templates = {"page.html": "{% include 'a.html' %}{% if %}", "a.html": "a"}
    before = _digest(templates, "page.html")
    assert _digest({**templates, "page.html": "{% if %}{% if %}"}, "page.html") != before


def test_one_source_is_parsed_once_however_many_templates_hold_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    same = "{% include 'foot.html' %}"
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"a.html": same, "b.html": same, "foot.html": "f"})
    )
    parsed: list[str] = []
    parse = env.parse

    def counting(source: str) -> Any:
        parsed.append(source)
        return parse(source)

    monkeypatch.setattr(env, "parse", counting)
    digests = TemplateDigests(env)
    digests.for_names(("a.html",))
    digests.for_names(("b.html",))
    assert parsed == [same, "f"]


def test_dataclasses_of_two_types_with_the_same_fields_have_different_keys() -> None:
    first, second = _box(), _box()
    second.__name__ = "Crate"
    assert value_key(first("x")) != value_key(second("x"))


def test_the_memo_keeps_the_fields_of_a_dataclass_walked() -> None:
    shown = ["a"]
    box = _box()(shown)
    memo: dict[int, Any] = {}
    value_key(box, memo)
    assert memo[id(shown)] == ("a",)


@pytest.mark.parametrize(("value", "kind"), [({1}, "set"), (object(), "object")])
def test_a_value_of_an_unknown_kind_is_named_by_its_type(value: object, kind: str) -> None:
    with pytest.raises(Unknown) as caught:
        value_key([value])
    assert str(caught.value) == kind
