"""Year and month archives: the articles by calendar, in the site's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from masthead.model.site import Article, Site
from masthead.urls import month_url, year_url


@dataclass(frozen=True, slots=True)
class MonthInfo:
    """A month as lists of months show it: its name and size, not its stories."""

    year: int
    month: int
    url: str
    count: int

    @property
    def title(self) -> str:
        return f"{date(self.year, self.month, 1):%B %Y}"

    @property
    def name(self) -> str:
        return f"{date(self.year, self.month, 1):%B}"


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int
    url: str
    articles: tuple[Article, ...]
    """Newest first, as everywhere else."""

    @property
    def info(self) -> MonthInfo:
        return MonthInfo(self.year, self.month, self.url, len(self.articles))


@dataclass(frozen=True, slots=True)
class YearInfo:
    """A year with its months' names and sizes: what the archive and year pages show."""

    year: int
    url: str
    months: tuple[MonthInfo, ...]
    """Newest first; only months that have stories."""

    @property
    def title(self) -> str:
        return f"{self.year:04d}"

    @property
    def count(self) -> int:
        return sum(m.count for m in self.months)


@dataclass(frozen=True, slots=True)
class Year:
    year: int
    url: str
    months: tuple[Month, ...]
    """Newest first; only months that have stories."""

    @property
    def info(self) -> YearInfo:
        return YearInfo(self.year, self.url, tuple(m.info for m in self.months))


def build_archive(site: Site) -> tuple[Year, ...]:
    """Years newest first, each with its months; articles keep the site's order."""
    months: dict[tuple[int, int], list[Article]] = {}
    for article in site.articles:
        months.setdefault((article.date.year, article.date.month), []).append(article)
    years: dict[int, list[Month]] = {}
    for (y, m), items in sorted(months.items(), reverse=True):
        years.setdefault(y, []).append(Month(y, m, month_url(site.config, y, m), tuple(items)))
    return tuple(Year(y, year_url(site.config, y), tuple(ms)) for y, ms in years.items())
