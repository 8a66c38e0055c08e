"""URL hygiene for record fields: only http(s) and site-relative paths reach the output."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, urlsplit

# Controls, whitespace and backslashes, which browsers strip or read as `/`, and the
# markup characters `<>"` and backtick, which no URL holds unencoded.
_UNSAFE_CHARS = re.compile(r'[\x00-\x20\x7f-\x9f\\<>"`]')
# The common case, decided without urlsplit: http(s), a plain host, printable ASCII with
# no entities, no controls and no markup characters.
_PLAIN_HTTP = re.compile(
    r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!#-%\'-;=?-\[\]-_a-~]*)?\Z", re.IGNORECASE
)
MAX_URL = 4096


def safe_url(value: str) -> str | None:
    """Return `value` if it is an http(s) URL or a `/path` on this site, else None.

    Browsers ignore tabs and newlines inside URLs and decode entities in attributes, so
    `java\\tscript:` or `&#106;avascript:` must fail here too: any control character,
    whitespace, backslash or markup character rejects the URL, and the entity-decoded
    form must pass as well.
    """
    value = value.strip()
    if not value or len(value) > MAX_URL:
        return None
    if _PLAIN_HTTP.match(value):
        return value
    for candidate in {value, html.unescape(value)}:
        # isprintable() also refuses U+2028, zero-width and bidi-override characters.
        unsafe = _UNSAFE_CHARS.search(candidate) or not candidate.isprintable()
        if unsafe or not _allowed(candidate):
            return None
    return value


def _allowed(url: str) -> bool:
    if url.startswith("/"):
        return not url.startswith("//")
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
LINK_SCHEMES = frozenset({"http", "https", "mailto"})


def safe_link(url: str) -> bool:
    """Whether a link written in a record's Markdown body may be kept.

    Bodies link to relative pages and fragments as well, so this is looser than
    `safe_url`, but a scheme, once present, must be http, https or mailto. markdown-it
    hands the link over entity-decoded with controls percent-encoded; the scheme is
    judged on the percent-decoded form without controls too, so `java%09script:` fails.
    """
    for candidate in (url, _UNSAFE_CHARS.sub("", unquote(url))):
        match = _SCHEME.match(candidate)
        if match is not None and match.group(1).lower() not in LINK_SCHEMES:
            return False
    return True
