"""Daily editions: each day's stories, in the site's timezone, ranked and grouped by topic.

Like the site model, this knows nothing of files or HTML: it only regroups articles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from masthead.model.site import Article, Site, TermRef
from masthead.urls import edition_url


@dataclass(frozen=True, slots=True)
class EditionSection:
    """One topic's part of an edition; `topic` is None for stories without topics."""

    topic: TermRef | None
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class EditionInfo:
    """An edition as the list of editions shows it: its day and size, not its stories."""

    day: date
    url: str
    count: int
    lead: Article | None = None
    """The day's best story, for a headline beside the date."""

    @property
    def title(self) -> str:
        return f"{self.day.day} {self.day:%B %Y}"


@dataclass(frozen=True, slots=True)
class Edition:
    day: date
    url: str
    articles: tuple[Article, ...]
    """That day's stories, best first (see `rank_key`)."""
    sections: tuple[EditionSection, ...]
    previous: date | None = None
    """The closest earlier day that has an edition."""
    previous_url: str | None = None
    next: date | None = None
    """The closest later day that has an edition."""
    next_url: str | None = None

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def info(self) -> EditionInfo:
        return EditionInfo(self.day, self.url, len(self.articles), self.articles[0])


@dataclass(frozen=True, slots=True)
class EditionMonth:
    """The editions of one calendar month, for the list of all editions."""

    year: int
    month: int
    editions: tuple[EditionInfo, ...]

    @property
    def title(self) -> str:
        return f"{date(self.year, self.month, 1):%B %Y}"


def rank_key(article: Article) -> tuple[int, int, float, str, str]:
    """Best first: higher quality, then higher heat (unknown heat last), then newest."""
    heat = article.record.heat
    known_heat = heat if heat is not None and heat >= 0 else -1
    return (
        -article.record.quality,
        -known_heat,
        -article.record.published_at.timestamp(),
        article.slug,
        article.record.path,
    )


def build_editions(site: Site) -> tuple[Edition, ...]:
    """One edition per day that has stories, newest first, each linked to its neighbours."""
    days: dict[date, list[Article]] = defaultdict(list)
    for article in site.articles:
        days[article.date.date()].append(article)
    sizes = {t.ref.slug: len(t.articles) for t in site.taxonomy("topics").terms}
    ordered = sorted(days, reverse=True)
    editions = []
    for i, day in enumerate(ordered):
        ranked = tuple(sorted(days[day], key=rank_key))
        older = ordered[i + 1] if i + 1 < len(ordered) else None
        newer = ordered[i - 1] if i > 0 else None
        editions.append(
            Edition(
                day=day,
                url=edition_url(site.config, day),
                articles=ranked,
                sections=_sections(ranked, sizes),
                previous=older,
                previous_url=edition_url(site.config, older) if older else None,
                next=newer,
                next_url=edition_url(site.config, newer) if newer else None,
            )
        )
    return tuple(editions)


def _sections(ranked: Sequence[Article], sizes: dict[str, int]) -> tuple[EditionSection, ...]:
    """Each story once, under its most specific topic (the one with the fewest stories).

    A broad topic that nearly every story shares would otherwise swallow the edition
    into one section; the narrowest topic is the most telling heading. Sections follow
    their best story; stories without topics come last.
    """
    groups: dict[TermRef | None, list[Article]] = {}
    for article in ranked:
        topic = min(article.topics, key=lambda t: sizes.get(t.slug, 0), default=None)
        groups.setdefault(topic, []).append(article)
    titled = [EditionSection(t, tuple(items)) for t, items in groups.items() if t is not None]
    untitled = [EditionSection(None, tuple(groups[None]))] if None in groups else []
    return (*titled, *untitled)


def editions_by_month(editions: Sequence[Edition]) -> tuple[EditionMonth, ...]:
    """Group editions (newest first) into calendar months, newest month first."""
    months: dict[tuple[int, int], list[EditionInfo]] = {}
    for edition in editions:
        months.setdefault((edition.day.year, edition.day.month), []).append(edition.info)
    return tuple(EditionMonth(y, m, tuple(items)) for (y, m), items in months.items())
