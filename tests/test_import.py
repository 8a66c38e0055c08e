"""`masthead import`: real-world-shaped feeds served on 127.0.0.1 become check-clean records."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from masthead.commands.importer import ImportOptions, ImportReport, run_import
from masthead.config import load_config
from masthead.diagnostics import ConfigError
from masthead.records.feedread import FeedError, read_feed
from masthead.records.feedrecords import cut, normalise_url, plain_text, without_tracking
from masthead.records.loader import load_record, load_records
from masthead.records.safefetch import Fetcher, FetchLimits
from tests.conftest import masthead
from tests.feedserver import FeedServer, redirect, respond, serving, stream
from tests.htmlcheck import parse
from tests.outputscan import MARKER, SECRET, scan_output

FEEDS = Path(__file__).resolve().parent / "feeds"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GOOD = {  # path on the server -> (fixture, content type, records it makes)
    "/harbour/rss": ("rss-media.xml", "application/rss+xml", 3),
    "/blog/atom.xml": ("atom-xhtml.xml", "application/atom+xml", 2),
    "/feed.json": ("jsonfeed.json", "application/feed+json", 2),
    "/late.xml": ("bad-date.xml", "text/xml", 1),
    "/gulls.xml": ("hostile.xml", "application/rss+xml", 2),
    "/controls.json": ("hostile.json", "application/json", 2),
}


def huge_feed() -> Iterator[bytes]:
    """A 20 MB RSS feed, made on the fly (never committed): well-formed, only too big."""
    yield b"<?xml version='1.0'?><rss version='2.0'><channel><title>Huge</title>"
    item = b"<item><title>Filler</title><link>https://huge.example/%d</link></item>"
    for block in range(200):
        yield b"".join(item % (block * 1000 + i) for i in range(1500))
    yield b"</channel></rss>"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with serving() as state:
        for path, (name, kind, _) in GOOD.items():
            state.routes[path] = respond((FEEDS / name).read_bytes(), kind, ETag=f'"{name}"')
        whole = (FEEDS / "rss-media.xml").read_bytes()
        state.routes["/truncated.xml"] = respond(whole[: len(whole) * 2 // 3])
        state.routes["/huge.xml"] = stream(huge_feed)
        state.routes["/moved.xml"] = redirect("/harbour/rss", 301)
        yield state


def make_site(root: Path, feeds: list[tuple[str, str]], allow: bool = True) -> Path:
    """A site with data/topics and `[[import.feeds]]` for (url, extra TOML) pairs."""
    (root / "content").mkdir(parents=True)
    (root / "data" / "topics").mkdir(parents=True)
    (root / "data" / "topics" / "climate.yaml").write_text("name: Climate Change\n")
    lines = ['title = "Imported"', "[import]", f"allow_private_hosts = {str(allow).lower()}"]
    for url, extra in feeds:
        lines += ["[[import.feeds]]", f'url = "{url}"', extra]
    (root / "site.toml").write_text("\n".join(lines) + "\n")
    return root


def written(site: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((site / "content").rglob("*.md"))}


def test_import_check_reimport_and_build(server: FeedServer, tmp_path: Path) -> None:
    """The whole loop through the command: every feed shape imported, the broken ones each
    one error naming the feed, every record check-clean, a second run writes nothing, and
    the build has a page per entry with the hostile payloads harmless."""
    feeds = [
        (server.url(path), 'topics = ["Local"]' if path == "/late.xml" else "") for path in GOOD
    ]
    feeds += [(server.url("/truncated.xml"), ""), (server.url("/huge.xml"), "")]
    site = make_site(tmp_path / "site", feeds)
    first = masthead("import", "--site", str(site), "--publish")
    assert first.returncode == 1, first.stderr
    errors = [line for line in first.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {server.url('/truncated.xml')}: the document ends early (no element found): truncated?",
        f"error: {server.url('/huge.xml')}: refused: the body is over the limit of 10485760 bytes",
    ]
    records = written(site)
    assert len(records) == sum(n for _, _, n in GOOD.values()) == 12
    assert first.stdout.count("wrote content/") == 12
    assert "Imported 12 records from 8 feeds (2 failed)" in first.stderr

    check = masthead("check", "--site", str(site))
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("OK: 12 records")

    second = masthead("import", "--site", str(site), "--publish")
    assert second.returncode == 1
    assert "wrote" not in second.stdout
    assert written(site) == records
    conditional = [h for p, h in server.requests if p == "/harbour/rss"]
    assert conditional[-1].get("If-None-Match") == '"rss-media.xml"'
    assert f"{server.url('/harbour/rss')}: not modified since the last import" in second.stdout

    out = tmp_path / "out"
    build = masthead(
        "build", "--site", str(site), "--output", str(out), "--no-search", "--no-cache"
    )
    assert build.returncode == 0, build.stderr
    pages = sorted(out.glob("news/*/*/*/*/index.html"))
    titles = {
        load_record(p, p.name, load_config(site)).title for p in (site / "content").glob("*.md")
    }
    shown = {parse(p).h1.get_text(" ", strip=True) for p in pages}
    assert len(pages) == 12 and shown == titles
    assert scan_output(out, ()) == []
    assert all(SECRET not in text for text in records.values())


def import_here(site: Path, server: FeedServer, *sources: str, **options: object) -> ImportReport:
    """Import in this process with a fetcher that may reach only this test server."""
    fetcher = Fetcher(FetchLimits(), exempt=frozenset({("127.0.0.1", server.port)}))
    urls = tuple(server.url(s) if s.startswith("/") else s for s in sources)
    opts = ImportOptions(site, urls, now=NOW, fetcher=fetcher, **options)  # type: ignore[arg-type]
    return run_import(opts, say=lambda line: None, warn=lambda line: None)


def records_of(site: Path) -> dict[str, object]:
    result = load_records(site / "content", load_config(site))
    assert result.errors == ()
    return {r.web_url: r for r in result.records}


def test_rss_with_media_content(server: FeedServer, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [], allow=False)
    import_here(site, server, "/harbour/rss")
    found = records_of(site)
    ferry = found["https://www.ledger.example/harbour/2026/11/ferry-winter?id=42"]
    assert ferry.title == "Ferry timetable changes for the winter season"
    assert ferry.published is False  # a curator reviews first
    assert ferry.published_at == datetime(2026, 11, 17, 7, 15, tzinfo=UTC)
    assert ferry.provider.name == "The Marrowick Ledger — Harbour desk"
    assert ferry.provider.domain == "ledger.example"
    assert ferry.topics == ("Transport", "Climate Change")  # mapped through data/topics
    assert [(i.url, i.width, i.height) for i in ferry.images] == [
        ("https://img.ledger.example/ferry-1200.jpg", 1200, 675),
        ("https://img.ledger.example/ferry-thumb.jpg", 320, 180),
    ]
    assert ferry.excerpt.startswith("The Marrowick ferry will run every ninety minutes")
    video = found["https://www.ledger.example/harbour/2026/11/lighthouse-video"]
    assert video.type == "video" and ferry.type == "article"
    master = found["https://www.ledger.example/harbour/2026/11/harbour-master#comments"]
    # A relative image in RSS (no xml:base) resolves against the feed's own URL.
    assert master.images[0].url == server.url("/images/harbour-master.jpg")
    assert sorted(p.name for p in (site / "content").iterdir())[0] == (
        "2026-11-15-harbour-master-retires-after-thirty-years.md"
    )


def test_atom_with_xhtml_content_and_xml_base(server: FeedServer, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    import_here(site, server, "/blog/atom.xml")
    found = records_of(site)
    seals = found["https://bayside.example/blog/posts/2026/seal-count.html"]
    assert seals.title == "Seal pups counted on North Spit"
    assert seals.excerpt == (
        "Volunteers counted forty-one seal pups on the spit this week, up from twenty-nine"
        " last year. Read the counting method."
    )
    assert seals.published_at == datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
    assert seals.images[0].url == "https://bayside.example/blog/images/seals.jpg"
    assert seals.topics == ("Wildlife", "north-spit")
    assert "https://bayside.example/blog/posts/2026/boardwalk.html" in found


def test_json_feed_with_attachments(server: FeedServer, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    report = import_here(site, server, "/feed.json", topics=("Radio",), provider="QR")
    assert report.written == 2  # the item without an id is skipped
    found = records_of(site)
    episode = found["https://quayside.example/episodes/77"]  # utm_campaign removed
    assert [i.url for i in episode.images] == [
        "https://quayside.example/art/77.jpg",
        "https://quayside.example/art/77-wide.png",
    ]
    assert episode.topics == ("Radio", "Markets", "Podcasts")
    assert episode.provider.name == "QR" and episode.type == "article"
    film = found["https://quayside.example/episodes/78"]  # relative url, resolved
    assert film.type == "video"  # a video attachment
    assert film.excerpt == "The harbour regatta, in film. Boats, flags & spray."


def test_a_bad_date_becomes_the_time_of_import(server: FeedServer, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    with (site / "site.toml").open("a") as toml:
        toml.write('folder = "from-feeds"\n')  # still inside the [import] table
    import_here(site, server, "/late.xml")
    (record,) = records_of(site).values()
    assert record.published_at == NOW
    assert (site / "content" / "from-feeds" / "2026-12-01-a-story-dated-nonsense.md").is_file()


def test_hostile_entries_come_out_as_harmless_text(server: FeedServer, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    report = import_here(site, server, "/gulls.xml", "/controls.json")
    assert report.written == 4 and not report.failed  # the javascript: links made nothing
    texts = written(site)
    for text in texts.values():
        assert SECRET not in text
        assert not any(
            t in text.lower()
            for t in ("<script", "<img", "<iframe", "<a ", "on" + "error", "onclick", "<style")
        )
        assert "javascript" not in text.lower() and "data:" not in text
        assert all(c.isprintable() or c == "\n" for c in text)
    found = records_of(site)
    gulls = found["https://gulls.example/chips?id=7"]
    assert gulls.title == f"Gulls steal chips {MARKER}"
    assert gulls.excerpt == f"click {MARKER} Gulls took chips."
    assert gulls.images == ()
    assert gulls.topics[0] == f'!!python/object/apply:os.system ["echo {MARKER}"]'
    fence = found["https://gulls.example/fence"]
    assert fence.title == "---" and "secured" not in fence.extra
    bell = found["https://controls.example/a"]
    assert bell.title == f"Bell and escape [31mred [0m line {MARKER}"
    assert len(bell.topics) == 10 and bell.images == ()
    plain = found["https://controls.example/b"]
    assert len(plain.title) <= 500
    assert plain.excerpt == f"not bold & plain {MARKER}"  # the loader shows text without tags


def test_a_redirect_to_a_private_address_fails_that_feed_only(
    server: FeedServer, tmp_path: Path
) -> None:
    """The first hop is the exempt test server; the redirect target is checked again."""
    with serving() as internal:
        internal.add("/feed.xml", (FEEDS / "bad-date.xml").read_bytes())
        server.routes["/evil.xml"] = redirect(internal.url("/feed.xml"))
        server.routes["/metadata.xml"] = redirect("http://169.254.169.254/latest/meta-data/")
        site = make_site(tmp_path / "site", [], allow=False)
        report = import_here(site, server, "/evil.xml", "/metadata.xml", "/harbour/rss")
        assert internal.requests == []
    assert [o.error for o in report.failed] == [
        "refused 127.0.0.1: it resolves to 127.0.0.1, a loopback address (allow_private_hosts is off)",
        "refused 169.254.169.254: it resolves to 169.254.169.254, a link-local address"
        " (allow_private_hosts is off)",
    ]
    assert report.written == 3  # the good feed still imported


def test_options_limit_since_and_dry_run(server: FeedServer, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    dry = import_here(site, server, "/harbour/rss", dry_run=True)
    assert dry.written == 3 and written(site) == {}
    assert not (site / ".masthead-cache").exists()  # nothing remembered either
    since = datetime(2026, 11, 16, tzinfo=UTC)
    import_here(site, server, "/harbour/rss", since=since, limit=1)
    assert list(written(site)) == ["2026-11-17-ferry-timetable-changes-for-the-winter-season.md"]
    assert import_here(site, server, "/harbour/rss").written == 2  # the rest, not the first


def test_existing_records_and_files_are_never_overwritten(
    server: FeedServer, tmp_path: Path
) -> None:
    site = make_site(tmp_path / "site", [])
    content = site / "content"
    # The site already has the ferry story (another spelling of its URL, in a subfolder)...
    (content / "old").mkdir()
    (content / "old" / "2026-10-01-ferry.md").write_text(
        "---\ntitle: Ferry\npublishedDateTime: 2026-10-01T00:00:00Z\n"
        "originalUrl: HTTPS://WWW.LEDGER.EXAMPLE:443/harbour/2026/11/ferry-winter?id=42&utm_medium=x\n---\n"
    )
    # ...and a file where the lighthouse story would go, about something else.
    clash = content / "2026-11-16-watch-the-lighthouse-lamp-is-lit-again.md"
    clash.write_text("not a record of the feed")
    report = import_here(site, server, "/moved.xml")
    assert report.written == 2 and report.outcomes[0].known == 1
    assert clash.read_text() == "not a record of the feed"
    assert (content / "2026-11-16-watch-the-lighthouse-lamp-is-lit-again-2.md").is_file()


def test_the_same_story_in_two_feeds_is_written_once(server: FeedServer, tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    report = import_here(site, server, "/harbour/rss", "/moved.xml")
    assert [len(o.written) for o in report.outcomes] == [3, 0]
    assert report.outcomes[1].known == 3


def test_no_source_is_a_usage_error(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    done = masthead("import", "--site", str(site))
    assert done.returncode == 2 and "nothing to import" in done.stderr


def test_a_file_source_and_a_broken_document(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", [])
    junk = tmp_path / "junk.xml"
    junk.write_text("<html><body>Not a feed</body></html>")
    done = masthead(
        "import", "--site", str(site), str(FEEDS / "atom-xhtml.xml"), str(junk), "ftp://x.example/f"
    )
    assert done.returncode == 1
    assert f"error: {junk}: not an RSS, Atom or JSON feed" in done.stderr
    assert (
        "error: ftp://x.example/f: refused 'ftp://x.example/f': only http(s) URLs and files"
        in done.stderr
    )
    assert len(written(site)) == 2


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Short.", 300, "Short."),
        ("One sentence here. Two sentences here. Three sentences here.", 45, "One sentence here. Two sentences here."),
        ("One. " + "word " * 20, 40, "One. word word word word word word word…"),
        ("Averyveryverylongwordwithoutspaces", 10, "Averyvery…"),
    ],
)  # fmt: skip
def test_excerpts_are_cut_at_a_sentence_near_the_limit(
    text: str, limit: int, expected: str
) -> None:
    assert cut(text, limit) == expected
    assert len(cut(text, limit)) <= limit


def test_text_and_url_hygiene() -> None:
    assert plain_text("<p>A &amp; B<script>x()</script>\u0007 <b>C</b></p>") == "A & B C"
    assert without_tracking("https://a.example/p?utm_source=x&id=1&gclid=2&UTM_Term=3") == (
        "https://a.example/p?id=1"
    )
    assert normalise_url("HTTPS://A.example:443/p?utm_x=1#frag") == "https://a.example/p"
    assert normalise_url("http://a.example") == normalise_url("http://A.EXAMPLE:80/")


FORMATS = {
    "rss091": """<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
        <link>https://old.example/</link><description>d</description><language>en</language>
        <item><title>Made-up story</title><link>https://old.example/story</link>
        <description>Text.</description></item></channel></rss>""",
    "rss10": """<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <channel rdf:about="https://rdf.example/"><title>RDF</title><link>https://rdf.example/</link>
        <description>d</description></channel>
        <item rdf:about="https://rdf.example/story"><title>Made-up story</title>
        <link>https://rdf.example/story</link><description>Text.</description>
        <dc:date>2026-11-17T09:00:00Z</dc:date></item></rdf:RDF>""",
    "atom03": """<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#">
        <title>Atom 0.3</title><link rel="alternate" type="text/html" href="https://a03.example/"/>
        <modified>2026-11-17T09:00:00Z</modified>
        <entry><title>Made-up story</title><link rel="alternate" type="text/html"
        href="https://a03.example/story"/><id>tag:a03.example,2026:1</id>
        <issued>2026-11-17T09:00:00Z</issued><modified>2026-11-17T09:00:00Z</modified>
        <summary>Text.</summary></entry></feed>""",
    "json10": """{"version": "https://jsonfeed.org/version/1", "title": "JSON 1.0",
        "items": [{"id": 1, "url": "https://json.example/story", "title": "Made-up story",
        "content_text": "Text.", "date_published": "2026-11-17T09:00:00Z"}]}""",
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_feed_format_is_read(name: str) -> None:
    feed = read_feed(FORMATS[name].encode(), f"https://{name}.example/feed")
    (entry,) = feed.entries
    assert entry.title == "Made-up story"
    assert entry.link is not None and entry.link.endswith("/story")
    assert plain_text(entry.summary_html) == "Text."
    if name != "rss091":  # RSS 0.91 items have no date
        assert entry.published == datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/9", "title": "x", "items": []}', "version"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "needs a title"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}', "needs items"),
        (b"[1, 2]", "is an object"),
        (b"{not json", "not valid JSON"),
    ],
)
def test_json_feeds_are_validated(document: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        read_feed(document, "https://j.example/feed.json")


def test_the_import_table_of_site_toml(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "site.toml").write_text(
        "[import]\nfolder = 'feeds'\nexcerpt_length = 200\n"
        "[[import.feeds]]\nurl = 'https://a.example/rss'\ntopics = ['Sea']\nprovider = 'A'\n"
        "[[import.feeds]]\nurl = 'https://b.example/atom'\ntpoics = ['typo']\n"
    )
    config = load_config(tmp_path)
    assert config.imports.folder == "feeds" and config.imports.excerpt_length == 200
    assert [(f.url, f.topics, f.provider) for f in config.imports.feeds] == [
        ("https://a.example/rss", ("Sea",), "A"),
        ("https://b.example/atom", (), ""),
    ]
    assert "unknown key 'import.feeds[1].tpoics' ignored" in caplog.text
    assert "'import'" not in caplog.text


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[import]\nfeeds = ['https://a.example/rss']", r"import.feeds must be an array of tables"),
        ("[[import.feeds]]\ntopics = ['x']", r"import.feeds\[0\] needs a url"),
        ("[[import.feeds]]\nurl = 'https://a.example/'\ntopics = 'x'", r"import.feeds\[0\].topics must be a list"),
        ("[import]\nfolder = '../elsewhere'", "import.folder must be a folder inside the content folder"),
        ("[import]\nallow_private_hosts = 'yes'", "import.allow_private_hosts must be a boolean"),
    ],
)  # fmt: skip
def test_a_bad_import_table_names_the_key(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "site.toml").write_text(toml + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_image_sizes_in_other_scripts_digits_are_ignored_not_fatal() -> None:
    """`str.isdigit` is true for `²`, which `int` refuses: one such width ended the import."""
    rss = (
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t'
        "</title><item><title>Pier</title><link>https://p.example/pier</link>"
        '<media:content url="https://p.example/a.jpg" medium="image" width="²" height="7"/>'
        '<media:content url="https://p.example/b.jpg" medium="image" width="640" height="480"/>'
        "</item></channel></rss>"
    )
    feed = read_feed(rss.encode(), "https://p.example/feed", "application/rss+xml; charset=utf-8")
    entry = feed.entries[0]
    assert [(i.url, i.width, i.height) for i in entry.images] == [
        ("https://p.example/a.jpg", None, 7),
        ("https://p.example/b.jpg", 640, 480),
    ]


def test_a_file_source_without_a_size_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    """A pipe (`masthead import <(curl …)`) has no size to check first: it is read only
    up to the limit, not to its end."""
    site = make_site(tmp_path / "site", [])
    (site / "site.toml").write_text(
        (site / "site.toml").read_text() + "max_feed_bytes = 4096\n", encoding="utf-8"
    )
    pipe = tmp_path / "feed.pipe"
    os.mkfifo(pipe)

    def write() -> None:
        with contextlib.suppress(OSError), pipe.open("wb") as out:
            out.write(b"<rss>" + b" " * 100_000)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    report = run_import(ImportOptions(site, (str(pipe),), now=NOW), say=lambda _: None)
    writer.join(timeout=10)
    assert [o.error for o in report.outcomes] == [
        "refused: the file is over the limit of 4096 bytes"
    ]
