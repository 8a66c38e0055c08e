"""A scanner for injected markup in built output, for corpora whose payloads carry a marker.

Every payload in a hostile corpus contains MARKER, and every secret contains SECRET.
`scan_output` reads every file the build wrote, each with a parser for its type, and
returns one line per problem, so a test can assert the list is empty and show all of it.
HTML is parsed with html5lib, the way a browser would; XML and JSON files are parsed and
their text values checked as URLs or, when they hold markup (feed content), as HTML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

from bs4 import BeautifulSoup, Comment, Tag

MARKER = "MHXSS"
SECRET = "MHSECRET"

URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "action", "formaction", "poster", "cite", "data", "background",
        "srcset", "xlink:href", "ping", "manifest", "longdesc", "codebase", "icon",
    }
)  # fmt: skip
TEXT_ATTRIBUTES = frozenset({"title", "alt", "content", "aria-label", "datetime", "value"})
"""Attributes a browser only ever shows (or ignores) as text: a marker there is harmless."""
IFRAME_ATTRIBUTES = frozenset(
    {"src", "width", "height", "title", "allow", "allowfullscreen", "referrerpolicy", "loading"}
)
NEVER_EMITTED = frozenset({"object", "embed", "applet", "frame", "frameset", "base"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_CONTROLS = re.compile(r"[\x00-\x20]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")


def scan_output(root: Path, iframe_hosts: Iterable[str]) -> list[str]:
    """Every problem in every file under `root`, as `relative/path: what`."""
    hosts = frozenset(iframe_hosts)
    problems: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("pagefind/") and path.suffix in (".js", ".css"):
            continue  # Pagefind's own interface, as the pagefind package ships it
        data = path.read_bytes()
        problems.extend(f"{rel}: {p}" for p in _scan_file(path.suffix, data, hosts))
    return problems


def _scan_file(suffix: str, data: bytes, hosts: frozenset[str]) -> Iterator[str]:
    if SECRET.encode() in data:
        yield "contains a secured blob"
    if suffix in (".html", ".htm"):
        yield from scan_html(data.decode("utf-8"), hosts)
    elif suffix in (".xml", ".rss", ".atom"):
        yield from _scan_xml(data, hosts)
    elif suffix == ".json":
        yield from _scan_json(data, hosts)
    elif MARKER.encode() in data and suffix not in (".txt",):
        yield f"record text in a {suffix or 'plain'} file"
    elif b"javascript:" in data.lower():
        yield "a javascript: URL"


def scan_html(markup: str, hosts: frozenset[str]) -> Iterator[str]:
    """Problems in one HTML document or fragment, parsed as a browser would."""
    soup = BeautifulSoup(markup, "html5lib")
    for element in soup.find_all(True):
        yield from _scan_element(element, hosts)
    for text in soup.find_all(string=lambda s: MARKER in s):
        parent = text.parent.name if text.parent else ""
        if isinstance(text, Comment):
            yield f"marker inside a comment: {text[:60]!r}"
        elif parent in ("script", "style") and not _is_json_ld(text.parent):
            yield f"marker inside <{parent}>: {text[:60]!r}"


def _scan_element(element: Tag, hosts: frozenset[str]) -> Iterator[str]:
    name = element.name.lower()
    if MARKER.lower() in name:
        yield f"injected element <{name}>"
    if name in NEVER_EMITTED:
        yield f"<{name}> element"
    if name == "script":
        yield from _scan_script(element)
    if name == "iframe":
        yield from _scan_iframe(element, hosts)
    if name == "meta" and str(element.get("http-equiv", "")).lower() == "refresh":
        yield "<meta http-equiv=refresh>"
    for attribute, raw in element.attrs.items():
        value = " ".join(raw) if isinstance(raw, list) else str(raw)
        lowered = attribute.lower()
        if lowered.startswith("on"):
            yield f"event handler {attribute}={value[:60]!r} on <{name}>"
        if lowered == "srcdoc":
            yield f"srcdoc on <{name}>"
        if MARKER in attribute:
            yield f"injected attribute {attribute!r} on <{name}>"
        if lowered in URL_ATTRIBUTES and _unsafe_scheme(value):
            yield f"unsafe URL {attribute}={value[:60]!r} on <{name}>"
        elif MARKER in value and lowered not in TEXT_ATTRIBUTES:
            yield f"marker in {attribute}={value[:60]!r} on <{name}>"


def _scan_script(element: Tag) -> Iterator[str]:
    text = "".join(str(child) for child in element.contents)  # get_text() skips script text
    if _is_json_ld(element):
        if "<" in text:
            yield "JSON-LD with a raw '<' (must be escaped as \\u003c)"
        try:
            json.loads(text)
        except ValueError:
            yield "JSON-LD that is not valid JSON"
    elif MARKER in text or MARKER in str(element.attrs):
        yield "injected <script>"


def _is_json_ld(element: Tag | None) -> bool:
    return element is not None and str(element.get("type", "")).lower() == "application/ld+json"


def _scan_iframe(element: Tag, hosts: frozenset[str]) -> Iterator[str]:
    src = str(element.get("src", ""))
    parts = urlsplit(src)
    if parts.scheme != "https" or parts.hostname not in hosts or parts.username:
        yield f"iframe src {src[:80]!r} off the allowlist"
    extra = set(element.attrs) - IFRAME_ATTRIBUTES
    if extra:
        yield f"iframe attributes outside the fixed set: {sorted(extra)}"


def _script_scheme(value: str) -> bool:
    """Whether text, which may be a URL, starts with a scheme that runs or embeds code."""
    match = _SCHEME.match(_CONTROLS.sub("", value).lower())
    return match is not None and match.group(1) in ("javascript", "vbscript", "data", "file")


def _unsafe_scheme(value: str) -> bool:
    """Whether a URL value, as a browser reads it (controls and spaces ignored), is unsafe."""
    for candidate in value.split(","):  # srcset lists
        match = _SCHEME.match(_CONTROLS.sub("", candidate).lower())
        if match and match.group(1) not in SAFE_SCHEMES:
            return True
    return False


def _scan_xml(data: bytes, hosts: frozenset[str]) -> Iterator[str]:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        yield f"not well-formed XML: {exc}"
        return
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1].lower()
        if MARKER.lower() in local or local in ("script", "iframe"):
            yield f"injected element <{local}>"
        for attribute, value in element.attrib.items():
            yield from _scan_value(f"<{local} {attribute}>", value, False, hosts)
        if element.text:
            # Atom's type="html" and RSS's description and content:encoded hold markup.
            markup = element.get("type") == "html" or local in ("description", "encoded")
            yield from _scan_value(f"<{local}>", element.text, markup, hosts)


def _scan_json(data: bytes, hosts: frozenset[str]) -> Iterator[str]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        yield f"not valid JSON: {exc}"
        return
    stack: list[tuple[str, object]] = [("$", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if MARKER in str(key):
                    yield f"marker in a JSON key at {where}"
                stack.append((f"{where}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str):
            yield from _scan_value(where, value, where.endswith("_html"), hosts)


def _scan_value(where: str, value: str, markup: bool, hosts: frozenset[str]) -> Iterator[str]:
    """A text value of a feed or JSON file; `markup` when its format says it is HTML."""
    if _script_scheme(value):
        yield f"{where}: unsafe URL {value[:60]!r}"
    if markup:  # a feed reader renders this as HTML
        yield from (f"{where}: {p}" for p in scan_html(value, hosts))
