"""The renderer: overrides by name, escaping of hostile text, sub-path links, template errors."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from markupsafe import Markup

from masthead.commands.cli import main
from masthead.config import SiteConfig
from masthead.outputs.render import TemplateError, make_env
from tests.conftest import Scratch, build_and_check, record_text, snapshot
from tests.htmlcheck import broken_links, html_files, parse

STANDALONE = """<!DOCTYPE html>
<html lang="en"><head><title>{{ article.title }}</title></head>
<body><main id="main"><h1 class="site-own">{{ article.title }}</h1></main></body></html>
"""


def article_page(scratch: Scratch, day: str = "18", slug: str = "story") -> BeautifulSoup:
    return parse(scratch.output / f"news/2026/11/{day}/{slug}/index.html")


# Overrides ---------------------------------------------------------------------------


def test_site_template_overrides_a_builtin_one_by_name(scratch: Scratch) -> None:
    scratch.add("2026-11-18-story.md", title="Ferry timetable changes")
    scratch.template("article.html", STANDALONE)
    scratch.build()
    page = article_page(scratch)
    assert page.select_one("h1.site-own").get_text() == "Ferry timetable changes"
    assert page.select(".story") == []  # nothing of the built-in article.html
    front = parse(scratch.output / "index.html")
    assert front.select("article.top")  # other pages keep the built-in templates


def test_builtin_templates_extend_the_sites_base(scratch: Scratch) -> None:
    """`{% extends "base.html" %}` in a theme template finds the site's base.html first."""
    scratch.add("2026-11-18-story.md")
    scratch.template(
        "base.html",
        '<!DOCTYPE html><html lang="en"><head><title>{% block title %}{% endblock %}</title>'
        '</head><body><p class="site-banner">Our own frame</p><main id="main">'
        "{% block main %}{% endblock %}</main></body></html>",
    )
    scratch.build()
    pages = html_files(scratch.output)
    assert len(pages) > 5
    for page in pages:
        soup = parse(page)
        assert soup.select_one("p.site-banner").get_text() == "Our own frame", page
        assert soup.select("header.site-header") == [], page


OWN_MACROS = """
{% macro dateline(when) %}<time>{{ when | human_date }}</time>{% endmacro %}
{% macro story_list(articles, heading='h2') %}<ul class="own-list">
{% for article in articles %}<li><a href="{{ url(article.url) }}">{{ article.title }}</a></li>{% endfor %}
</ul>{% endmacro %}
{% macro pagination(pager) %}{% endmacro %}
{% macro page_suffix(pager) %}{% endmacro %}
{% macro feed_links(list_url, title) %}{% endmacro %}
{% macro feed_menu(list_url, label) %}{% endmacro %}
{% macro json_ld(data) %}{% endmacro %}
"""


def test_a_site_with_its_own_macros_file_keeps_the_themes_header_and_footer(
    scratch: Scratch,
) -> None:
    """A site's `_macros.html` written before the theme's header and footer became macros
    (they live in `_site.html`) still builds, with its own story lists."""
    scratch.config("lead_stories = 0\n")  # top stories are the theme's _front.html
    scratch.add("2026-11-18-story.md", title="Ferry timetable changes")
    scratch.template("_macros.html", OWN_MACROS)
    scratch.build()
    front = parse(scratch.output / "index.html")
    assert front.select_one("header.site-header nav a").get_text() == "Latest"
    assert front.select_one("footer.site-footer")
    assert front.select_one("ul.own-list a").get_text() == "Ferry timetable changes"
    # Its json_ld macro writes nothing: the theme's pages follow it.
    assert front.select('script[type="application/ld+json"]') == []
    assert article_page(scratch).select('script[type="application/ld+json"]') == []


def test_topic_template_overrides_term_for_topics_only(scratch: Scratch) -> None:
    scratch.add("2026-11-18-story.md", topics=("Rail",), provider="Civic Lantern")
    scratch.template(
        "topic.html",
        '{% extends "base.html" %}{% block main %}<h1 class="topic-own">{{ term.name }}</h1>'
        "{% endblock %}",
    )
    scratch.build()
    topic = parse(scratch.output / "topics/rail/index.html")
    provider = parse(scratch.output / "providers/civic-lantern/index.html")
    assert topic.select_one("h1.topic-own").get_text() == "Rail"
    assert provider.select("h1.topic-own") == []
    assert provider.select_one("header.term-header h1").get_text(strip=True) == "Civic Lantern"
    assert parse(scratch.output / "topics/index.html").select("ul.term-list")  # terms.html kept


# Escaping ----------------------------------------------------------------------------

HOSTILE = [
    '<script>alert("title")</script>',
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(2)",
    "{{ 7 * 7 }} {% if true %}jinja{% endif %}",
    "</title><script>alert(3)</script>",
]


@pytest.fixture
def hostile_site(scratch: Scratch) -> Scratch:
    """Hostile titles, topics and providers; excerpts entity-encoded, so they decode to tags."""
    for n, text in enumerate(HOSTILE):
        scratch.add(
            f"2026-11-{10 + n}-hostile-{n}.md",
            record_text(
                title="placeholder",
                when=f"2026-11-{10 + n}T09:00:00Z",
                topics=(f"topic-{n}",),
                provider=f"provider-{n}",
                extra="images:\n  - url: /images/a.svg\n    width: 10\n    height: 10\n",
            )
            .replace('title: "placeholder"', f"title: {json.dumps(text)}")
            .replace(
                'excerpt: "Excerpt of placeholder."', f"excerpt: {json.dumps(html.escape(text))}"
            )
            .replace(f"  - topic-{n}", f"  - {json.dumps(text)}")
            .replace(f"  name: provider-{n}", f"  name: {json.dumps(text + ' desk')}"),
        )
    (scratch.root / "static/images").mkdir(parents=True)
    (scratch.root / "static/images/a.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    report = scratch.build()
    assert report.skipped == 0, [str(d) for d in report.diagnostics]
    return scratch


def injected(soup: BeautifulSoup) -> list[str]:
    """Elements or attributes that only an injection could have produced."""
    found = [
        f"<{tag.name}>"
        for tag in soup.find_all(["script", "iframe", "object", "embed"])
        # The theme's own: JSON-LD data (its escaping is tested in test_metadata) and the
        # search page's scripts from the site itself.
        if not (tag.name == "script" and _theme_script(tag))
    ]
    found += [
        f"<{tag.name} {attr}>"
        for tag in soup.find_all(True)
        for attr in tag.attrs
        if attr.startswith("on") or attr in ("x", "true")
    ]
    found += [f"<img src={img['src']}>" for img in soup.find_all("img") if img.get("src") == "x"]
    return found


def _theme_script(tag: Tag) -> bool:
    if tag.get("type") == "application/ld+json":
        return True
    src = tag.get("src") or ""
    return src.startswith("/") and not src.startswith("//") and src.endswith(".js")


def test_hostile_text_is_escaped_on_every_page(hostile_site: Scratch) -> None:
    pages = html_files(hostile_site.output)
    assert len(pages) >= 15  # front, 5 articles, 2 indexes, 5 topics, 5 providers, 404
    for page in pages:
        assert injected(parse(page)) == [], page


def test_hostile_text_is_shown_as_text(hostile_site: Scratch) -> None:
    articles = sorted((hostile_site.output / "news").rglob("index.html"))
    shown = set()
    for page in articles:
        soup = parse(page)
        title = soup.find("h1").get_text()
        shown.add(title)
        assert soup.title.get_text().startswith(title)
        assert soup.select_one("p.lead").get_text() == title
        assert soup.select_one(".story-image img")["alt"] == ""  # the headline is above it
    assert shown == set(HOSTILE)
    topic_pages = (hostile_site.output / "topics").glob("*/index.html")
    topics = {parse(p).find("h1").get_text(strip=True) for p in topic_pages}
    assert topics == set(HOSTILE)


def test_templates_escape_output_unless_autoescape_is_switched_off() -> None:
    env = make_env(SiteConfig(), None)
    template = env.from_string(
        "{{ x }}|{{ m }}|{% set s %}{{ x }}{% endset %}{{ s }}|{{ n }}"
        "|{% autoescape false %}{{ x }}{% endautoescape %}|{{ x ~ m }}"
    )
    assert "escape_text(" in env.compile("{{ x }}", raw=True)  # masthead's code, not Jinja's
    out = template.render(x="<a href='x'>&</a>", m=Markup("<em>ok</em>"), n=3)
    escaped = "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
    expected = f"{escaped}|<em>ok</em>|{escaped}|3|<a href='x'>&</a>|{escaped}<em>ok</em>"
    assert out == expected


def test_compiled_templates_are_cached_apart_from_jinjas_own(scratch: Scratch) -> None:
    """Code from masthead's code generator imports escape_text from masthead.upstream: a
    cache folder shared with a masthead that compiles with Jinja's own, or imports it
    from elsewhere, must keep them apart."""
    scratch.add("2026-11-18-story.md", title="Cached")
    assert not scratch.build().failed
    (folder,) = (scratch.root / ".masthead-cache").glob("config-*/templates")  # one config
    cached = sorted(p.name for p in folder.iterdir())
    assert cached and all(n.startswith("__masthead_upstream_escape_text_") for n in cached)


# Sub-path ----------------------------------------------------------------------------


def test_every_internal_link_honours_a_base_url_sub_path(scratch: Scratch) -> None:
    scratch.config('base_url = "https://example.org/digest/"\npage_size = 2\n')
    (scratch.root / "static/images").mkdir(parents=True)
    (scratch.root / "static/images/logo.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg'/>"
    )
    image = "images:\n  - url: /images/logo.svg\n    width: 10\n    height: 10\n"
    for day in range(10, 15):
        scratch.add(
            f"2026-11-{day}-story-{day}.md",
            title=f"Story {day}",
            when=f"2026-11-{day}T09:00:00Z",
            url=f"https://ledger.example/story-{day}",
            topics=("Rail", "Budget"),
            provider="Civic Lantern" if day % 2 else "Harbour Ledger",
            extra=image,
        )
    scratch.add(
        "2026-11-16-linking.md",
        title="Linking story",
        when="2026-11-16T09:00:00Z",
        extra="related:\n  - title: Story 10\n    webUrl: https://ledger.example/story-10\n",
    )
    scratch.build()
    assert broken_links(scratch.output, "/digest/") == []
    hrefs = [
        a["href"]
        for page in html_files(scratch.output)
        for a in parse(page).find_all("a", href=True)
    ]
    rooted = [h for h in hrefs if h.startswith("/")]
    assert len(rooted) > 50 and all(h.startswith("/digest/") for h in rooted)
    linking = parse(scratch.output / "news/2026/11/16/linking/index.html")
    [related] = linking.select(".related-item a")
    assert related["href"] == "/digest/news/2026/11/10/story-10/"
    canonical = linking.find("link", rel="canonical")["href"]
    assert canonical == "https://example.org/digest/news/2026/11/16/linking/"


# Template errors ---------------------------------------------------------------------

BROKEN = """{% extends "base.html" %}
{% block main %}
<p>fine so far</p>
{% if %}
{% endblock %}
"""


def test_template_syntax_error_names_file_and_line(scratch: Scratch) -> None:
    scratch.add("2026-11-18-story.md")
    scratch.template("article.html", BROKEN)
    with pytest.raises(TemplateError) as caught:
        scratch.build()
    assert str(caught.value).startswith(f"{scratch.root / 'templates' / 'article.html'}:4: ")


def test_template_runtime_error_names_file_and_line(scratch: Scratch) -> None:
    scratch.add("2026-11-18-story.md")
    scratch.template("article.html", BROKEN.replace("{% if %}", "{{ article.no_such_field }}"))
    with pytest.raises(TemplateError) as caught:
        scratch.build()
    assert "article.html:4: " in str(caught.value)
    assert "no_such_field" in str(caught.value)


def test_a_template_error_names_the_template_from_the_site_folder(scratch: Scratch) -> None:
    """`cd mysite && masthead build`: templates/article.html:4, as records are named."""
    scratch.add("2026-11-18-story.md")
    for broken, said in (
        (BROKEN, "templates/article.html:4: Expected an expression"),
        (BROKEN.replace("{% if %}", "{{ 1 // 0 }}"), "templates/article.html:4: ZeroDivision"),
        # Named as a template's author knows it, not by masthead's module.
        (
            BROKEN.replace("{% if %}", "{{ article.record.nosuch.deeper }}"),
            "templates/article.html:4: 'Record' has no attribute 'nosuch'",
        ),
    ):
        scratch.template("article.html", broken)
        for lines in build_and_check(scratch.root, code=1):
            # build says "error: " before it, check lists it
            assert lines[0].removeprefix("error: ").startswith(said), lines


def test_failed_template_exits_1_and_leaves_the_previous_output(
    scratch: Scratch, capsys: pytest.CaptureFixture[str]
) -> None:
    scratch.add("2026-11-18-story.md", title="First version")
    assert main(["build", "--site", str(scratch.root)]) == 0
    before = snapshot(scratch.output)
    scratch.add("2026-11-18-story.md", title="Second version")
    scratch.add("2026-11-19-another.md", title="Another", when="2026-11-19T09:00:00Z")
    scratch.template("article.html", BROKEN)
    capsys.readouterr()
    assert main(["build", "--site", str(scratch.root)]) == 1
    err = capsys.readouterr().err
    assert f"{Path('templates') / 'article.html'}:4:" in err
    assert "Traceback" not in err
    assert snapshot(scratch.output) == before
    assert "First version" in article_page(scratch).find("h1").get_text()
