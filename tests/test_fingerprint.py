"""Page fingerprints (masthead.building.fingerprint): what makes a page render again, and what not."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

from masthead.building.fingerprint import (
    TemplateDigests,
    Unknown,
    config_digest,
    page_fingerprint,
    records_in,
    substitute,
    value_key,
)
from masthead.config import ImportConfig, ImportFeed, SiteConfig, load_config
from masthead.model.site import Site, build_site
from masthead.records.loader import load_records
from tests.conftest import Scratch


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    scratch = Scratch(tmp_path_factory.mktemp("fingerprint") / "site")
    for day, title in ((18, "Harbour wall"), (19, "Ferry times"), (20, "Tide tables")):
        scratch.add(f"2026-11-{day}-story.md", title=title, when=f"2026-11-{day}T09:00:00Z")
    config = load_config(scratch.root)
    return build_site(load_records(scratch.content, config).records, config)


def _env(**templates: str) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.DictLoader(templates), autoescape=True)


TEMPLATES = {
    "page.html": "{% extends 'base.html' %}{% block main %}{{ x }}{% endblock %}",
    "base.html": "<main>{% block main %}{% endblock %}</main>{% include 'foot.html' %}",
    "foot.html": "<footer></footer>",
    "other.html": "other",
}


def _fingerprint(env: jinja2.Environment, context: dict[str, object], **kw: str) -> str | None:
    url, base = kw.get("url", "/a/"), kw.get("base", "base")
    return page_fingerprint(url, ("page.html",), context, base, TemplateDigests(env))


# value_key ----------------------------------------------------------------------------


def test_equal_values_have_equal_keys_and_a_change_anywhere_shows(site: Site) -> None:
    when = datetime(2026, 11, 18, tzinfo=UTC)
    value = {"b": [1, "x", None, when], "a": (site.articles[0], 2.5)}
    same = {"a": (site.articles[0], 2.5), "b": [1, "x", None, when]}  # other order
    assert value_key(value) == value_key(same)
    for changed in ({**same, "a": (site.articles[1], 2.5)}, {**same, "b": [1, "y", None, when]}):
        assert value_key(changed) != value_key(value)


def test_a_value_with_a_digest_is_named_by_it(site: Site) -> None:
    article = site.articles[0]
    assert value_key(article) == article.digest != ""
    assert value_key(dataclasses.replace(article, digest="")) != article.digest  # walked


@pytest.mark.parametrize("value", [{1, 2}, object(), Path("/x")])
def test_values_of_unknown_kinds_make_the_page_unknown(value: object) -> None:
    with pytest.raises(Unknown):
        value_key({"x": [value]})
    assert _fingerprint(_env(**TEMPLATES), {"x": value}) is None  # always re-rendered


def test_the_memo_names_an_object_seen_before_without_walking_it_again() -> None:
    shown = ["a", "b"]
    first, second = {"list": shown}, {"again": shown}  # kept alive: the memo names ids
    memo: dict[int, object] = {}
    assert value_key(first, memo) == (("list", ("a", "b")),)
    memo[id(shown)] = "remembered"
    assert value_key(second, memo) == (("again", "remembered"),)


# page_fingerprint ---------------------------------------------------------------------


def test_the_fingerprint_covers_url_base_and_context() -> None:
    env = _env(**TEMPLATES)
    first = _fingerprint(env, {"x": 1})
    assert first == _fingerprint(env, {"x": 1})
    others = [
        _fingerprint(env, {"x": 2}),
        _fingerprint(env, {"x": 1}, url="/b/"),
        _fingerprint(env, {"x": 1}, base="other base"),
    ]
    assert first not in others and len(set(others)) == 3


@pytest.mark.parametrize("name", ["page.html", "base.html", "foot.html"])
def test_an_edit_of_any_template_a_page_uses_changes_its_fingerprint(name: str) -> None:
    before = _fingerprint(_env(**TEMPLATES), {"x": 1})
    edited = {**TEMPLATES, name: TEMPLATES[name] + " "}
    assert _fingerprint(_env(**edited), {"x": 1}) != before


def test_an_edit_of_a_template_the_page_does_not_use_keeps_its_fingerprint() -> None:
    before = _fingerprint(_env(**TEMPLATES), {"x": 1})
    assert _fingerprint(_env(**{**TEMPLATES, "other.html": "changed"}), {"x": 1}) == before


def test_a_dynamic_include_makes_every_template_part_of_the_page() -> None:
    dynamic = {**TEMPLATES, "foot.html": "{% include name %}"}
    before = _fingerprint(_env(**dynamic), {"x": 1})
    assert _fingerprint(_env(**{**dynamic, "other.html": "changed"}), {"x": 1}) != before


def test_the_first_template_that_exists_is_the_one_fingerprinted() -> None:
    digests = TemplateDigests(_env(**TEMPLATES))
    assert digests.for_names(("missing.html", "page.html")) == digests.for_names(("page.html",))
    assert digests.for_names(("other.html", "page.html")) != digests.for_names(("page.html",))


def test_references_found_by_the_last_build_are_not_parsed_again() -> None:
    env = _env(**TEMPLATES)
    first = TemplateDigests(env)
    first.for_names(("page.html",))
    assert sorted(r for refs in first.references.values() for r in refs) == [
        "base.html",
        "foot.html",
    ]
    # Told (wrongly) that page.html includes other.html, a build believes it: the
    # references are keyed by the template's source, which did not change.
    known = {key: [*refs, "other.html"] for key, refs in first.references.items()}
    told = TemplateDigests(env, known)
    changed = TemplateDigests(_env(**{**TEMPLATES, "other.html": "changed"}), known)
    assert told.for_names(("page.html",)) != changed.for_names(("page.html",))


# config_digest ------------------------------------------------------------------------


def test_the_import_table_is_no_part_of_any_page() -> None:
    feeds = (ImportFeed(url="https://news.example/feed.xml", provider="News"),)
    imports = ImportConfig(feeds=feeds, folder="imported")
    assert config_digest(SiteConfig(imports=imports)) == config_digest(SiteConfig())
    assert config_digest(SiteConfig(title="Another")) != config_digest(SiteConfig())


# records_in and substitute ------------------------------------------------------------


def test_records_in_lists_each_record_shown_once_in_order(site: Site) -> None:
    a, b, c = site.articles
    context = {"top": (a, b), "more": [b, {"c": c}], "n": 3}
    assert records_in(context, {}) == (a.record.path, b.record.path, c.record.path)


def test_substitute_swaps_an_article_and_rebuilds_only_what_holds_it(site: Site) -> None:
    a, b, c = site.articles
    new_b = dataclasses.replace(b, digest="edited")
    untouched = (a, c)
    context = {"lists": ((a, b), untouched), "pair": [b]}
    result = substitute(context, {id(b): new_b}, {})
    assert result == {"lists": ((a, new_b), untouched), "pair": [new_b]}
    assert result["lists"][1] is untouched
    assert substitute(context, {}, {}) is context
    assert value_key(result) != value_key(context)
