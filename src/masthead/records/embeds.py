"""featuredContent: third-party embed HTML reduced to allowlisted https iframes."""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3
from markupsafe import escape

from masthead.records.safeurl import safe_url

IFRAME_ATTRIBUTES = frozenset(
    {"src", "width", "height", "title", "allow", "allowfullscreen", "referrerpolicy"}
)
"""`frameborder` and the like are obsolete in HTML5 and are dropped."""

ALLOWED_FEATURES = frozenset(
    {
        "accelerometer", "autoplay", "clipboard-write", "encrypted-media", "fullscreen",
        "gyroscope", "picture-in-picture", "web-share",
    }
)  # fmt: skip
"""Permissions an embed may ask for in `allow`: what video players use, never camera,
microphone, geolocation or payment."""


def sanitize_embed(markup: str, hosts: Iterable[str]) -> str:
    """Return only the `<iframe>`s of `markup` whose src is https on one of `hosts`.

    nh3 (the Ammonia sanitiser) removes everything but iframes and their harmless
    attributes; the result is then re-parsed and re-serialised from the attribute values
    alone, so an iframe whose src was refused disappears instead of surviving empty.
    """
    allowed = {h.lower() for h in hosts}

    def keep(_tag: str, attribute: str, value: str) -> str | None:
        if attribute == "src":
            return _allowed_src(value, allowed)
        return value

    cleaned = nh3.clean(
        markup,
        tags={"iframe"},
        attributes={"iframe": set(IFRAME_ATTRIBUTES)},
        attribute_filter=keep,
        url_schemes={"https"},
        link_rel=None,
        strip_comments=True,
    )
    collector = _IframeCollector()
    collector.feed(cleaned)
    collector.close()
    return "".join(_serialise(attrs) for attrs in collector.iframes if attrs.get("src"))


def _allowed_src(src: str, hosts: set[str]) -> str | None:
    """`src` trimmed, if it is https on one of `hosts`; else None."""
    checked = safe_url(src)  # no controls, backslashes or entity tricks that fool a host check
    if checked is None:
        return None
    parts = urlsplit(checked)
    ok = parts.scheme == "https" and (parts.hostname or "") in hosts and not parts.username
    return checked if ok else None


def _allow_list(value: str) -> str:
    """The `allow` policy reduced to ALLOWED_FEATURES, each without an origin list."""
    features = (item.strip().split(" ", 1)[0].lower() for item in value.split(";"))
    return "; ".join(dict.fromkeys(f for f in features if f in ALLOWED_FEATURES))


def _serialise(attrs: dict[str, str | None]) -> str:
    attrs.setdefault("title", "Embedded video")
    out = ["<iframe"]
    for name in sorted(attrs.keys() & IFRAME_ATTRIBUTES):
        value = attrs[name]
        if name in ("width", "height") and not (value or "").isdigit():
            continue
        if name == "allow" and not (value := _allow_list(value or "")):
            continue
        if name == "allowfullscreen":
            out.append(" allowfullscreen")
        else:
            out.append(f' {name}="{escape(value or "")}"')
    out.append(' loading="lazy"></iframe>')
    return "".join(out)


class _IframeCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.iframes: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.iframes.append(dict(attrs))
