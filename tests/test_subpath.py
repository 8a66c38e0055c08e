"""A site built for https://example.org/digest/ works when a server publishes it at /digest/."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.urls import url_for_output
from tests.conftest import Scratch, record_text
from tests.crawl import crawl, serve_under
from tests.htmlcheck import parse

PREFIX = "/digest/"
IMAGE = "/images/harbour.png"


def _site(scratch: Scratch) -> Scratch:
    scratch.config(
        """\
        title = "Sub-path digest"
        base_url = "https://example.org/digest/"
        page_size = 2
        """
    )
    picture = f"images:\n  - url: {IMAGE}\n    width: 640\n    height: 360\n"
    first_url = "https://news.example/ferry-timetable"
    scratch.add(
        "2026-11-18-ferry-timetable.md",
        title="Winter ferry timetable announced",
        url=first_url,
        topics=("Transport", "Islands"),
        extra=picture,
    )
    scratch.add(
        "2026-11-19-harbour-wall.md",
        record_text(
            title="Harbour wall repairs begin",
            when="2026-11-19T08:00:00Z",
            topics=("Climate",),
            provider="Bay Courier",
            extra=(
                picture + "related:\n  - title: Winter ferry timetable announced\n"
                f"    webUrl: {first_url}\n"
            ),
            body=(
                f"Crews arrived at dawn. See [all climate stories](/topics/climate/) "
                f"and the [ferry news]({first_url}).\n\n![The harbour]({IMAGE})\n"
            ),
        ),
    )
    for day in range(20, 24):
        scratch.add(
            f"2026-11-{day}-market-{day}.md",
            title=f"Market day number {day}",
            when=f"2026-11-{day}T10:00:00Z",
            topics=("Economy", "Islands"),
            provider="Harbour Ledger" if day % 2 else "Bay Courier",
        )
    (scratch.root / "static" / "images").mkdir(parents=True)
    (scratch.root / "static" / "images" / "harbour.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    return scratch


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = _site(Scratch(tmp_path_factory.mktemp("subpath") / "site"))
    report = scratch.build()
    assert not report.failed and report.skipped == 0
    return scratch.output


def test_every_internal_link_resolves_when_served_under_the_prefix(built: Path) -> None:
    with serve_under(built, PREFIX) as root:
        seeds = [root] + [
            root + url_for_output(p.relative_to(built).as_posix()).lstrip("/")
            for p in sorted(built.rglob("*"))
            if p.is_file() and not p.name.startswith(".masthead")
        ]
        result = crawl(seeds, public_origin="https://example.org")
    assert result.broken == []
    html_pages = [u for u, ctype in result.fetched.items() if ctype == "text/html"]
    assert len(html_pages) == len(list(built.rglob("*.html")))
    # The crawl really went through stylesheets and images, not only pages.
    assert any(ctype == "text/css" for ctype in result.fetched.values())
    assert any(u.endswith(IMAGE.lstrip("/")) for u in result.fetched)


def test_the_crawler_notices_a_link_without_the_prefix(built: Path, tmp_path: Path) -> None:
    """Guards the test above: a link that forgets /digest/ is reported, though the file exists."""
    page = tmp_path / "index.html"
    page.write_text('<a href="/topics/">topics</a><a href="#nowhere">x</a>', encoding="utf-8")
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "index.html").write_text("<p>ok</p>", encoding="utf-8")
    with serve_under(tmp_path, PREFIX) as root:
        result = crawl([root], public_origin="https://example.org")
    assert len(result.broken) == 2
    assert any("/topics/: HTTP 404" in b for b in result.broken)


def test_body_links_and_canonical_urls_carry_the_prefix(built: Path) -> None:
    article = next(p for p in built.rglob("index.html") if "harbour-wall" in p.as_posix())
    soup = parse(article)
    body = soup.select_one(".body")
    assert body is not None
    assert body.find("a", string="all climate stories")["href"] == "/digest/topics/climate/"
    assert body.find("img")["src"] == "/digest" + IMAGE
    canonical = soup.find("link", rel="canonical")["href"]
    assert canonical.startswith("https://example.org/digest/news/")
