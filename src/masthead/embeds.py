"""featuredContent: third-party embed HTML reduced to allowlisted https iframes."""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3
from markupsafe import escape

IFRAME_ATTRIBUTES = frozenset(
    {"src", "width", "height", "title", "allow", "allowfullscreen", "referrerpolicy"}
)
"""`frameborder` and the like are obsolete in HTML5 and are dropped."""


def sanitize_embed(markup: str, hosts: Iterable[str]) -> str:
    """Return only the `<iframe>`s of `markup` whose src is https on one of `hosts`.

    nh3 (the Ammonia sanitiser) removes everything but iframes and their harmless
    attributes; the result is then re-parsed and re-serialised from the attribute values
    alone, so an iframe whose src was refused disappears instead of surviving empty.
    """
    allowed = {h.lower() for h in hosts}

    def keep(_tag: str, attribute: str, value: str) -> str | None:
        if attribute == "src":
            return value if _is_allowed_src(value, allowed) else None
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


def _is_allowed_src(src: str, hosts: set[str]) -> bool:
    try:
        parts = urlsplit(src.strip())
    except ValueError:
        return False
    return parts.scheme == "https" and (parts.hostname or "") in hosts and not parts.username


def _serialise(attrs: dict[str, str | None]) -> str:
    attrs.setdefault("title", "Embedded video")
    out = ["<iframe"]
    for name in sorted(attrs.keys() & IFRAME_ATTRIBUTES):
        value = attrs[name]
        if name in ("width", "height") and not (value or "").isdigit():
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
