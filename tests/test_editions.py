"""Daily editions in the site's timezone, the front page's lead, and the year/month archive."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.htmlcheck import broken_links, parse
from tests.newsroom import (
    BASE_PATH,
    LEAD_STORIES,
    STORIES,
    UNTAGGED_TITLE,
    Story,
    build_newsroom,
)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_newsroom(tmp_path_factory.mktemp("editions") / "site", search=False)


def _open(output: Path, href: str) -> BeautifulSoup:
    assert href.startswith(BASE_PATH), href
    return parse(output / href[len(BASE_PATH) :] / "index.html")


def _editions(output: Path) -> dict[date, str]:
    """Edition links of the editions index: day -> href, in page order."""
    index = parse(output / "editions" / "index.html")
    return {
        date.fromisoformat(a.time["datetime"]): a["href"]
        for a in index.select("main a.edition-day")
    }


def _titles(soup: BeautifulSoup) -> list[str]:
    return [h.get_text(strip=True) for h in soup.select(".card-title")]


def _days() -> dict[date, set[str]]:
    days: dict[date, set[str]] = {date(2026, 1, 15): {UNTAGGED_TITLE}}
    for story in STORIES:
        days.setdefault(story.day, set()).add(story.title)
    return days


def test_a_story_at_2330_utc_is_in_the_next_days_edition_of_a_utc_plus_2_site(
    output: Path,
) -> None:
    editions = _editions(output)
    late = "Late council vote approves cycle lanes"  # 2026-03-09T23:30Z
    assert late in _titles(_open(output, editions[date(2026, 3, 10)]))
    assert late not in _titles(_open(output, editions[date(2026, 3, 9)]))
    # 21:00 UTC is still 23:00 on the ninth.
    assert "Night ferry timetable returns" in _titles(_open(output, editions[date(2026, 3, 9)]))
    # And the year turns two hours early.
    assert "New Year ferry runs past midnight" in _titles(_open(output, editions[date(2026, 1, 1)]))


def test_one_edition_per_day_with_exactly_that_days_stories(output: Path) -> None:
    editions = _editions(output)
    expected = _days()
    assert list(editions) == sorted(expected, reverse=True)
    for day, href in editions.items():
        titles = _titles(_open(output, href))
        assert Counter(titles) == Counter(expected[day]), day


def test_the_editions_index_groups_days_by_month(output: Path) -> None:
    index = parse(output / "editions" / "index.html")
    months = [
        (s.h2.get_text(strip=True), len(s.select("li"))) for s in index.select("main section")
    ]
    assert months == [("March 2026", 2), ("January 2026", 2), ("December 2025", 1)]


def test_an_edition_groups_by_topic_and_ranks_by_quality_then_heat(output: Path) -> None:
    page = _open(output, _editions(output)[date(2026, 3, 10)])
    sections = [
        (s.h2.get_text(strip=True), _titles(s)) for s in page.select("section.edition-section")
    ]
    hostile = next(s.title for s in STORIES if s.file == "2026-03-10-hostile.md")
    assert sections == [
        # Each story once, under its narrowest topic (fewest stories on the whole site):
        # the vote is Transport (3 stories) and Local Government (2).
        ("Local Government", ["Late council vote approves cycle lanes"]),  # quality 90
        # Quality 60 and heat 30 for both: the newer first; quality 30 after.
        ("Science", ["Cartoon archive opens its drawers", "River survey filmed from a drone"]),
        # Same quality; known heat 30 before unknown heat (-1).
        ("Health", [hostile, "Clinic opening hours extended"]),
    ]


def test_stories_without_topics_close_the_edition(output: Path) -> None:
    page = _open(output, _editions(output)[date(2026, 1, 15)])
    headings = [h.get_text(strip=True) for h in page.select("section.edition-section h2")]
    assert headings == ["Other stories"]


def test_editions_link_to_the_previous_and_next_day_that_have_stories(output: Path) -> None:
    days = sorted(_editions(output).items())
    for i, (day, href) in enumerate(days):
        page = _open(output, href)
        prev = {a["href"] for a in page.select("a[rel=prev]")}
        nxt = {a["href"] for a in page.select("a[rel=next]")}
        assert prev == ({days[i - 1][1]} if i > 0 else set()), day
        assert nxt == ({days[i + 1][1]} if i + 1 < len(days) else set()), day


def _rank(story: Story) -> tuple[int, int, float]:
    return (-story.quality, -max(story.heat, -1), -story.published.timestamp())


def test_the_front_page_leads_with_the_best_recent_stories_each_once(output: Path) -> None:
    """The rule in coverage.top_stories: of the stories of the 72 hours before the newest
    (at least the 12 newest), the best by quality, then heat, then recency."""
    home = parse(output / "index.html")
    lead = home.select_one("section.edition-lead")
    assert lead is not None
    newest = sorted(STORIES, key=lambda s: s.published, reverse=True)
    since = newest[0].published - timedelta(hours=72)
    pool = [s for i, s in enumerate(newest) if i < 12 or s.published >= since]
    expected = [s.title for s in sorted(pool, key=_rank)[:LEAD_STORIES]]
    assert [h.get_text(strip=True) for h in lead.select(".top .card-title")] == expected
    assert lead.select_one(".top-lead .card-title").get_text(strip=True) == expected[0]
    # The latest list goes on with every other story, newest first, none of them twice.
    listed = [h.get_text(strip=True) for h in home.select("section.latest .card-title")]
    assert not set(listed) & set(expected)
    rest = [s.title for s in newest if s.title not in expected]
    assert listed == rest[: len(listed)]
    # Page two of the front page is a plain list.
    assert parse(output / "page" / "2" / "index.html").select("section.edition-lead") == []


def test_the_editions_index_shows_each_days_top_headline_and_count(output: Path) -> None:
    index = parse(output / "editions" / "index.html")
    for row in index.select("ol.edition-days > li"):
        day = date.fromisoformat(row.select_one("a.edition-day time")["datetime"])
        stories = sorted((s for s in STORIES if s.day == day), key=_rank)
        count = len(_days()[day])
        assert row.select_one(".count").get_text(strip=True).startswith(f"{count} stor"), day
        if stories:
            assert row.select_one(".edition-top a").get_text(strip=True) == stories[0].title, day


def test_year_and_month_archives(output: Path) -> None:
    archive = parse(output / "archive" / "index.html")
    years = [a.get_text(strip=True) for a in archive.select("main h2 a")]
    assert years == ["2026", "2025"]
    # The untagged notice (15 January) is the newest story of January.
    by_month: dict[tuple[int, int], list[str]] = {(2026, 1): [UNTAGGED_TITLE]}
    for story in sorted(STORIES, key=lambda s: s.published, reverse=True):
        day = story.day
        by_month.setdefault((day.year, day.month), []).append(story.title)
    for year_link in archive.select("main h2 a"):
        year_page = _open(output, year_link["href"])
        assert year_page.h1.get_text(strip=True) == year_link.get_text(strip=True)
        for month_link in year_page.select("main ul.term-list a"):
            titles, href = [], month_link["href"]
            while href:  # follow the month's pagination
                page = _open(output, href)
                titles += _titles(page)
                nxt = page.select_one("a[rel=next]")
                href = nxt["href"] if nxt else None
            key = (int(year_link.get_text()), _month_number(month_link.get_text()))
            assert titles == by_month.pop(key), key
    assert by_month == {}


def _month_number(name: str) -> int:
    names = ["January", "February", "March", "April", "May", "June", "July", "August"]
    names += ["September", "October", "November", "December"]
    return names.index(name.strip()) + 1


def test_no_broken_links(output: Path) -> None:
    assert broken_links(output, BASE_PATH) == []
