"""Every host allowlist against look-alike hosts: the iframe hosts of featuredContent.

The class of bug: a host compared by suffix, by prefix or by substring instead of exactly,
or a check that reads the host differently from the browser. Both shapes of look-alike are
tried (`notyoutube.com`, `www.youtube.com.evil.example`), with punycode and Unicode
look-alikes, trailing dots, userinfo and ports; the controls show that the real hosts,
in any letter case and with a port, are kept.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic
from masthead.records.embeds import sanitize_embed
from masthead.records.loader import parse_record

DEFAULT_HOSTS = SiteConfig().iframe_hosts


def _lookalikes(host: str) -> list[str]:
    """Hosts a careless comparison with `host` would accept; none of them is `host`."""
    label, _, rest = host.partition(".")
    return [
        f"not{host}",  # suffix match
        f"evil-{host}",
        f"{host}.evil.example",  # prefix match
        f"{host}evil.example",
        f"evil.example.{host}.evil.example",  # substring match
        f"sub.{host}",  # a subdomain is another host
        f"{host}.",  # trailing dot: not the configured spelling
        f"{host}..",
        f".{host}",
        f"{label}.{rest}.",
        f"xn--{label}-9ja.{rest}",  # punycode look-alike
        f"{label.replace('o', 'о', 1).replace('e', 'е', 1)}.{rest}",  # Cyrillic о and е
        f"{label}\u200b.{rest}",  # zero-width space
        f"{label}。{rest}",  # ideographic full stop
        f"{label[:-1]}.{rest}",  # one letter short
    ]


def _src_kept(src: str, hosts: tuple[str, ...] = DEFAULT_HOSTS) -> str | None:
    """The src of the iframe that survives sanitising, parsed back from the HTML."""
    html = sanitize_embed(f'<iframe src="{src}" width="560" height="315"></iframe>', hosts)
    frames = BeautifulSoup(html, "html5lib").find_all("iframe")
    assert len(frames) <= 1
    return frames[0]["src"] if frames else None


@pytest.mark.parametrize("host", DEFAULT_HOSTS)
def test_each_default_host_is_kept_exactly(host: str) -> None:
    src = f"https://{host}/embed/abc123"
    assert _src_kept(src) == src


@pytest.mark.parametrize(
    ("host", "lookalike"),
    [(h, bad) for h in DEFAULT_HOSTS for bad in _lookalikes(h) if bad not in DEFAULT_HOSTS],
)
def test_lookalikes_of_each_default_host_are_dropped(host: str, lookalike: str) -> None:
    assert _src_kept(f"https://{lookalike}/embed/abc123") is None


@pytest.mark.parametrize(
    "src",
    [
        "https://notyoutube.com/embed/x",
        "https://www.youtube.com.evil.example/embed/x",
        "https://www.youtube.com@evil.example/embed/x",  # userinfo: the host is evil.example
        "https://www.youtube.com:443@evil.example/embed/x",
        "https://www.youtube.com:@evil.example/embed/x",
        "https://user@www.youtube.com/embed/x",  # userinfo on the right host: still refused
        "https://user:pass@www.youtube.com/embed/x",
        "https://evil.example/www.youtube.com/embed/x",
        "https://evil.example/?u=https://www.youtube.com/embed/x",
        "https://evil.example#@www.youtube.com/embed/x",
        "https://evil.example\\@www.youtube.com/embed/x",  # backslash: browsers read a `/`
        "https://www.youtube.com%2F@evil.example/embed/x",
        "https://www.youtube.com%40evil.example/embed/x",
        "https://www.youtube.com\t.evil.example/embed/x",
        "https:www.youtube.com/embed/x",  # no authority at all
        "https:/www.youtube.com/embed/x",
        "//www.youtube.com/embed/x",  # scheme-relative
        "http://www.youtube.com/embed/x",  # https only
        "javascript://www.youtube.com/%0aalert(1)",
        "https://[::1]/embed/x",
        "https://127.0.0.1/embed/x",
        "https://www.youtube.com.:443/embed/x",
        "https://WWW.YOUTUBE.COM.EVIL.EXAMPLE/embed/x",
        "https://NOTYOUTUBE.COM/embed/x",
        "https://www.youtube.com&#64;evil.example/embed/x",  # an entity for @
    ],
)
def test_lookalike_urls_of_both_shapes_are_dropped(src: str) -> None:
    assert _src_kept(src) is None


@pytest.mark.parametrize(
    "src",
    [
        "https://WWW.YouTube.COM/embed/x",  # host names are case-insensitive
        "https://www.youtube.com:443/embed/x",  # a port on the right host is the right host
        "https://player.vimeo.com:8443/video/1",
        "https://www.youtube.com/embed/x?start=10#t",
    ],
)
def test_the_right_host_in_another_spelling_is_kept(src: str) -> None:
    assert _src_kept(src) == src


CUSTOM = ("Video.Example.ORG",)  # a configured host, written in mixed case


@pytest.mark.parametrize("lookalike", _lookalikes("video.example.org"))
def test_a_configured_host_gets_the_same_exact_match(lookalike: str) -> None:
    assert _src_kept("https://video.example.org/v/1", CUSTOM) == "https://video.example.org/v/1"
    assert _src_kept(f"https://{lookalike}/v/1", CUSTOM) is None
    assert _src_kept("https://www.youtube.com/embed/x", CUSTOM) is None  # not configured


@pytest.mark.parametrize(
    ("src", "kept"),
    [
        ("https://www.youtube.com/embed/x", True),
        ("https://notyoutube.com/embed/x", False),
        ("https://www.youtube.com.evil.example/embed/x", False),
        ("https://www.youtube.com@evil.example/embed/x", False),
    ],
)
def test_featured_content_of_a_record_goes_through_the_allowlist(src: str, kept: bool) -> None:
    """The loader applies the site's iframe_hosts, and says so when it drops an embed."""
    front = (
        'title: "T"\npublishedDateTime: 2026-11-18T09:30:00Z\n'
        f"featuredContent: '<iframe src=\"{src}\"></iframe>'\n"
    )
    warnings: list[Diagnostic] = []
    record = parse_record(f"---\n{front}---\n".encode(), "embed.md", SiteConfig(), warnings)
    frames = BeautifulSoup(record.embed_html, "html5lib").find_all("iframe")
    assert [f["src"] for f in frames] == ([src] if kept else [])
    dropped = [w for w in warnings if "embed dropped" in w.message]
    assert len(dropped) == (0 if kept else 1)
    assert all(w.path == "embed.md" and w.line == 4 for w in dropped)  # line 4 of the file
