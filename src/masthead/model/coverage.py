"""What surrounds a story: the front page's top stories, and on a story's page the coverage
around it (related stories, more from its topic and its provider, the stories just before
and after it in time).

Everything here is chosen from the site's own order, deterministically, and looks only
at a story's neighbours in time within each of its terms: the cost grows with the number
of stories, not with its square, and adding a story changes the surroundings of its
neighbours only, so an incremental build re-renders a handful of pages, not a topic.
The plan puts what is chosen into each page's context, which makes it part of the page's
fingerprint.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import timedelta
from typing import Any

from masthead.model.editions import rank_key
from masthead.model.site import Article, Site, TermRef
from masthead.parallel import run_chunks

LEAD_WINDOW = timedelta(hours=72)
"""Top stories are chosen among the stories of the 72 hours before the newest one..."""
LEAD_POOL = 12
"""...or among the 12 newest stories, when those hours hold fewer."""
NEIGHBOURS = 6
"""How far before and after a story, in each of its terms, related stories are looked for."""
RELATED = 5
MORE = 4
AROUND_MIN = 20_000
"""Stories per process below which the plan works out every story's surroundings in
this process: a fork and the positions sent back cost more than they save."""


def top_stories(site: Site) -> tuple[Article, ...]:
    """The front page's lead and secondary stories (`lead_stories` of them, 0 for none).

    The rule: of the recent stories (LEAD_WINDOW, at least LEAD_POOL of them), the best
    by the editions' order: highest quality, then highest heat, then newest.
    """
    count = site.config.lead_stories
    if not count or not site.articles:
        return ()
    since = site.articles[0].record.published_at - LEAD_WINDOW
    pool = []
    for i, article in enumerate(site.articles):  # newest first
        if i >= LEAD_POOL and article.record.published_at < since:
            break
        pool.append(article)
    return tuple(sorted(pool, key=rank_key)[:count])


class Surroundings:
    """Each story's place in the site's order and in each of its terms' lists.

    Terms are looked up by URL, which is unique to a term: hashing a TermRef, a
    dataclass of four fields, costs a Python call each time, and the plan asks a few
    hundred thousand times at 10,000 stories."""

    def __init__(self, site: Site) -> None:
        self.articles = site.articles
        self.position = {a.record.path: i for i, a in enumerate(site.articles)}
        self.stamp = {a.record.path: a.record.published_at.timestamp() for a in site.articles}
        self.topics = {a.record.path: frozenset(t.url for t in a.topics) for a in site.articles}
        self.provider = {
            a.record.path: a.provider.url if a.provider else None for a in site.articles
        }
        self.members: dict[str, tuple[Article, ...]] = {}
        self.place: dict[str, dict[str, int]] = {}
        self.terms: dict[str, TermRef] = {}
        for taxonomy in site.taxonomies:
            for term in taxonomy.terms:
                self.terms[term.ref.url] = term.ref
                self.members[term.ref.url] = term.articles
                self.place[term.ref.url] = {a.record.path: i for i, a in enumerate(term.articles)}

    def newer_older(self, article: Article) -> tuple[Article | None, Article | None]:
        """The stories just before and after `article` in time (newer, older)."""
        i = self.position[article.record.path]
        newer = self.articles[i - 1] if i > 0 else None
        older = self.articles[i + 1] if i + 1 < len(self.articles) else None
        return newer, older

    def nearest(
        self, ref: TermRef, article: Article, count: int, exclude: Collection[str] = ()
    ) -> list[Article]:
        """Up to `count` of the term's other stories whose URL is not in `exclude`, nearest
        in time first (newer before older at a tie). Index steps, not a generator: the
        plan asks this a dozen times for every story of the site."""
        items, i = self.members[ref.url], self.place[ref.url][article.record.path]
        found: list[Article] = []
        if count <= 0:
            return found
        for step in range(1, len(items)):
            if i - step < 0 and i + step >= len(items):
                break
            for j in (i - step, i + step):
                if 0 <= j < len(items) and items[j].url not in exclude:
                    found.append(items[j])
                    if len(found) == count:
                        return found
        return found

    def related(
        self, article: Article, exclude: Collection[str] = (), limit: int = RELATED
    ) -> tuple[Article, ...]:
        """Stories like `article`, best first: shared topics count 3 each, the same
        provider 2, and a day apart costs a tenth; ties go to the nearer story in time."""
        provider = article.provider
        refs = [*article.topics, *([provider] if provider else [])]
        path = article.record.path
        topics, when, provider_url = self.topics[path], self.stamp[path], self.provider[path]
        stamp, topics_of, provider_of = self.stamp, self.topics, self.provider
        scored: dict[str, tuple[float, float, str, Article]] = {}
        for ref in refs:
            for other in self.nearest(ref, article, NEIGHBOURS * 2):
                other_path = other.record.path
                if other_path in scored or other.url in exclude:
                    continue
                days = abs(stamp[other_path] - when) / 86400
                score = 3 * len(topics & topics_of[other_path]) - days / 10
                if provider_url is not None and provider_of[other_path] == provider_url:
                    score += 2
                scored[other_path] = (-score, days, other_path, other)
        return tuple(item[3] for item in sorted(scored.values())[:limit])

    def more_from(
        self, ref: TermRef | None, article: Article, exclude: Collection[str], limit: int = MORE
    ) -> tuple[Article, ...]:
        """Up to `limit` of the term's stories nearest `article` in time, not in `exclude`."""
        if ref is None:
            return ()
        return tuple(self.nearest(ref, article, limit, exclude))

    def around(self, article: Article) -> dict[str, object]:
        """An article page's context beyond the article: each story shown once."""
        newer, older = self.newer_older(article)
        shown = {article.url, *(a.url for a in (newer, older) if a is not None)}
        shown.update(link.url for link in article.related if link.url)
        related = () if article.related else self.related(article, shown)
        shown.update(a.url for a in related)
        topic = self.narrowest(article.topics)
        more_topic = self.more_from(topic, article, shown)
        shown.update(a.url for a in more_topic)
        more_provider = self.more_from(article.provider, article, shown)
        return {
            "newer": newer,
            "older": older,
            "coverage": related,
            "topic": topic,
            "more_topic": more_topic,
            "more_provider": more_provider,
        }

    def everywhere(self, jobs: int) -> Iterator[dict[str, object]]:
        """around() of every story, in the site's order; on a site of at least
        AROUND_MIN stories per process, in `jobs` forked processes, which send each story
        back as its position in the site's order and each topic as its URL (_packed)."""
        articles = self.articles
        if jobs < 2 or len(articles) < 2 * AROUND_MIN:
            yield from map(self.around, articles)
            return
        for near in run_chunks(self._packed, range(len(articles)), jobs, AROUND_MIN):
            yield {key: self._unpack(value) for key, value in near.items()}

    def _packed(self, indexes: Sequence[int]) -> list[dict[str, Any]]:
        """around() of the stories at `indexes`, as everywhere() sends it back."""
        return [
            {key: self._pack(value) for key, value in self.around(self.articles[i]).items()}
            for i in indexes
        ]

    def _pack(self, value: Any) -> Any:
        if isinstance(value, Article):
            return self.position[value.record.path]
        if isinstance(value, TermRef):
            return value.url
        if isinstance(value, tuple):
            return tuple(map(self._pack, value))
        return value  # None

    def _unpack(self, value: Any) -> Any:
        if isinstance(value, int):
            return self.articles[value]
        if isinstance(value, str):
            return self.terms[value]
        if isinstance(value, tuple):
            return tuple(map(self._unpack, value))
        return value

    def narrowest(self, topics: Sequence[TermRef]) -> TermRef | None:
        """The most specific topic (fewest stories), as the editions' sections choose it."""
        return min(topics, key=lambda t: len(self.members.get(t.url, ())), default=None)
