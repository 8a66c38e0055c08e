"""URL fields, Markdown links and embeds: what survives, what is dropped, and the scanner itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from masthead.records.embeds import sanitize_embed
from masthead.records.loader import _markdown
from masthead.records.safeurl import safe_link, safe_url
from tests.outputscan import scan_output

HOSTS = ("www.youtube.com", "player.vimeo.com")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "   javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "javascript\x00:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript:alert(1)",
        "&#0000106avascript:alert(1)",
        "javascript&colon;alert(1)",
        "&Tab;javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:image/png;base64,AAAA",
        "file:///etc/passwd",
        "ftp://files.example/a",
        "mailto:someone@example.org",
        "//evil.example/x",
        "/\\evil.example/x",
        "\\\\evil.example\\x",
        "/\t/evil.example",
        "https:evil.example",
        "https://",
        'https://ok.example/"onmouseover="alert(1)',
        "https://ok.example/<script>",
        "https://ok.example/a b",
        "https://ok.example/\u2028x",
        "https://" + "a" * 5000 + ".example/",
        "",
        "relative/path",
    ],
)
def test_unsafe_urls_are_dropped(url: str) -> None:
    assert safe_url(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/2026/11/story?id=7&ref=feed#top",
        "http://news.example/",
        "HTTPS://News.Example/Path",
        "/news/2026/11/18/local-story/",
        "https://xn--bcher-kva.example/",
        "https://news.example/%3Cencoded%3E",
    ],
)
def test_safe_urls_are_kept(url: str) -> None:
    assert safe_url(url) == url
    assert safe_url(f"  {url}\n") == url


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://a.example/", True),
        ("mailto:a@b.example", True),
        ("other-page/", True),
        ("#section", True),
        ("/news/", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("java%09script:alert(1)", False),
        # A browser reads this as a relative path; percent-decoded it is javascript:, so it goes.
        ("%6Aavascript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("vbscript:x", False),
        ("ms-settings:x", False),
    ],
)
def test_markdown_link_schemes(link: str, ok: bool) -> None:
    assert safe_link(link) is ok


def test_markdown_bodies_render_bad_links_as_text() -> None:
    html = _markdown().render(
        "[a](javascript:alert(1)) [b](java&#x09;script:x) ![c](data:image/png;base64,AA) "
        "<b onclick=x>raw</b> [ok](https://ok.example/)"
    )
    soup = BeautifulSoup(html, "html5lib")
    assert [a["href"] for a in soup.find_all("a")] == ["https://ok.example/"]
    assert soup.find("img") is None and soup.find("b") is None


@pytest.mark.parametrize(
    "markup",
    [
        '<iframe src="javascript:alert(1)"></iframe>',
        '<iframe src="http://www.youtube.com/embed/x"></iframe>',
        '<iframe src="https://evil.example/embed/x"></iframe>',
        '<iframe src="https://www.youtube.com.evil.example/embed/x"></iframe>',
        '<iframe src="https://evil.example\\@www.youtube.com/embed/x"></iframe>',
        '<iframe src="https://user@www.youtube.com/embed/x"></iframe>',
        '<iframe src="//www.youtube.com/embed/x"></iframe>',
        '<iframe src="https://www.you&#x09;tube.com/embed/x"></iframe>',
        '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
        '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>',
        "<script>alert(1)</script>",
        '<object data="https://www.youtube.com/embed/x"></object>',
        '<embed src="https://www.youtube.com/embed/x">',
        '<svg><iframe src="https://www.youtube.com/embed/x"></iframe></svg>',
        '<a href="https://www.youtube.com/embed/x">link</a>',
        "just text",
    ],
)
def test_embeds_without_an_allowed_iframe_become_nothing(markup: str) -> None:
    assert sanitize_embed(markup, HOSTS) == ""


def test_allowed_iframe_is_rebuilt_from_a_fixed_attribute_set() -> None:
    markup = (
        '<p>before</p><IFRAME SRC=" https://player.vimeo.com/video/7?h=a&amp;b=c " '
        'width="640" height="100%" style="position:fixed" onload="alert(1)" '
        'srcdoc="<b>x</b>" sandbox="" name="x" allow="camera *; autoplay; fullscreen; microphone" '
        'title="A &quot;quoted&quot; &lt;title&gt;" allowfullscreen referrerpolicy="origin">'
        "</IFRAME><script>alert(2)</script>"
    )
    html = sanitize_embed(markup, HOSTS)
    frames = BeautifulSoup(html, "html5lib").find_all("iframe")
    assert len(frames) == 1
    assert frames[0].attrs == {
        "src": "https://player.vimeo.com/video/7?h=a&b=c",
        "width": "640",
        "allow": "autoplay; fullscreen",
        "title": 'A "quoted" <title>',
        "allowfullscreen": "",
        "referrerpolicy": "origin",
        "loading": "lazy",
    }
    assert "<script" not in html and "&lt;title&gt;" in html


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("a.html", "<p><script>alert('MHXSS')</script></p>", "injected <script>"),
        ("a.html", "<img src=x onerror=\"alert('MHXSS')\">", "event handler onerror"),
        ("a.html", "<a href='jav&#x09;ascript:alert(1)'>x</a>", "unsafe URL href"),
        ("a.html", "<a href=' JAVASCRIPT:alert(1)'>x</a>", "unsafe URL href"),
        ("a.html", "<iframe src='https://evil.example/'></iframe>", "off the allowlist"),
        ("a.html", "<iframe src='https://www.youtube.com/e' srcdoc='x'></iframe>", "srcdoc"),
        ("a.html", "<iframe src='https://www.youtube.com/e' style='x'></iframe>", "fixed set"),
        ("a.html", "<a href='/MHXSS'>x</a>", "marker in href"),
        ("a.html", "<p><!-- MHXSS --></p>", "marker inside a comment"),
        ("a.html", "<mhxss-x></mhxss-x>", "injected element"),
        ("a.html", "<style>p{background:url(MHXSS)}</style>", "marker inside <style>"),
        ("a.html", "<object data='x'></object>", "<object> element"),
        (
            "a.html",
            '<script type="application/ld+json">{"name": "</script><b>MHXSS"}</script>',
            "JSON-LD that is not valid JSON",
        ),
        (
            "a.html",
            '<script type="application/ld+json">{"name": "<b>MHXSS</b>"}</script>',
            "raw '<'",
        ),
        ("feed.xml", "<rss><channel><title>x</title>", "not well-formed XML"),
        ("feed.xml", "<rss><link>javascript:alert(1)</link></rss>", "unsafe URL"),
        (
            "feed.xml",
            "<feed><content type='html'>&lt;img src=x onerror=MHXSS&gt;</content></feed>",
            "event handler onerror",
        ),
        (
            "feed.xml",
            "<rss><description>&lt;script&gt;MHXSS&lt;/script&gt;</description></rss>",
            "<script>",
        ),
        ("feed.json", '{"items": [{"url": "javascript:alert(1)"}]}', "unsafe URL"),
        ("feed.json", '{"items": [{"content_html": "<svg onload=MHXSS>"}]}', "event handler"),
        ("feed.json", "{not json", "not valid JSON"),
        ("assets/site.css", "body { content: 'MHSECRET-1' }", "secured blob"),
        ("assets/site.js", "var x = 'MHXSS';", "record text in a .js file"),
        ("robots.txt", "Sitemap: javascript:alert(1)", "javascript: URL"),
    ],
)
def test_the_scanner_catches_each_kind_of_leak(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    _write(tmp_path, name, text)
    problems = scan_output(tmp_path, HOSTS)
    assert any(expected in p for p in problems), problems


def test_the_scanner_accepts_escaped_text_and_safe_markup(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "ok.html",
        "<title>&lt;script&gt;MHXSS&lt;/script&gt;</title>"
        '<img alt="&quot; onerror=&quot;MHXSS" src="https://img.example/a.png">'
        '<iframe src="https://www.youtube.com/embed/x" title="MHXSS" loading="lazy"></iframe>'
        '<script type="application/ld+json">{"name": "\\u003cscript\\u003eMHXSS"}</script>'
        '<a href="mailto:a@b.example">mail</a>',
    )
    _write(tmp_path, "feed.xml", "<feed><title>&lt;script&gt;MHXSS</title></feed>")
    _write(
        tmp_path, "feed.json", '{"title": "<script>MHXSS</script>", "url": "https://a.example/"}'
    )
    assert scan_output(tmp_path, HOSTS) == []
