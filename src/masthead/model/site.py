"""The site model: records become ordered articles, taxonomies and pages of lists.

Nothing here knows about files or HTML; it turns records into the structure that the
page plan walks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic
from masthead.hashing import digest_of, url_tag
from masthead.model.sitepaths import names_site_path
from masthead.records.data import SiteData
from masthead.records.loader import Image, Provider, Record
from masthead.records.typos import OneSlip
from masthead.urls import (
    article_url,
    page_url,
    slugify,
    term_index_url,
    term_key,
    term_slug,
    term_url,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TermRef:
    """A topic or provider as an article links to it."""

    taxonomy: str
    name: str
    slug: str
    url: str


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """A related story, pointing at its page here when the site has it."""

    title: str
    url: str | None
    internal: bool
    excerpt: str
    published_at: datetime | None
    provider: Provider | None
    image: Image | None
    type: str


@dataclass(frozen=True, slots=True)
class Article:
    record: Record
    slug: str
    url: str
    date: datetime
    """publishedDateTime in the site's timezone."""
    topics: tuple[TermRef, ...]
    provider: TermRef | None
    related: tuple[RelatedLink, ...]
    merged: tuple[str, ...] = ()
    """Paths of records merged into this one as the same story."""
    digest: str = ""
    """Everything the article's pages show, hashed: the record plus what the site made of it."""

    @property
    def title(self) -> str:
        return self.record.title

    @property
    def excerpt(self) -> str:
        return self.record.excerpt

    @property
    def draft(self) -> bool:
        return not self.record.published

    @property
    def original_url(self) -> str | None:
        return self.record.url

    @property
    def image(self) -> Image | None:
        return self.record.image


class _NamedByRef:
    """`name` and `url` of a term, read through its TermRef."""

    __slots__ = ()
    ref: TermRef

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def url(self) -> str:
        return self.ref.url


@dataclass(frozen=True, slots=True)
class TermInfo(_NamedByRef):
    """What a page shows about a term without listing its stories (see Term.info)."""

    ref: TermRef
    logo: Image | None
    domain: str | None
    count: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class Term(_NamedByRef):
    ref: TermRef
    articles: tuple[Article, ...]
    logo: Image | None = None
    domain: str | None = None
    digest: str = ""
    description: str = ""

    @property
    def info(self) -> TermInfo:
        """The term for pages that list only some of its stories: a story added to the
        term changes its count, not every page of it."""
        return TermInfo(self.ref, self.logo, self.domain, len(self.articles), self.description)


@dataclass(frozen=True, slots=True)
class TaxonomySpec:
    """A taxonomy declared as data: how to read a record's terms."""

    name: str
    singular: str
    title: str
    terms_of: Callable[[Record], tuple[str, ...]]


TAXONOMIES: tuple[TaxonomySpec, ...] = (
    TaxonomySpec("topics", "topic", "Topics", lambda r: r.topics),
    TaxonomySpec(
        "providers", "provider", "Providers", lambda r: (r.provider.name,) if r.provider else ()
    ),
)


@dataclass(frozen=True, slots=True)
class TaxonomyInfo:
    name: str
    singular: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Taxonomy:
    name: str
    singular: str
    title: str
    url: str
    terms: tuple[Term, ...]
    digest: str = ""

    @property
    def info(self) -> TaxonomyInfo:
        """The taxonomy's name and address, for pages that do not list its terms."""
        return TaxonomyInfo(self.name, self.singular, self.title, self.url)


@dataclass(frozen=True, slots=True)
class Site:
    config: SiteConfig
    articles: tuple[Article, ...]
    taxonomies: tuple[Taxonomy, ...]
    diagnostics: tuple[Diagnostic, ...]
    digest: str = ""
    by_identity: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Story URL (webUrl or originalUrl) -> its page here, for resolving related links."""

    def taxonomy(self, name: str) -> Taxonomy:
        return next(t for t in self.taxonomies if t.name == name)


@dataclass(frozen=True, slots=True)
class Pager(Generic[T]):
    """One page of a paginated list."""

    number: int
    count: int
    items: tuple[T, ...]
    url: str
    first_url: str
    prev_url: str | None
    next_url: str | None
    total: int

    @property
    def digest(self) -> str:
        """Computed only when a fingerprint asks (the preview asks for few pages); empty
        when an item has no digest of its own, and fingerprints then walk the items."""
        digests = [getattr(item, "digest", None) for item in self.items]
        if not all(isinstance(d, str) and d for d in digests):
            return ""
        return digest_of(
            self.number, self.count, self.url, self.prev_url, self.next_url, self.total, digests
        )


def paginate(items: Sequence[T], size: int, first_url: str, config: SiteConfig) -> list[Pager[T]]:
    """Split `items` into pages of `size`; an empty list still has one (empty) page."""
    count = max(1, -(-len(items) // size))
    urls = [page_url(config, first_url, n) for n in range(1, count + 1)]
    pagers = []
    for n in range(count):
        page = tuple(items[n * size : (n + 1) * size])
        prev_url = urls[n - 1] if n > 0 else None
        next_url = urls[n + 1] if n + 1 < count else None
        pagers.append(Pager(n + 1, count, page, urls[n], first_url, prev_url, next_url, len(items)))
    return pagers


def build_site(
    records: Sequence[Record],
    config: SiteConfig,
    drafts: bool = False,
    data: SiteData | None = None,
    digests: bool = True,
) -> Site:
    """Assemble the site from loaded records: select, merge, order, link and classify.

    `data` (data/topics, data/providers) names, describes and gives logos to terms.
    `digests=False` leaves the model's digests empty: only caches and fingerprints read
    them, and a build that keeps neither need not spend a hash per story on them.
    """
    data = data or SiteData()
    diagnostics: list[Diagnostic] = []
    chosen = [r for r in records if r.published or drafts]
    stories = _merge_duplicates(chosen, diagnostics)
    tz = config.tz
    slugs = _assign_urls(stories, config, diagnostics)
    term_refs = {
        spec.name: _term_refs(spec, [r for r, _ in stories], config, data, diagnostics)
        for spec in TAXONOMIES
    }
    by_identity = {
        key: slugs[r.path][1] for r, _ in stories for key in (r.web_url, r.original_url) if key
    }
    articles = [
        _article(
            record=r,
            slug=slugs[r.path][0],
            url=slugs[r.path][1],
            date=r.published_at.astimezone(tz),
            # "AI" and "ai" in one record are one topic: list it once.
            topics=tuple(dict.fromkeys(term_refs["topics"][name] for name in r.topics)),
            provider=term_refs["providers"][r.provider.name] if r.provider else None,
            related=_related_links(r, slugs[r.path][1], by_identity),
            merged=merged,
            with_digest=digests,
        )
        for r, merged in stories
    ]
    articles.sort(
        key=lambda a: (-a.record.published_at.timestamp(), -a.record.quality, a.slug, a.record.path)
    )
    taxonomies = tuple(
        _taxonomy(spec, articles, term_refs[spec.name], config, data, digests)
        for spec in TAXONOMIES
    )
    return _seal_site(config, tuple(articles), taxonomies, tuple(diagnostics), by_identity, digests)


# What a record may change while its site keeps the same shape: same pages, same order,
# same lists. Everything else (dates, ranking signals, topics, provider, URLs, the
# published flag, a slug taken from the title) can move the story between pages.
DISPLAY_ONLY_FIELDS = frozenset(
    {
        "title",
        "excerpt",
        "body_html",
        "images",
        "embed_html",
        "related",
        "extra",
        "digest",
        "category",
    }
)


def same_shape(old: Record, new: Record) -> bool:
    """True when `new` can replace `old` in place (see patch_site)."""
    if old.path != new.path or not (old.slug_hint and new.slug_hint):
        return False  # a slug from the title moves the page when the title changes
    if names_site_path(old) or names_site_path(new):
        return False  # whether the path leads somewhere is the whole site's to say
    return all(
        getattr(old, name) == getattr(new, name)
        for name in Record._fields
        if name not in DISPLAY_ONLY_FIELDS
    )


def keeps_place(old: Record, new: Record, merged: Collection[str]) -> bool:
    """Can `new` replace `old` in place? Not for a duplicate merged into another story,
    whose page is that story's; otherwise when it has the same shape (same_shape)."""
    return old.path not in merged and same_shape(old, new)


def patch_site(site: Site, records: Sequence[Record]) -> Site | None:
    """The site with these records' display fields replaced, or None if it cannot be.

    For records that keep their shape (same_shape), this equals build_site on the new
    records, at a fraction of the cost: the preview's path from a save to a reload.
    """
    by_path = {a.record.path: a for a in site.articles}
    merged = {path for a in site.articles for path in a.merged}
    new: dict[str, Article] = {}
    for record in records:
        old = by_path.get(record.path)
        if old is None or not keeps_place(old.record, record, merged):
            return None
        new[record.path] = patched_article(old, record, site.by_identity)
    articles = tuple(new.get(a.record.path, a) for a in site.articles)
    taxonomies = tuple(
        _seal_taxonomy(
            taxonomy.name,
            taxonomy.singular,
            taxonomy.title,
            taxonomy.url,
            [
                _seal_term(
                    term.ref,
                    tuple(new.get(a.record.path, a) for a in term.articles),
                    term.logo,
                    term.domain,
                    term.description,
                )
                if any(a.record.path in new for a in term.articles)
                else term
                for term in taxonomy.terms
            ],
        )
        for taxonomy in site.taxonomies
    )
    return _seal_site(site.config, articles, taxonomies, site.diagnostics, site.by_identity)


def patched_article(old: Article, record: Record, by_identity: dict[str, str]) -> Article:
    """`old` showing `record`, a new version of its record of the same shape (same_shape)."""
    return _article(
        record=record,
        slug=old.slug,
        url=old.url,
        date=old.date,
        topics=old.topics,
        provider=old.provider,
        related=_related_links(record, old.url, by_identity),
        merged=old.merged,
    )


def _seal_site(
    config: SiteConfig,
    articles: tuple[Article, ...],
    taxonomies: tuple[Taxonomy, ...],
    diagnostics: tuple[Diagnostic, ...],
    by_identity: dict[str, str],
    digests: bool = True,
) -> Site:
    digest = (
        digest_of([a.digest for a in articles], [t.digest for t in taxonomies]) if digests else ""
    )
    return Site(config, articles, taxonomies, diagnostics, digest, by_identity)


def _seal_term(
    ref: TermRef,
    items: tuple[Article, ...],
    logo: Image | None,
    domain: str | None,
    description: str,
    digests: bool = True,
) -> Term:
    digest = digest_of(ref, logo, domain, description, [a.digest for a in items]) if digests else ""
    return Term(ref, items, logo, domain, digest, description)


def _seal_taxonomy(
    name: str, singular: str, title: str, url: str, terms: Sequence[Term], digests: bool = True
) -> Taxonomy:
    digest = digest_of(name, url, [t.digest for t in terms]) if digests else ""
    return Taxonomy(name, singular, title, url, tuple(terms), digest)


def _article(with_digest: bool = True, **fields: Any) -> Article:
    """An Article with its digest: the record's own hash plus everything the site derived."""
    if not with_digest:
        return Article(**fields, digest="")
    record: Record = fields["record"]
    topics: tuple[TermRef, ...] = fields["topics"]
    provider: TermRef | None = fields["provider"]
    related: tuple[RelatedLink, ...] = fields["related"]
    derived = (
        record.digest,
        record.path,
        fields["slug"],
        fields["url"],
        fields["date"].isoformat(),
        [(t.name, t.url) for t in topics],
        (provider.name, provider.url) if provider else None,
        [(link.url, link.internal) for link in related],  # the rest of a link comes from the record
        fields["merged"],
    )
    return Article(**fields, digest=digest_of(*derived))


def _merge_duplicates(
    records: Sequence[Record], diagnostics: list[Diagnostic]
) -> list[tuple[Record, tuple[str, ...]]]:
    """One record per story (same webUrl, else originalUrl): published, best quality, first path."""
    groups: dict[str, list[Record]] = defaultdict(list)
    singles: list[Record] = []
    for r in records:
        if r.url:
            groups[r.url].append(r)
        else:
            singles.append(r)
    stories = [(r, ()) for r in singles]
    for group in groups.values():
        group.sort(key=lambda r: (not r.published, -r.quality, r.path))
        keep, rest = group[0], group[1:]
        for dup in rest:
            diagnostics.append(
                Diagnostic(
                    dup.path,
                    None,
                    f"same {_url_field(dup)} as {{other}}, whose record is shown "
                    f"({_why_kept(keep, dup)}); this one is left out",
                    severity="warning",
                    other=keep.path,
                )
            )
        stories.append((keep, tuple(d.path for d in rest)))
    stories.sort(key=lambda s: s[0].path)
    return stories


def _url_field(record: Record) -> str:
    """The field that makes a record's identity (Record.url), as a record spells it."""
    return "webUrl" if record.web_url else "originalUrl"


def _why_kept(keep: Record, dup: Record) -> str:
    """Why `keep` is the one of two records of a story shown: the order of the sort above."""
    if keep.published != dup.published:
        return "published, where this one is a draft"
    if keep.quality != dup.quality:
        return f"quality {keep.quality} against {dup.quality}"
    return "same quality, first by path"


def _assign_urls(
    stories: Sequence[tuple[Record, tuple[str, ...]]],
    config: SiteConfig,
    diagnostics: list[Diagnostic],
) -> dict[str, tuple[str, str]]:
    """Slug and URL per record path; a URL taken by an earlier path gets `-2`, `-3`, ..."""
    tz = config.tz
    taken: set[str] = set()
    out: dict[str, tuple[str, str]] = {}
    for r, _ in stories:  # sorted by path, so the suffixes are deterministic
        base = r.slug_hint or slugify(r.title)
        when = r.published_at.astimezone(tz)
        slug, n = base, 1
        while (url := article_url(config, slug, when)) in taken:
            n += 1
            slug = f"{base}-{n}"
        if n > 1:
            diagnostics.append(
                Diagnostic(
                    r.path,
                    None,
                    f"URL of slug {base!r} already taken; using {slug!r}",
                    severity="warning",
                )
            )
        taken.add(url)
        out[r.path] = (slug, url)
    return out


def _term_refs(
    spec: TaxonomySpec,
    records: Sequence[Record],
    config: SiteConfig,
    data: SiteData,
    diagnostics: list[Diagnostic],
) -> dict[str, TermRef]:
    """Name -> TermRef. Names that differ only in case or spacing ("AI", "ai") are one term,
    shown in its most used spelling unless the site's data names it; other names are
    distinct terms, whose pages never merge: when their slugs collide (`AT-T`, `at t`),
    one keeps the slug and each other gets a suffix of its own, with a warning."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    domains: dict[str, str] = {}
    first_use: dict[str, str] = {}
    for r in records:
        for name in spec.terms_of(r):
            key = term_key(name)
            spellings[key][name] += 1
            first_use[key] = min(first_use.get(key, r.path), r.path)
            if spec.name == "providers" and r.provider and r.provider.domain:
                domains.setdefault(key, r.provider.domain)
    _near_names(spec, spellings, first_use, domains, data, diagnostics)
    by_slug: dict[str, list[str]] = defaultdict(list)
    for key in spellings:
        by_slug[term_slug(key)].append(key)
    refs: dict[str, TermRef] = {}
    for slug, keys in sorted(by_slug.items()):
        # The term the site's data names keeps the slug, else the one with the least
        # punctuation ("Etc" over "../../etc"), else the first in order: the same whatever
        # order the files are read in.
        keys.sort(key=lambda k: (data.named(spec.name, k) is None, _punctuation(k), k))
        for i, key in enumerate(keys):
            own = slug if i == 0 else f"{slug}-{url_tag(key, 6)}"
            if i > 0:
                diagnostics.append(
                    Diagnostic(
                        first_use[key],
                        None,
                        f"{spec.singular} {_most_used(spellings[key])!r} shares the slug "
                        f"{slug!r} with {_most_used(spellings[keys[0]])!r}; its page is {own!r}",
                        "names that differ by more than punctuation",
                        "warning",
                    )
                )
            names = spellings[key]
            meta = data.named(spec.name, key) or (
                data.meta(spec.name, own, domains.get(key)) if i == 0 else None
            )
            display = meta.name if meta else _most_used(names)
            ref = TermRef(spec.name, display, own, term_url(config, spec.name, own))
            refs.update(dict.fromkeys(names, ref))
    return refs


def _near_names(
    spec: TaxonomySpec,
    spellings: dict[str, Counter[str]],
    first_use: dict[str, str],
    domains: dict[str, str],
    data: SiteData,
    diagnostics: list[Diagnostic],
) -> None:
    """A name on one story only, one letter from a name the site uses often (three
    stories or more, or named in data/), is probably a typo, which would give the story a
    page of its own instead of its place on the common one. Said, not changed, and only
    of a slip inside a word of four letters or more: `Windows 10` and `Windows 11`,
    `ABC News` and `NBC News`, or two providers on different domains, are two names."""
    shown = {k: _most_used(n) for k, n in spellings.items() if n.total() >= 3}
    shown.update((k, m.name) for (kind, k), m in data.names.items() if kind == spec.name)
    slips = OneSlip(shown)
    for key, names in spellings.items():
        if names.total() > 1 or key in shown:
            continue
        for near in slips.near(key):
            mine, theirs = domains.get(key), domains.get(near)
            if _slip_in_a_word(key, near) and not (mine and theirs and mine != theirs):
                diagnostics.append(
                    Diagnostic(
                        first_use[key],
                        None,
                        f"{spec.singular} {_most_used(names)!r} is on this story only; "
                        f"did you mean {shown[near]!r}?",
                        severity="warning",
                    )
                )
                break


def _slip_in_a_word(a: str, b: str) -> bool:
    """Whether `a` and `b` (one edit apart) first differ at a letter of a word of `a` of
    four letters or more."""
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    changed = a[at : at + 1] + b[at : at + 1]  # one of them empty at the end of a word
    start = a.rfind(" ", 0, at) + 1
    end = a.find(" ", at)
    word = a[start : end if end >= 0 else len(a)]
    return len(word) >= 4 and changed.isalpha()


def _punctuation(name: str) -> int:
    return sum(1 for c in name if not (c.isalnum() or c.isspace()))


def _most_used(names: Counter[str]) -> str:
    return min(names, key=lambda n: (-names[n], n))


def _taxonomy(
    spec: TaxonomySpec,
    articles: Sequence[Article],
    refs: dict[str, TermRef],
    config: SiteConfig,
    data: SiteData,
    digests: bool = True,
) -> Taxonomy:
    members: dict[TermRef, list[Article]] = defaultdict(list)
    for a in articles:
        for name in dict.fromkeys(refs[n] for n in spec.terms_of(a.record)):
            members[name].append(a)
    terms = []
    for ref, items in members.items():
        logo, domain = _provider_details(items) if spec.name == "providers" else (None, None)
        meta = data.named(spec.name, term_key(ref.name)) or data.meta(spec.name, ref.slug, domain)
        if meta:  # the site's own data wins over what records happen to carry
            logo, domain = meta.logo or logo, meta.domain or domain
        description = meta.description if meta else ""
        terms.append(_seal_term(ref, tuple(items), logo, domain, description, digests))
    terms.sort(key=lambda t: (t.name.casefold(), t.ref.slug))
    url = term_index_url(config, spec.name)
    return _seal_taxonomy(spec.name, spec.singular, spec.title, url, terms, digests)


def _provider_details(articles: Sequence[Article]) -> tuple[Image | None, str | None]:
    """Logo and domain from the newest record that gives them."""
    logo = next(
        (a.record.provider.logo for a in articles if a.record.provider and a.record.provider.logo),
        None,
    )
    domain = next(
        (
            a.record.provider.domain
            for a in articles
            if a.record.provider and a.record.provider.domain
        ),
        None,
    )
    return logo, domain


def _related_links(
    record: Record, own_url: str, by_identity: dict[str, str]
) -> tuple[RelatedLink, ...]:
    links = []
    for rel in record.related:
        internal = by_identity.get(rel.url) if rel.url else None
        if internal == own_url:
            continue
        links.append(
            RelatedLink(
                title=rel.title,
                url=internal or rel.url,
                internal=internal is not None,
                excerpt=rel.excerpt,
                published_at=rel.published_at,
                provider=rel.provider,
                image=rel.images[0] if rel.images else None,
                type=rel.type,
            )
        )
    return tuple(links)
