"""Hostile names on the search page, in Chromium: every string Pagefind's interface shows
stays text, whatever a record calls its topics and provider and whatever form a
template gives its filters.

Pagefind's interface puts filter names and values into the page as HTML, so a topic
named `<img src=x onerror=…>` used to run script on /search/. The guarantee is the
build's (the page Pagefind indexes has its filters escaped), not the theme's: a theme
that restyles the search page keeps it, and must keep this test passing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import Page, chromium, expect
from tests.conftest import Scratch
from tests.crawl import serve_under

TRAP = "window.__mhxss = (window.__mhxss || 0) + 1; alert(1)"
HOSTILE = (
    f"<img src=x onerror='{TRAP}'>",
    f'"><svg onload="{TRAP}">',
    f"</label><script>{TRAP}</script>",
    "&lt;b&gt;spelled out&lt;/b&gt;",
    "AT&T & <i>friends</i>",
)
"""Topic names; the provider is the first. Each must show as exactly this text."""
TITLE = f"Harbour <img src=x onerror='{TRAP}'> & <b>dredging</b>"
EXCERPT = f"Silt <img src=x onerror='{TRAP}'> keeps the quays busy."
BODY = f"Dredgers <script>{TRAP}</script> work at night."

FORMS_TEMPLATE = """{% extends "base.html" %}
{% block main %}
<article data-pagefind-body>
  <h1>{{ article.title }}</h1>
  <p data-pagefind-filter="desk:{{ article.provider.name }}">{{ article.excerpt }}</p>
  <p data-pagefind-filter="section[data-section], wire" data-section="{{ article.topics[0].name }}"
     >{{ article.topics[1].name }}</p>
  <p data-pagefind-meta="byline:{{ article.provider.name }}">{{ article.topics[2].name }}</p>
</article>
{% endblock %}
"""
"""A site's own article page giving filters every form Pagefind reads: a literal
(`name:value`), an attribute (`name[attribute]`), the element's text, several at once."""


def _record(title: str, excerpt: str, topics: tuple[str, ...], provider: str, body: str) -> str:
    # JSON strings are YAML double-quoted scalars: any name survives the trip as it is.
    lines = [
        f"title: {json.dumps(title)}",
        f"excerpt: {json.dumps(excerpt)}",
        "publishedDateTime: 2026-05-04T08:00:00Z",
        f"originalUrl: https://ledger.example/{len(title)}",
        "type: article",
        "provider:",
        f"  name: {json.dumps(provider)}",
        "topics:",
        *(f"  - {json.dumps(t)}" for t in topics),
    ]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


def _build(root: Path, name: str, url: str, template: str | None) -> None:
    scratch = Scratch(root / "sites" / name)
    scratch.add("2026-05-04-dredging.md", _record(TITLE, EXCERPT, HOSTILE, HOSTILE[0], BODY))
    scratch.add(
        "2026-05-03-ferries.md",
        _record(
            "Ferries keep time",
            "Harbour ferries ran.",
            ("Transport", "Ferry", "Night"),
            "Ledger",
            "",
        ),
    )
    if template is not None:
        scratch.template("article.html", template)
    report = scratch.build(output_dir=root / name, base_url=url + name + "/")
    assert not report.failed
    assert (root / name / "pagefind" / "pagefind-ui.js").is_file(), "no search bundle"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("hostile-search")
    with serve_under(root, "/") as url:
        _build(root, "theme", url, None)
        _build(root, "forms", url, FORMS_TEMPLATE)
        yield url


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium() as browser:
        yield browser.new_page()


def _search(page: Page, url: str, dialogs: list[str]) -> dict[str, list[str]]:
    """Search for the hostile story; return the filter labels by filter, as text."""
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url + "search/")
    page.fill(".pagefind-ui__search-input", "dredgers")
    expect(page.locator(".pagefind-ui__result-title")).to_have_count(1)
    # The filters come in after the results: read them once they are in the page.
    expect(page.locator(".pagefind-ui__filter-value").first).to_be_attached()
    for block in page.locator("details.pagefind-ui__filter-block").all():
        block.evaluate("details => { details.open = true; }")  # open every filter
    labels: dict[str, list[str]] = {}
    pairs = page.evaluate(
        "[...document.querySelectorAll('.pagefind-ui__filter-value')].map(value => "
        "[value.querySelector('input').name, value.querySelector('label').textContent])"
    )
    for name, text in pairs:
        labels.setdefault(name, []).append(text.strip().rsplit(" (", 1)[0])
    return labels


def _assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    page.wait_for_timeout(300)  # an onerror fires once the broken image has failed
    assert dialogs == []
    assert page.evaluate("window.__mhxss") is None
    injected = page.evaluate(
        "[...document.querySelectorAll('#search img, #search svg, #search script, "
        "#search b, #search i, [onerror], [onload]')].map(e => e.outerHTML)"
    )
    assert injected == []


def test_hostile_topic_and_provider_names_show_as_text_on_the_search_page(
    served: str, page: Page
) -> None:
    dialogs: list[str] = []
    labels = _search(page, served + "theme/", dialogs)
    _assert_nothing_ran(page, dialogs)
    assert set(HOSTILE) <= set(labels["topic"])
    assert HOSTILE[0] in labels["provider"]
    title = page.locator(".pagefind-ui__result-title").inner_text()
    assert title == TITLE
    assert "Dredgers <script>" in page.locator(".pagefind-ui__result-excerpt").inner_text()

    # The escaped labels still filter: ticking one keeps its story, and only it.
    page.locator(".pagefind-ui__filter-checkbox[name=topic]").nth(
        labels["topic"].index(HOSTILE[0])
    ).check()
    page.fill(".pagefind-ui__search-input", "harbour")
    expect(page.locator(".pagefind-ui__result-title")).to_have_count(1)
    assert page.locator(".pagefind-ui__result-title").inner_text() == TITLE
    _assert_nothing_ran(page, dialogs)


def test_every_form_of_filter_a_template_writes_shows_as_text(served: str, page: Page) -> None:
    dialogs: list[str] = []
    labels = _search(page, served + "forms/", dialogs)
    _assert_nothing_ran(page, dialogs)
    assert set(labels["desk"]) == {HOSTILE[0], "Ledger"}
    assert set(labels["section"]) == {HOSTILE[0], "Transport"}
    assert set(labels["wire"]) == {HOSTILE[1], "Ferry"}
    tags = page.locator(".pagefind-ui__result-tag").all_inner_texts()
    assert any(HOSTILE[0] in tag for tag in tags)  # metadata, which Pagefind shows as text
