"""URL hygiene for record fields: only http(s) and site-relative paths reach the output."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
# The common case, decided without urlsplit: http(s), a plain host, no entities, no controls.
_PLAIN_HTTP = re.compile(
    r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][^\x00-\x20\x7f-\x9f\\&]*)?\Z", re.IGNORECASE
)
MAX_URL = 4096


def safe_url(value: str) -> str | None:
    """Return `value` if it is an http(s) URL or a `/path` on this site, else None.

    Browsers ignore tabs and newlines inside URLs and decode entities in attributes, so
    `java\\tscript:` or `&#106;avascript:` must fail here too: any control character,
    whitespace or backslash rejects the URL, and the entity-decoded form must pass as well.
    """
    value = value.strip()
    if not value or len(value) > MAX_URL:
        return None
    if _PLAIN_HTTP.match(value):
        return value
    for candidate in {value, html.unescape(value)}:
        if _UNSAFE_CHARS.search(candidate) or not _allowed(candidate):
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
