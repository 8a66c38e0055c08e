"""Every size limit at, below and above its boundary.

The class of bug: `<` where `<=` was meant (or the reverse), found only by a test that sits
exactly on the limit. Each limit is tried at limit - 1, limit and limit + 1, at its real
value where that is cheap (the sitemap's 50,000 URLs are generated entries, not a build),
and through the build's planning with the constant patched where a build is the point.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from masthead.config import SiteConfig, load_config
from masthead.diagnostics import ConfigError, RecordError
from masthead.model.site import build_site
from masthead.outputs import sitemap
from masthead.outputs.memo import Memos
from masthead.outputs.plan import plan_pages
from masthead.outputs.sitemap import MAX_URLS, SitemapEntry
from masthead.records.data import MAX_DATA_BYTES, load_data
from masthead.records.loader import MAX_ITEMS, MAX_TITLE, MAX_WARNINGS, load_record, parse_record
from masthead.records.safeurl import MAX_URL, safe_url
from masthead.records.yamlload import MAX_DEPTH, MAX_NUMBER_CHARS, YamlError, load_yaml
from masthead.urls import MAX_SLUG, slugify
from tests.test_site import story

HEAD = 'title: "T"\npublishedDateTime: 2026-11-18T09:30:00Z\n'
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _parse(front: str, config: SiteConfig | None = None) -> object:
    return parse_record(f"---\n{front}\n---\n".encode(), "limit.md", config or SiteConfig(), [])


def around(limit: int) -> list[tuple[int, bool]]:
    """(size, accepted) at limit - 1, limit and limit + 1."""
    return [(limit - 1, True), (limit, True), (limit + 1, False)]


# --- the sitemap: 50,000 URLs per file ---------------------------------------------------


def _entries(count: int) -> list[SitemapEntry]:
    return [SitemapEntry(f"/news/{n}/") for n in range(count)]


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (1, [1]),
        (MAX_URLS - 1, [MAX_URLS - 1]),
        (MAX_URLS, [MAX_URLS]),
        (MAX_URLS + 1, [MAX_URLS, 1]),
        (2 * MAX_URLS, [MAX_URLS, MAX_URLS]),
        (2 * MAX_URLS + 1, [MAX_URLS, MAX_URLS, 1]),
    ],
)
def test_the_sitemap_splits_only_past_50000_urls(count: int, sizes: list[int]) -> None:
    assert MAX_URLS == 50_000  # the protocol's number, not a patched one
    parts = sitemap.split(_entries(count))
    if len(sizes) == 1:
        assert [url for url, _ in parts] == ["/sitemap.xml"]
    else:
        assert [url for url, _ in parts] == [f"/sitemap-{n}.xml" for n in range(1, len(sizes) + 1)]
    assert [len(entries) for _, entries in parts] == sizes
    assert [e.url for _, entries in parts for e in entries] == [e.url for e in _entries(count)]


def test_a_full_sitemap_of_50000_urls_is_one_valid_urlset() -> None:
    config = SiteConfig(base_url="https://news.example/")
    ((_url, entries),) = sitemap.split(_entries(MAX_URLS))
    data = sitemap.urlset(entries, config, Memos())
    root = ET.fromstring(data)
    assert root.tag == f"{{{NS['sm']}}}urlset"
    assert len(root.findall("sm:url", NS)) == MAX_URLS
    assert len(data) < 50 * 1024 * 1024  # the protocol's other limit


def _plan(count: int, config: SiteConfig | None = None) -> list:
    """The pages planned for `count` stories an hour apart, all in topic T."""
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    records = [
        story(f"2026-11-01-s{n}.md", (start + timedelta(hours=n)).isoformat(), topics=("T",))
        for n in range(count)
    ]
    return list(plan_pages(build_site(records, config or SiteConfig(search=False))))


def _sitemap_files(specs: list) -> dict[str, int]:
    return {s.url: len(s.context["data"]) for s in specs if s.context["kind"].startswith("sitemap")}


def test_the_planned_sitemap_splits_only_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the limit patched to the site's own page count, through the build's planning."""
    (pages,) = _sitemap_files(_plan(5)).values()
    monkeypatch.setattr(sitemap, "MAX_URLS", pages)
    assert _sitemap_files(_plan(5)) == {"/sitemap.xml": pages}
    monkeypatch.setattr(sitemap, "MAX_URLS", pages - 1)
    files = _sitemap_files(_plan(5))
    assert files == {"/sitemap-1.xml": pages - 1, "/sitemap-2.xml": 1, "/sitemap.xml": 2}


# --- record files --------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "accepted"), around(2048))
def test_max_record_bytes(tmp_path: Path, size: int, accepted: bool) -> None:
    config = SiteConfig(max_record_bytes=2048)
    raw = f"---\n{HEAD}---\n".encode()
    path = tmp_path / "sized.md"
    path.write_bytes(raw + b"x" * (size - len(raw)))
    assert path.stat().st_size == size
    if accepted:
        assert load_record(path, "sized.md", config).title == "T"
    else:
        with pytest.raises(RecordError, match=f"file is {size} bytes") as caught:
            load_record(path, "sized.md", config)
        assert caught.value.diagnostic.expected == "at most 2048"


@pytest.mark.parametrize(("size", "accepted"), around(MAX_TITLE))
def test_title_length(size: int, accepted: bool) -> None:
    assert MAX_TITLE == 500
    title = ("word " * size)[:size].strip().ljust(size, "x")
    front = f'title: "  {title}  "\npublishedDateTime: 2026-11-18T09:30:00Z'  # spaces trimmed
    if accepted:
        assert _parse(front).title == title  # type: ignore[attr-defined]
    else:
        with pytest.raises(RecordError, match=f"title is {size} characters"):
            _parse(front)


IMAGE = "{url: 'https://img.example/a.png'}"
RELATED = "{title: R, webUrl: 'https://r.example/'}"
LISTS = [
    ("topics", "topics", "T{n}", lambda r: r.topics),
    ("images", "images", IMAGE, lambda r: r.images),
    ("related", "related", RELATED, lambda r: r.related),
    ("provider.images", "images", IMAGE, lambda r: r.provider.images),
    ("related[0].images", "images", IMAGE, lambda r: r.related[0].images),
]


def _nested(where: str, items: str) -> str:
    if where == "provider.images":
        return f"provider: {{name: P, images: {items}}}"
    if where == "related[0].images":
        return f"related: [{{title: R, webUrl: 'https://r.example/', images: {items}}}]"
    return f"{where}: {items}"


@pytest.mark.parametrize(("where", "kind", "item", "read"), LISTS, ids=[w for w, *_ in LISTS])
def test_list_lengths(where: str, kind: str, item: str, read: object) -> None:
    limit = MAX_ITEMS[kind]
    assert (kind, limit) in {("topics", 50), ("images", 20), ("related", 100)}
    for size, accepted in around(limit):
        items = "[" + ", ".join(item.replace("{n}", str(n)) for n in range(size)) + "]"
        front = HEAD + _nested(where, items)
        if accepted:
            assert len(read(_parse(front))) == size  # type: ignore[operator]
        else:
            with pytest.raises(RecordError, match=rf"{re.escape(where)} has {size} entries"):
                _parse(front)


@pytest.mark.parametrize(
    ("size", "accepted"), [(0, False), (1, True), (100_000, True), (100_001, False)]
)
def test_image_dimensions(size: int, accepted: bool) -> None:
    front = HEAD + f"images: [{{url: 'https://img.example/a.png', width: {size}}}]"
    if accepted:
        assert _parse(front).images[0].width == size  # type: ignore[attr-defined]
    else:
        with pytest.raises(RecordError, match=f"images\\[0\\].width is {size}"):
            _parse(front)


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (MAX_WARNINGS - 1, MAX_WARNINGS - 1),
        (MAX_WARNINGS, MAX_WARNINGS),
        (MAX_WARNINGS + 1, MAX_WARNINGS + 1),
    ],
)
def test_warnings_are_cut_after_ten(tmp_path: Path, count: int, shown: int) -> None:
    images = ", ".join("{url: 'javascript:x'}" for _ in range(count))
    path = tmp_path / "warned.md"
    path.write_text(f"---\n{HEAD}images: [{images}]\n---\n", encoding="utf-8")
    from masthead.records.loader import read_record

    record, said, _ = read_record(path, "warned.md", SiteConfig())
    assert record is not None
    assert len(said) == shown
    assert all(d.line == 4 for d in said[:MAX_WARNINGS])  # the shown ones have their line
    if count > MAX_WARNINGS:
        assert said[-1].message == f"{count - MAX_WARNINGS} more warnings not shown"
        assert all("dropped" in d.message for d in said[:-1])
    else:
        assert all("dropped" in d.message for d in said)


# --- YAML --------------------------------------------------------------------------------


def _flow(levels: int) -> str:
    """`levels` nested containers, counting the front matter's own mapping as the first."""
    inner = levels - 1
    return "deep: " + "[" * inner + "]" * inner


def _maps(levels: int) -> str:
    inner = levels - 1
    return "deep: " + "{a: " * inner + "b" + "}" * inner


def _block(levels: int) -> str:
    return "\n".join(" " * i + "k:" for i in range(levels)) + " v"


@pytest.mark.parametrize("make", [_flow, _maps, _block])
def test_nesting_depth(make: object) -> None:
    assert MAX_DEPTH == 50
    for levels, accepted in around(MAX_DEPTH):
        document = make(levels)  # type: ignore[operator]
        if accepted:
            load_yaml(document)
        else:
            with pytest.raises(YamlError, match="nested too deeply"):
                load_yaml(document)


def test_number_length() -> None:
    for size, accepted in around(MAX_NUMBER_CHARS):
        digits = "1" * size
        assert load_yaml(f"n: {digits}") == {"n": int(digits) if accepted else digits}
        if accepted:
            assert load_yaml(f"n: !!int {digits}") == {"n": int(digits)}
        else:
            with pytest.raises(YamlError, match=f"value of {size} characters is too long"):
                load_yaml(f"n: !!int {digits}")


# --- URLs and slugs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix", ["https://news.example/", "/local/", "https://news.example/&amp;"]
)
@pytest.mark.parametrize(("size", "accepted"), around(MAX_URL))
def test_url_length(prefix: str, size: int, accepted: bool) -> None:
    assert MAX_URL == 4096
    url = prefix + "a" * (size - len(prefix))
    assert len(url) == size
    assert safe_url(url) == (url if accepted else None)


@pytest.mark.parametrize(("size", "kept"), around(MAX_SLUG))
def test_slug_length(size: int, kept: bool) -> None:
    assert MAX_SLUG == 80
    slug = "-".join(["harbour"] * 20)[:size].strip("-").ljust(size, "x")
    assert len(slug) == size
    result = slugify(slug)
    assert len(result) <= MAX_SLUG
    assert (result == slug) is kept
    if not kept:
        assert slug.startswith(result)  # cut at a word boundary


@pytest.mark.parametrize(("size", "accepted"), around(MAX_DATA_BYTES))
def test_data_file_size(tmp_path: Path, size: int, accepted: bool) -> None:
    folder = tmp_path / "data" / "topics"
    folder.mkdir(parents=True)
    text = "name: Climate\ndescription: "
    (folder / "climate.yaml").write_bytes(text.encode() + b"x" * (size - len(text)))
    data = load_data(tmp_path)
    assert ("climate" in data.topics) is accepted
    assert [d.message for d in data.diagnostics] == ([] if accepted else ["file too large"])


# --- site.toml and what it sizes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "lowest"),
    [
        ("page_size", 1),
        ("feed_size", 1),
        ("api_page_size", 1),
        ("lead_stories", 0),
        ("max_record_bytes", 1024),
    ],
)
def test_setting_minimums(tmp_path: Path, name: str, lowest: int) -> None:
    for value in (lowest, lowest + 1):
        (tmp_path / "site.toml").write_text(f"{name} = {value}\n", encoding="utf-8")
        assert getattr(load_config(tmp_path), name) == value
    (tmp_path / "site.toml").write_text(f"{name} = {lowest - 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=name):
        load_config(tmp_path)


SIZE = 3
PAGED = SiteConfig(page_size=SIZE, feed_size=SIZE, api_page_size=SIZE, lead_stories=0, search=False)


@pytest.mark.parametrize(
    ("count", "pages"), [(SIZE - 1, 1), (SIZE, 1), (SIZE + 1, 2), (2 * SIZE, 2), (2 * SIZE + 1, 3)]
)
def test_page_size_feed_size_and_api_page_size(count: int, pages: int) -> None:
    specs = _plan(count, PAGED)
    by_kind: dict[str, list] = {}
    for spec in specs:
        by_kind.setdefault(spec.context["kind"], []).append(spec)
    home = by_kind["home"]
    assert len(home) == pages
    assert [len(s.context["pager"].items) for s in home] == [
        min(SIZE, count - n * SIZE) for n in range(pages)
    ]
    site_api = [s for s in by_kind["api"] if "/topics/" not in s.url]
    assert len(site_api) == pages
    for kind in ("feed-atom", "feed-rss", "feed-json"):
        (site_feed,) = (s for s in by_kind[kind] if s.context["data"].url(kind[5:]).count("/") == 1)
        assert len(site_feed.context["data"].articles) == min(count, SIZE)
