"""A small made-up news site for the distribution tests (feeds, editions, metadata, search).

The stories are data, so tests derive what they expect from the inputs rather than from
the program's output. The site is in UTC+2 (Africa/Johannesburg, no daylight saving):
a story at 23:30 UTC belongs to the next day there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from tests.conftest import Scratch

BASE_URL = "https://news.example.org/digest/"
BASE_PATH = "/digest/"
SITE_TZ = timezone(timedelta(hours=2))
FEED_SIZE = 3
API_PAGE_SIZE = 2
LEAD_STORIES = 2
HOSTILE = "Tom & Jerry </script><script>alert(1)</script> 'quoted' <b>bold</b>"


@dataclass(frozen=True)
class Story:
    file: str
    title: str
    when: str
    topics: tuple[str, ...]
    provider: str
    quality: int
    heat: int
    excerpt: str
    story_type: str = "article"
    image: str | None = None

    @property
    def published(self) -> datetime:
        return datetime.fromisoformat(self.when)

    @property
    def day(self) -> date:
        """The story's day in the site's timezone."""
        return self.published.astimezone(SITE_TZ).date()

    @property
    def original_url(self) -> str:
        return f"https://{self.provider.split()[0].lower()}.example/{self.file.removesuffix('.md')}"


STORIES = (
    Story(
        "2026-03-09-tidal-gauges.md",
        "Tidal gauge network expands along the estuary",
        "2026-03-09T08:00:00+00:00",
        ("Climate", "Science"),
        "Harbour Ledger",
        70,
        20,
        "Sensors will report salinity before the spring tides arrive.",
        image="https://img.example/tide.jpg",
    ),
    Story(
        "2026-03-09-night-ferry.md",
        "Night ferry timetable returns",
        "2026-03-09T21:00:00+00:00",
        ("Transport",),
        "Railside Weekly",
        40,
        5,
        "Operators say salinity damage kept two boats in dock over winter.",
    ),
    Story(
        "2026-03-09-late-council-vote.md",
        "Late council vote approves cycle lanes",
        "2026-03-09T23:30:00+00:00",
        ("Transport", "Local Government"),
        "Civic Lantern",
        90,
        50,
        "The vote came after midnight following a long debate on kerbside parking.",
    ),
    Story(
        "2026-03-10-clinic-hours.md",
        "Clinic opening hours extended",
        "2026-03-10T10:00:00+00:00",
        ("Health",),
        "Pulse & Ward",
        60,
        -1,
        "Three clinics will open until eight in the evening from April.",
        image="/images/clinic.svg",
    ),
    Story(
        "2026-03-10-hostile.md",
        HOSTILE,
        "2026-03-10T12:00:00+00:00",
        ("Health", "Science"),
        "Harbour Ledger",
        60,
        30,
        "A title made to break out of script elements & feeds.",
    ),
    Story(
        "2026-03-10-cartoon-archive.md",
        "Cartoon archive opens its drawers",
        "2026-03-10T14:00:00+00:00",
        ("Science",),
        "Fieldnote Wire",
        60,
        30,
        "Curators scanned four thousand drawings.",
    ),
    Story(
        "2026-03-10-river-survey.md",
        "River survey filmed from a drone",
        "2026-03-10T18:00:00+00:00",
        ("Science",),
        "Fieldnote Wire",
        30,
        8,
        "A short film follows the survey team upstream.",
        story_type="video",
    ),
    Story(
        "2025-12-31-new-year-ferry.md",
        "New Year ferry runs past midnight",
        "2025-12-31T22:30:00+00:00",
        ("Transport",),
        "Railside Weekly",
        20,
        2,
        "The last crossing of the year lands after midnight.",
    ),
    Story(
        "2025-12-31-year-review.md",
        "A year of harbour news in review",
        "2025-12-31T20:00:00+00:00",
        ("Local Government",),
        "Harbour Ledger",
        55,
        12,
        "The year's biggest stories from the harbour.",
    ),
)

UNTAGGED_TITLE = "Untagged notice from the port office"
UNTAGGED_WHEN = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
UNTAGGED = f"""---
title: "{UNTAGGED_TITLE}"
excerpt: "A notice that carries no topic and no provider."
publishedDateTime: {UNTAGGED_WHEN.isoformat()}
originalUrl: "https://port.example/notice"
quality: 10
---
"""


def by_newest() -> list[Story]:
    return sorted(STORIES, key=lambda s: s.published, reverse=True)


def all_titles() -> list[str]:
    """Every story's title, the untagged notice's too, newest first."""
    dated = [(s.published, s.title) for s in STORIES] + [(UNTAGGED_WHEN, UNTAGGED_TITLE)]
    return [title for _, title in sorted(dated, reverse=True)]


def write_newsroom(site: Scratch) -> None:
    site.config(
        f"""
        title = "Estuary & Harbour News"
        description = "Made-up news for tests."
        base_url = "{BASE_URL}"
        timezone = "Africa/Johannesburg"
        page_size = 2
        feed_size = {FEED_SIZE}
        api_page_size = {API_PAGE_SIZE}
        lead_stories = {LEAD_STORIES}
        """
    )
    for story in STORIES:
        extra = f'images:\n  - url: "{story.image}"\n    width: 800\n    height: 450\n'
        site.add(
            story.file,
            title=story.title,
            when=story.when,
            url=story.original_url,
            topics=story.topics,
            provider=story.provider,
            quality=story.quality,
            heat=story.heat,
            excerpt=story.excerpt,
            story_type=story.story_type,
            extra=extra if story.image else "",
        )
    site.add("2026-03-12-untagged.md", UNTAGGED)
    static = site.root / "static" / "images"
    static.mkdir(parents=True)
    (static / "clinic.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')


def build_newsroom(root: Path, **options: object) -> Path:
    """Write and build the newsroom under `root`; return the output folder."""
    site = Scratch(root)
    write_newsroom(site)
    report = site.build(**options)
    assert not report.failed and report.skipped == 0, report.diagnostics
    return site.output


def page_file(output: Path, absolute_url: str) -> Path:
    """The output file that serves an absolute URL of the newsroom."""
    assert absolute_url.startswith(BASE_URL), absolute_url
    rel = absolute_url[len(BASE_URL) :]
    return output / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)
