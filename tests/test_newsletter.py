"""The email edition: email-safe HTML, a plain-text part, the MIME message and sending.

Emails are read as a mail client would: HTML with html5lib, the message with the
standard library's email parser, delivery through a real SMTP server (aiosmtpd) on
loopback. The command runs as a user runs it, as a subprocess.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from masthead.building.build import Builder, BuildOptions, Mode, build
from masthead.diagnostics import ConfigError
from masthead.outputs.newsletter import MAX_BYTES
from tests.conftest import REPO, SHARED, SITES, Scratch, masthead
from tests.htmlcheck import parse
from tests.outputscan import MARKER, SECRET, scan_html

BASE = "https://digest.example/news-site/"
URL_ATTRIBUTES = ("href", "src", "background", "action", "poster", "srcset")


def _soup(data: bytes | str) -> BeautifulSoup:
    return BeautifulSoup(data, "html5lib")


def _emails(output: Path) -> list[Path]:
    return sorted(output.glob("editions/*/email.html"))


def newsletter(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`masthead newsletter`, its output as bytes: what it writes to stdout is a message."""
    return masthead("newsletter", *args, env={**os.environ, **(env or {})}, text=False)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's example site, built under a base URL with a sub-path."""
    out = tmp_path_factory.mktemp("example") / "public"
    report = build(
        BuildOptions(site_dir=REPO, output_dir=out, base_url=BASE, use_cache=False, search=False)
    )
    assert not report.failed
    return out


def email_problems(html: bytes, base_url: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """What would make this HTML unfit to mail, one line each (empty: fit)."""
    problems = []
    if len(html) >= MAX_BYTES:
        problems.append(f"{len(html)} bytes: Gmail clips a message over 102 KB")
    soup = _soup(html)
    if soup.find("script"):
        problems.append("a <script>")
    for link in soup.find_all("link"):
        problems.append(f"a <link rel={link.get('rel')}>")
    for style in soup.find_all("style"):
        css = style.string or ""
        if "@import" in css or "@font-face" in css or "url(" in css:
            problems.append("an import, web font or URL in <style>")
        if re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", css).strip():
            problems.append(f"CSS left to inline: {css[:80]!r}")
    for element in soup.find_all(True):
        for name in URL_ATTRIBUTES:
            value = element.get(name)
            if value is None or value in allowed:
                continue
            parts = urlsplit(value)
            if parts.scheme == "mailto":
                continue
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"relative or unsafe URL {name}={value!r} on <{element.name}>")
            elif parts.netloc == urlsplit(base_url).netloc and not value.startswith(base_url):
                problems.append(f"URL {name}={value!r} outside the site's base {base_url}")
    for image in soup.find_all("img"):
        width, height = image.get("width", ""), image.get("height", "")
        if not (width.isdigit() and height.isdigit()) or image.get("alt") is None:
            problems.append(f"<img> without width, height or alt: {image}")
        elif int(width) > 600:
            problems.append(f"<img> {width} px wide")
    return problems


def test_every_email_of_the_example_site_is_fit_to_mail(example: Path) -> None:
    emails = _emails(example)
    assert len(emails) == len(list(example.glob("editions/*/index.html"))) > 5
    for path in emails:
        data = path.read_bytes()
        assert email_problems(data, BASE) == [], path
        soup = _soup(data)
        assert soup.find("meta", attrs={"name": "color-scheme"})["content"] == "light dark"
        assert soup.find("meta", attrs={"name": "robots"})["content"] == "noindex"
        css = soup.style.string
        assert "@media (prefers-color-scheme: dark)" in css and "max-width: 620px" in css
        assert soup.find("table", attrs={"role": "presentation"}) is not None
        # Inlined: the story's elements carry their style themselves.
        assert "font-family" in soup.select_one(".headline")["style"]
        assert soup.find("img") is not None
        assert data.startswith(b'<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">')


def _web_edition(output: Path, email: Path) -> list[tuple[str, list[str]]]:
    """Sections of the web edition beside `email`: heading and absolute story links."""
    page = parse(email.parent / "index.html")
    return [
        (
            section.h2.get_text(strip=True).upper(),
            [
                BASE.rstrip("/") + "/" + a["href"][len("/news-site/") :]
                for a in section.select(".card-title a")
            ],
        )
        for section in page.select("section.edition-section")
    ]


def _email_sections(email: Path) -> list[tuple[str, list[str]]]:
    soup = parse(email)
    sections: list[tuple[str, list[str]]] = []
    for cell in soup.select("td.section, h2.headline a"):
        if cell.name == "td":
            sections.append((cell.get_text(strip=True).upper(), []))
        else:
            sections[-1][1].append(cell["href"])
    return sections


def test_the_email_shows_the_web_editions_top_stories_grouped_alike(example: Path) -> None:
    for email in _emails(example):
        web, mail = _web_edition(example, email), _email_sections(email)
        shown = [link for _, links in mail for link in links]
        ranked = [link for _, links in web for link in links]
        assert set(shown) <= set(ranked) and len(shown) == min(10, len(ranked))
        # The same sections in the same order, each with the web's stories in its order.
        web_kept = [(name, [u for u in links if u in shown]) for name, links in web]
        assert mail == [(name, links) for name, links in web_kept if links]
        soup = parse(email)
        (preheader,) = soup.select("div.preheader")
        assert preheader is soup.body.find(True)  # first in the body: the inbox preview
        assert "display: none" in preheader["style"]
        lead = soup.select_one("h2.headline a")
        assert preheader.get_text().startswith(lead.get_text())
        edition_url = BASE + email.parent.relative_to(example).as_posix() + "/"
        assert edition_url in [a["href"] for a in soup.find_all("a")]
        footer = soup.select_one("td.footer")
        assert BASE in footer.get_text()
        assert footer.find("a", string="Unsubscribe")["href"].startswith("mailto:newsletter@")
        # Every link to this site leads to a page of the build.
        for a in soup.find_all("a"):
            if a["href"].startswith(BASE):
                rel = a["href"][len(BASE) :]
                assert (example / rel / "index.html").is_file() or rel == "", a["href"]


def test_the_plain_text_part_reads_on_its_own(example: Path) -> None:
    for email in _emails(example):
        text = (email.parent / "email.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            alone = bool(re.fullmatch(r"https?://\S+|mailto:\S+", line))
            assert len(line) <= 72 or alone, line
        assert "<" not in text and "&amp;" not in text and "&#" not in text
        assert "\n\n\n" not in text and "-- \n" in text
        soup = parse(email)
        for headline in soup.select("h2.headline a"):
            title = " ".join(headline.get_text().split())
            assert title in " ".join(text.split())
            assert headline["href"] in text.split()
        for meta in soup.select("p.meta"):
            provider = meta.get_text().split(" · ")[0]
            assert provider in text


def test_options_limit_and_turn_off_the_email(scratch: Scratch) -> None:
    for n in range(4):
        scratch.add(f"2026-11-18-s{n}.md", title=f"Story {n}", quality=n, topics=("Climate",))
    scratch.config('[newsletter]\nstories = 2\naddress = "1 Quay Street, Marrowick"\n')
    scratch.build()
    email = scratch.output / "editions/2026-11-18/email.html"
    soup = parse(email)
    assert [a.get_text() for a in soup.select("h2.headline a")] == ["Story 3", "Story 2"]
    assert "2 more stories in today’s edition" in soup.select_one("a.button").get_text()
    assert "1 Quay Street, Marrowick" in soup.select_one("td.footer").get_text()
    text = (email.parent / "email.txt").read_text()
    assert "1 Quay Street, Marrowick" in text and "2 more stories" in text
    # A sending service's placeholder goes into the footer's link as it is.
    scratch.config('[newsletter]\nunsubscribe_url = "*|UNSUB|*"\n')
    scratch.build()
    data = email.read_bytes()
    assert _soup(data).find("a", string="Unsubscribe")["href"] == "*|UNSUB|*"
    assert email_problems(data, "http://localhost:8000/", frozenset({"*|UNSUB|*"})) == []
    assert email_problems(data, "http://localhost:8000/") != []
    assert "Unsubscribe: *|UNSUB|*" in (email.parent / "email.txt").read_text()
    scratch.config("[newsletter]\nenabled = false\n")
    report = scratch.build()
    assert not email.exists() and "editions/2026-11-18/email.html" in report.removed_paths
    scratch.config("[newsletter]\nstories = 0\n")
    with pytest.raises(ConfigError, match=r"newsletter\.stories must be at least 1"):
        scratch.build()
    scratch.config('[newsletter]\nsender_address = "a@b.example>\\nBcc: x@y"\n')
    with pytest.raises(ConfigError, match=r"newsletter\.sender_address must be one line"):
        scratch.build()


def test_a_sites_own_templates_override_the_emails(scratch: Scratch) -> None:
    scratch.add("2026-11-18-a.md", title="Lighthouse keeper retires")
    scratch.template(
        "email.txt", "{% autoescape false %}Today: {{ newsletter.lead.title }}{% endautoescape %}"
    )
    scratch.template(
        "email.html",
        "<!DOCTYPE html><html><head><style>p { color: red }</style></head>"
        "<body><p>{{ newsletter.lead.title }}</p></body></html>",
    )
    scratch.build()
    folder = scratch.output / "editions/2026-11-18"
    assert (folder / "email.txt").read_text() == "Today: Lighthouse keeper retires\n"
    soup = parse(folder / "email.html")
    assert soup.p["style"] == "color: red;" and soup.find("style") is None  # inlined


def test_an_edit_re_renders_only_the_email_that_shows_the_story(scratch: Scratch) -> None:
    def story(day: int, n: int, title: str) -> Path:
        return scratch.add(
            f"2026-11-{day}-s{n}.md",
            title=title,
            when=f"2026-11-{day}T0{n}:00:00Z",
            url=f"https://news.example/{day}-{n}",
        )

    for day in (17, 18, 19):
        for n in range(2):
            story(day, n, f"Story {day}-{n}")
    scratch.build()
    emails = ["editions/2026-11-18/email.html", "editions/2026-11-18/email.txt"]
    for path, title, how in (
        (story(18, 1, "A new headline"), "A new headline", "fresh"),
        (story(18, 0, "Another headline"), "Another headline", "preview"),
    ):
        before = {p: p.read_bytes() for p in scratch.output.glob("editions/*/email.*")}
        if how == "fresh":  # `masthead build`: the pages to redo come from the stored model
            report = scratch.build()
            assert "model" not in report.timings
        else:  # the preview's Builder, told which file changed: the model is patched
            builder = Builder(BuildOptions(site_dir=scratch.root, mode=Mode.WATCH))
            builder.build()
            path.write_text(path.read_text().replace(title, title + "!"))
            title += "!"
            report = builder.build({path})
            assert "scan" not in report.timings
        assert sorted(p for p in report.written_paths if "/email." in p) == emails
        after = {p: p.read_bytes() for p in scratch.output.glob("editions/*/email.*")}
        changed = [p.relative_to(scratch.output).as_posix() for p in after if after[p] != before[p]]
        assert sorted(changed) == emails
        assert title.encode() in (scratch.output / emails[0]).read_bytes()
        assert title.encode() in (scratch.output / emails[1]).read_bytes()
        # The same as a clean build would write.
        clean = scratch.root / "clean"
        build(BuildOptions(site_dir=scratch.root, output_dir=clean, use_cache=False))
        for file, data in after.items():
            assert (clean / file.relative_to(scratch.output)).read_bytes() == data


def test_hostile_records_leak_nothing_into_the_email(tmp_path: Path) -> None:
    out = tmp_path / "public"
    site = SITES / "hostile"
    build(BuildOptions(site_dir=site, output_dir=out, cache_dir=tmp_path / "cache", search=False))
    emails = _emails(out)
    assert len(emails) >= 2
    shown = 0
    for email in emails:
        html = email.read_text(encoding="utf-8")
        assert list(scan_html(html, frozenset())) == [], email
        assert email_problems(email.read_bytes(), "https://digest.example/sub/") == [], email
        text = (email.parent / "email.txt").read_text(encoding="utf-8")
        assert SECRET not in html and SECRET not in text
        for word in re.findall(r"\S+://\S*|\b(?:javascript|vbscript|data|file):\S*", text, re.I):
            assert re.match(r"https?://[^\s<>\"]+$", word), (email, word)
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), email
        shown += html.count(MARKER) > 0 and text.count(MARKER) > 0
    assert shown >= 1  # the payloads are in the emails, as text


# --- The command ----------------------------------------------------------------


@pytest.fixture(scope="module")
def mailsite(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    site = Scratch(tmp_path_factory.mktemp("mail") / "site")
    site.config(
        f'title = "Quay Post"\nbase_url = "{BASE}"\n[newsletter]\nsender_name = "Quay Post desk"\n'
    )
    site.add("2026-11-17-a.md", title="Ferry timetable changes", when="2026-11-17T08:00:00Z")
    site.add(
        "2026-11-18-b.md", title="Harbour crane stops — Ærø ferry late", when="2026-11-18T08:00:00Z"
    )
    site.add("2026-11-18-c.md", title="Second story of the day", when="2026-11-18T09:00:00Z")
    assert not site.build().failed
    return site


def _parse_message(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def _check_message(message: EmailMessage, site: Scratch, day: str) -> None:
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert [text.get_content_type(), html.get_content_type()] == ["text/plain", "text/html"]
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    folder = site.output / "editions" / day
    # MIME's line ending is CRLF, which a mail client reads as the file's newlines.
    assert text.get_content().replace("\r\n", "\n") == (folder / "email.txt").read_text("utf-8")
    assert html.get_content().replace("\r\n", "\n") == (folder / "email.html").read_text("utf-8")
    assert message["From"].addresses[0].display_name == "Quay Post desk"
    assert message["From"].addresses[0].addr_spec == "newsletter@digest.example"
    assert message["Subject"].startswith("Quay Post: ")
    assert message["Date"].datetime is not None and message["Message-ID"]
    assert message["List-Unsubscribe"] == "<mailto:newsletter@digest.example?subject=unsubscribe>"


def test_newsletter_writes_the_latest_edition_as_a_mime_message(
    mailsite: Scratch, tmp_path: Path
) -> None:
    eml = tmp_path / "latest.eml"
    done = newsletter("--site", mailsite.root, "--to", eml)
    assert done.returncode == 0, done.stderr
    data = eml.read_bytes()
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))  # RFC 5322's line limit
    message = _parse_message(data)
    _check_message(message, mailsite, "2026-11-18")
    assert message["Subject"] == "Quay Post: Wednesday 18 November 2026"
    # A named day; without --to, the message goes to stdout.
    done = newsletter("2026-11-17", "--site", mailsite.root)
    assert done.returncode == 0, done.stderr
    _check_message(_parse_message(done.stdout), mailsite, "2026-11-17")


def test_the_message_leaves_out_what_the_build_leaves_out(scratch: Scratch, tmp_path: Path) -> None:
    """A story image whose site path leads nowhere is not in the built email: nor in the
    message, which is rendered from the same site in memory."""
    scratch.config(f'base_url = "{BASE}"\n')
    (scratch.root / "static" / "img").mkdir(parents=True)
    (scratch.root / "static" / "img" / "here.jpg").write_bytes(b"\xff\xd8\xff")
    for name, image in (("a", "/img/here.jpg"), ("b", "/img/gone.jpg")):
        extra = f"images:\n  - url: {image}\n    width: 800\n    height: 450\n"
        scratch.add(f"2026-11-18-{name}.md", title=f"Story {name}", extra=extra)
    assert not scratch.build().failed
    eml = tmp_path / "day.eml"
    done = newsletter("--site", scratch.root, "--to", eml)
    assert done.returncode == 0, done.stderr
    html = _parse_message(eml.read_bytes()).get_body(("html",)).get_content()
    built = (scratch.output / "editions" / "2026-11-18" / "email.html").read_text("utf-8")
    assert html.replace("\r\n", "\n") == built
    sources = [img["src"] for img in _soup(html).find_all("img")]
    assert any(src.endswith("/img/here.jpg") for src in sources)
    assert not any("gone.jpg" in src for src in sources)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["2026-11-20"],
            "no edition for 2026-11-20: no story is dated that day in UTC "
            "(editions run from 2026-11-17 to 2026-11-18)",
        ),
        (
            ["--smtp", "nohost", "--recipient", "a@b.example"],
            "--smtp 'nohost': expected HOST:PORT, such as mail.example.org:587",
        ),
    ],
)
def test_bad_input_is_a_clear_error(
    mailsite: Scratch, args: list[str], message: str, tmp_path: Path
) -> None:
    eml = tmp_path / "x.eml"
    done = newsletter("--site", mailsite.root, "--to", eml, *args)
    assert done.returncode == 1
    assert done.stderr.decode() == f"error: {message}\n"
    assert not eml.exists()


def test_a_site_without_stories_has_no_edition_to_send(scratch: Scratch) -> None:
    done = newsletter("--site", scratch.root)
    assert done.returncode == 1
    assert b"no stories, so no edition to send" in done.stderr and done.stdout == b""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.envelopes.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def test_sending_delivers_one_identical_message_per_recipient(
    mailsite: Scratch, smtp_server: tuple[int, _Inbox]
) -> None:
    port, inbox = smtp_server
    recipients = ["ada@readers.example", "bo@readers.example", "cy@readers.example"]
    args = [a for r in recipients for a in ("--recipient", r)]
    done = newsletter("--site", mailsite.root, "--smtp", f"127.0.0.1:{port}", *args)
    assert done.returncode == 0, done.stderr
    assert b"to 3 recipients" in done.stderr and done.stdout == b""
    assert [(frm, rcpt) for frm, rcpt, _ in inbox.envelopes] == [
        ("newsletter@digest.example", [r]) for r in recipients
    ]
    bodies = {data for _, _, data in inbox.envelopes}
    assert len(bodies) == 1  # the same bytes for everyone
    _check_message(_parse_message(bodies.pop()), mailsite, "2026-11-18")


def test_an_unreachable_server_or_unsafe_login_is_a_clear_error(mailsite: Scratch) -> None:
    port = _free_port()  # nothing listens there
    done = newsletter(
        "--site",
        mailsite.root,
        "--smtp",
        f"127.0.0.1:{port}",
        "--recipient",
        "a@b.example",
    )
    assert done.returncode == 1
    assert done.stderr.decode().startswith(f"error: mail server 127.0.0.1:{port}: cannot reach it:")
    # A password is never sent in the clear to another machine (refused before connecting).
    secrets = {"MASTHEAD_SMTP_USER": "desk", "MASTHEAD_SMTP_PASSWORD": "hunter2"}
    done = newsletter(
        "--site",
        mailsite.root,
        "--smtp",
        "192.0.2.1:25",
        "--recipient",
        "a@b.example",
        env=secrets,
    )
    assert done.returncode == 1 and b"add --starttls" in done.stderr
    assert b"hunter2" not in done.stderr
    # Credentials are not command-line options.
    assert newsletter("--site", mailsite.root, "--password", "x").returncode == 2


CORPUS = SHARED / "corpus" / "powerapps"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/powerapps is not available")
def test_the_busiest_day_of_the_powerapps_corpus_stays_under_gmails_limit(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    # Every story of the day in the email, not just the default ten: the worst case.
    (site / "site.toml").write_text(
        'title = "Power Apps news"\nbase_url = "https://example.org/digest/"\n[newsletter]\nstories = 100\n'
    )
    out = tmp_path / "out"
    build(
        BuildOptions(
            site_dir=site, content_dir=CORPUS, output_dir=out, use_cache=False, search=False
        )
    )
    emails = _emails(out)
    web = {p: len(parse(p.parent / "index.html").select(".card")) for p in emails}
    busiest = max(emails, key=lambda p: web[p])
    assert web[busiest] >= 8
    assert len(parse(busiest).select("h2.headline")) == web[busiest]
    assert email_problems(busiest.read_bytes(), "https://example.org/digest/") == []
    assert max(p.stat().st_size for p in emails) < MAX_BYTES


def test_the_email_checks_above_can_fail() -> None:
    """email_problems, which the tests above expect empty, names each kind of problem."""
    bad = (
        b"<!DOCTYPE html><html><head><link rel=stylesheet href=https://x.example/a.css>"
        b"<style>p { color: red } @font-face { src: url(x.woff) }</style></head><body>"
        b"<script>1</script><a href='/news/'>x</a><a href='javascript:alert(1)'>y</a>"
        b"<a href='https://digest.example/elsewhere/'>z</a>"
        b"<img src='https://x.example/a.png' width=700 height=10 alt=''>"
        b"<img src='https://x.example/b.png' alt='b'>" + b"x" * MAX_BYTES + b"</body></html>"
    )
    found = " | ".join(email_problems(bad, BASE))
    for fragment in (
        "Gmail clips", "a <script>", "a <link", "web font", "CSS left to inline",
        "URL href='/news/'", "URL href='javascript:alert(1)'", "700 px wide",
        "outside the site's base",
        "without width, height or alt",
    ):  # fmt: skip
        assert fragment in found, fragment
