"""Atom, RSS and JSON feeds of the site, each topic and each provider, read by feedparser."""

from __future__ import annotations

import calendar
import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup
from hypothesis import given
from hypothesis import strategies as st

from masthead.outputs.xmltree import (
    ATOM_NS,
    DC_NS,
    MEDIA_NS,
    XML_NS,
    clean,
    element,
    fragment,
    sub,
    to_bytes,
)
from tests.conftest import Scratch
from tests.htmlcheck import html_files, parse
from tests.newsroom import (
    BASE_PATH,
    BASE_URL,
    FEED_SIZE,
    Story,
    build_newsroom,
    by_newest,
    page_file,
)

MIME = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}


@dataclass(frozen=True)
class ListFeeds:
    name: str
    stories: list[Story]
    """Every story of the list, newest first; a feed shows the first FEED_SIZE."""
    urls: dict[str, str]
    """Feed URL by kind, as the list's page advertises it."""


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_newsroom(tmp_path_factory.mktemp("feeds") / "site")


def _advertised(page: Path) -> dict[str, list[str]]:
    """Feed links in a page's head, by MIME type."""
    found: dict[str, list[str]] = {}
    for link in parse(page).select("head link[rel=alternate]"):
        found.setdefault(link["type"], []).append(link["href"])
    return found


def _absolute(href: str) -> str:
    assert href.startswith(BASE_PATH), href
    return BASE_URL + href[len(BASE_PATH) :]


def _own_feeds(page: Path, site_feeds: dict[str, str]) -> dict[str, str]:
    """The feeds a list page advertises besides the whole site's."""
    own = {}
    for kind, mime in MIME.items():
        hrefs = [_absolute(h) for h in _advertised(page)[mime]]
        others = [h for h in hrefs if h != site_feeds[kind]]
        assert len(others) == 1, (page, hrefs)
        own[kind] = others[0]
    return own


@pytest.fixture(scope="module")
def lists(output: Path) -> list[ListFeeds]:
    """The site and every topic and provider, found by following the built pages' links."""
    home = _advertised(output / "index.html")
    site_feeds = {kind: _absolute(home[mime][0]) for kind, mime in MIME.items()}
    found = [ListFeeds("site", by_newest(), site_feeds)]
    for index in ("topics", "providers"):
        for link in parse(output / index / "index.html").select("ul.term-list a"):
            page = page_file(output, _absolute(link["href"]))
            name = parse(page).h1.get_text(strip=True)
            if index == "topics":
                stories = [s for s in by_newest() if name in s.topics]
            else:
                stories = [s for s in by_newest() if s.provider == name]
            assert stories, name
            found.append(ListFeeds(name, stories, _own_feeds(page, site_feeds)))
    return found


def test_every_list_has_its_feeds(lists: list[ListFeeds]) -> None:
    names = {f.name for f in lists}
    assert {"site", "Science", "Transport", "Harbour Ledger", "Pulse & Ward"} <= names
    assert len(lists) == 1 + 5 + 5  # the site, five topics, five providers


def test_every_page_advertises_the_site_feeds(output: Path, lists: list[ListFeeds]) -> None:
    site = lists[0].urls
    for page in html_files(output):
        advertised = _advertised(page)
        for kind, mime in MIME.items():
            assert site[kind] in [_absolute(h) for h in advertised.get(mime, [])], page
    for kind in MIME:
        assert page_file(output, site[kind]).is_file()


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_xml_feeds_parse_cleanly_with_the_right_entries(
    output: Path, lists: list[ListFeeds], kind: str
) -> None:
    for feed in lists:
        parsed = feedparser.parse(page_file(output, feed.urls[kind]).read_bytes())
        assert not parsed.bozo, (feed.name, parsed.get("bozo_exception"))
        assert parsed.version == ("atom10" if kind == "atom" else "rss20")
        expected = feed.stories[:FEED_SIZE]
        assert [e.title for e in parsed.entries] == [s.title for s in expected], feed.name
        for entry, story in zip(parsed.entries, expected, strict=True):
            _check_entry(output, entry, story)
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links == [feed.urls[kind]]


def _check_entry(output: Path, entry: feedparser.FeedParserDict, story: Story) -> None:
    assert calendar.timegm(entry.published_parsed) == story.published.timestamp()
    page = page_file(output, entry.link)
    assert parse(page).h1.get_text() == story.title
    related = [link.href for link in entry.links if link.rel == "related"]
    assert related == [story.original_url]
    assert [tag.term for tag in entry.tags] == list(story.topics)
    assert entry.author == story.provider
    # Atom's summary is text; RSS's description is HTML, whose text must be the excerpt.
    assert BeautifulSoup(entry.summary, "html5lib").get_text() == story.excerpt
    images = [m["url"] for m in entry.get("media_content", [])]
    if story.image:
        if story.image.startswith("http"):
            assert images == [story.image]
        else:  # a site-relative image (/images/...) is made absolute under base_url
            assert images == [BASE_URL + story.image[1:]]
            assert page_file(output, images[0]).is_file()
    else:
        assert images == []


def test_json_feeds_have_the_required_fields(output: Path, lists: list[ListFeeds]) -> None:
    for feed in lists:
        data = json.loads(page_file(output, feed.urls["json"]).read_text(encoding="utf-8"))
        assert data["version"] == "https://jsonfeed.org/version/1.1"
        assert data["title"] and isinstance(data["items"], list)
        assert data["feed_url"] == feed.urls["json"]
        assert page_file(output, data["home_page_url"]).is_file()
        expected = feed.stories[:FEED_SIZE]
        assert [item["title"] for item in data["items"]] == [s.title for s in expected]
        for item, story in zip(data["items"], expected, strict=True):
            assert isinstance(item["id"], str) and item["id"]
            assert item["content_text"] == story.excerpt
            assert parse(page_file(output, item["url"])).h1.get_text() == story.title
            assert item["external_url"] == story.original_url
            published = datetime.fromisoformat(item["date_published"])
            assert published.utcoffset() is not None and published == story.published
            assert item["tags"] == list(story.topics)
            assert [a["name"] for a in item["authors"]] == [story.provider]


def test_feeds_are_valid_with_an_empty_site(scratch: Scratch) -> None:
    site = scratch
    report = site.build(search=False)
    assert not report.failed
    for name in ("feed.xml", "rss.xml"):
        parsed = feedparser.parse((site.output / name).read_bytes())
        assert not parsed.bozo and parsed.entries == []
    assert json.loads((site.output / "feed.json").read_text())["items"] == []


def test_control_characters_are_kept_out_of_xml(scratch: Scratch) -> None:
    scratch.add("2026-01-01-bell.md", title="Bell\\u0007 rings\\u0001 twice")
    assert not scratch.build(search=False).failed
    for name in ("feed.xml", "rss.xml"):
        parsed = feedparser.parse((scratch.output / name).read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.entries[0].title == "Bell rings twice"


def elementtree_bytes(root: ET.Element, default_namespace: str | None = None) -> bytes:
    """What ElementTree's own writer gives for the tree: what to_bytes must give."""
    root = copy.deepcopy(root)
    if default_namespace is not None:
        root.set("xmlns", default_namespace)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return f"<?xml version='1.0' encoding='utf-8'?>\n{text}\n".encode()


_TAGS = st.sampled_from(
    ["entry", "title", "link", f"{{{ATOM_NS}}}link", f"{{{MEDIA_NS}}}content", f"{{{DC_NS}}}x"]
)
_ATTRIBUTES = st.sampled_from(["href", "rel", "type", f"{{{XML_NS}}}lang", f"{{{MEDIA_NS}}}m"])
_VALUES = st.text(st.sampled_from("ab &<>\"'\r\n\t\x01é\ufffe€𝄞"), max_size=8)


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> ET.Element:
    """Trees as masthead.outputs.xmltree builds them: each element has text or children."""
    node = element(draw(_TAGS), attrs=draw(st.dictionaries(_ATTRIBUTES, _VALUES, max_size=3)))
    if depth < 3 and draw(st.booleans()):
        node.extend(draw(st.lists(_trees(depth + 1), max_size=4)))
    else:
        node.text = draw(st.none() | _VALUES.map(clean))
    return node


@given(_trees(), st.none() | st.just(ATOM_NS))
def test_xml_is_written_as_elementtree_writes_it(tree: ET.Element, default: str | None) -> None:
    assert to_bytes(copy.deepcopy(tree), default) == elementtree_bytes(tree, default)


@given(_trees(), st.data())
def test_spliced_fragments_read_as_the_whole_tree(tree: ET.Element, data: st.DataObject) -> None:
    """Each story's entry is serialised once and spliced into every feed that shows it:
    the feed must be the text of the whole tree, namespaces included."""
    parents = [tree, *(node for node in tree.iter() if len(node))]
    parent = data.draw(st.sampled_from(parents))
    kept = data.draw(st.integers(0, len(parent)))
    level = next(depth for depth, node in _depths(tree) if node is parent) + 1
    whole = elementtree_bytes(tree)
    moved = list(parent)[kept:]
    for node in moved:
        parent.remove(node)
    pieces = [fragment(node, level) for node in moved]
    assert to_bytes(tree, fragments=pieces, parent=parent) == whole


def _depths(node: ET.Element, depth: int = 0) -> Iterator[tuple[int, ET.Element]]:
    yield depth, node
    for child in node:
        yield from _depths(child, depth + 1)


def test_mixed_content_is_refused_rather_than_written_otherwise_than_elementtree() -> None:
    node = element("summary", "text")
    sub(node, "b", "and a child")
    with pytest.raises(ValueError, match="mixed content"):
        to_bytes(node)
    leaf = element("summary", "text")
    with pytest.raises(ValueError, match="mixed content"):
        to_bytes(leaf, fragments=[fragment(element("b", "x"), level=1)])
    with pytest.raises(ValueError, match="not in the tree"):
        to_bytes(element("feed"), fragments=[], parent=element("channel"))


def test_a_story_spelling_out_a_tag_is_spliced_as_text() -> None:
    def item(text: str) -> ET.Element:
        node = element("item")
        sub(node, "title", text)
        sub(node, f"{{{DC_NS}}}creator", "Desk")
        return node

    texts = ["One <masthead-fragments />", "Two & three"]
    root = element("rss", attrs={"version": "2.0"})
    channel = sub(root, "channel")
    sub(channel, "title", "<masthead-fragments /> & co")
    spliced = to_bytes(root, fragments=[fragment(item(t), level=2) for t in texts], parent=channel)
    channel.extend(item(t) for t in texts)
    assert spliced == elementtree_bytes(root)
    parsed = feedparser.parse(spliced)
    assert not parsed.bozo and [e.title for e in parsed.entries] == texts


def test_clean_drops_exactly_what_xml_1_0_forbids() -> None:
    """XML 1.0's Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF],
    checked at every edge of those ranges and on a stride through the rest."""
    allowed = [(0x9, 0x9), (0xA, 0xA), (0xD, 0xD), (0x20, 0xD7FF), (0xE000, 0xFFFD)]
    allowed.append((0x10000, 0x10FFFF))
    edges = {e + d for lo, hi in allowed for e in (lo, hi) for d in (-1, 0, 1)}
    for point in sorted(edges | set(range(0, 0x110000, 97))):
        if 0 <= point <= 0x10FFFF:
            xml_char = any(lo <= point <= hi for lo, hi in allowed)
            assert clean(f"a{chr(point)}b") == (f"a{chr(point)}b" if xml_char else "ab"), hex(point)


def test_spliced_namespaces_are_declared_in_elementtrees_order() -> None:
    """ElementTree sorts declarations by prefix (`m` before `m-x`), not by their text."""
    ET.register_namespace("m", "urn:test:m")
    ET.register_namespace("m-x", "urn:test:m-x")

    def item() -> ET.Element:
        node = element("item")
        sub(node, "{urn:test:m-x}a", "1")
        sub(node, "{urn:test:m}b", "2")
        return node

    whole = element("feed")
    whole.extend([item(), item()])
    root = element("feed")
    spliced = to_bytes(root, fragments=[fragment(item(), level=1) for _ in range(2)])
    assert spliced == elementtree_bytes(whole)


def test_a_fragment_in_an_unregistered_namespace_is_refused() -> None:
    """ElementTree would call it ns0 in every fragment, whatever the namespace."""
    node = element("item")
    sub(node, "{urn:test:nobody-registered-this}a", "1")
    with pytest.raises(ValueError, match="unregistered XML namespace"):
        fragment(node, level=1)
