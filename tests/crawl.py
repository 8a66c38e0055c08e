"""Serve a built site over real HTTP under a sub-path and follow every internal link in it.

The server answers only below the prefix (`/digest/`) and 404s everything else, as a host
that serves the site from a sub-path of a larger domain would; a link that forgets the
prefix is therefore broken here even though the file exists in the output.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from xml.etree import ElementTree

from bs4 import BeautifulSoup

URL_ATTRIBUTES = ("href", "src", "action", "poster", "data")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")
_ABSOLUTE_URL = re.compile(r"https?://[^\s<>\"')]+")


@contextmanager
def serve_under(root: Path, prefix: str) -> Iterator[str]:
    """Serve `root` at `http://127.0.0.1:<port><prefix>`; yield that URL."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def send_head(self) -> Any:
            if not urlsplit(self.path).path.startswith(prefix):
                self.send_error(404, "outside the published prefix")
                return None
            return super().send_head()

        def translate_path(self, path: str) -> str:
            return super().translate_path(path[len(prefix) - 1 :])

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class CrawlResult:
    fetched: dict[str, str] = field(default_factory=dict)
    """URL -> content type of every page and file fetched."""
    broken: list[str] = field(default_factory=list)
    """`referrer -> link: why` for every link that did not resolve."""


def crawl(seeds: Iterable[str], public_origin: str) -> CrawlResult:
    """Fetch the seeds and, transitively, every internal URL they reference.

    Internal means on the seeds' server, or on `public_origin` (the site's base_url
    origin, used by canonical links, feeds and the sitemap), which is mapped onto the server.
    Fragments must name an element id on the target page.
    """
    seeds = list(seeds)
    server_origin = _origin(seeds[0])
    result = CrawlResult()
    referrer = {url: "(seed)" for url in seeds}
    queue = deque(seeds)
    ids: dict[str, set[str]] = {}
    fragments: list[tuple[str, str, str]] = []
    while queue:
        url = queue.popleft()
        status, ctype, body = _fetch(url)
        if status != 200:
            result.broken.append(f"{referrer[url]} -> {url}: HTTP {status}")
            continue
        result.fetched[url] = ctype
        if "html" in ctype:
            ids[url] = {str(t["id"]) for t in BeautifulSoup(body, "html5lib").find_all(id=True)}
        for link in links_in(body, ctype):
            absolute, fragment = urldefrag(urljoin(url, link))
            target = _internal(absolute, server_origin, public_origin)
            if target is None:
                continue
            if fragment:
                fragments.append((url, target, fragment))
            if target not in referrer:
                referrer[target] = url
                queue.append(target)
    for page, target, fragment in fragments:
        if target in ids and fragment not in ids[target]:
            result.broken.append(f"{page} -> {target}#{fragment}: no element with that id")
    return result


def links_in(body: bytes, ctype: str) -> list[str]:
    """Every URL a browser, feed reader or crawler would take from a response."""
    if "html" in ctype:
        return _html_links(body.decode("utf-8", "replace"))
    if "css" in ctype:
        return [a or b for a, b in _CSS_URL.findall(body.decode("utf-8", "replace"))]
    if "xml" in ctype:
        return _xml_links(body)
    if "json" in ctype:
        return list(_json_links(json.loads(body)))
    return _ABSOLUTE_URL.findall(body.decode("utf-8", "replace"))


def _html_links(text: str) -> list[str]:
    links = []
    for tag in BeautifulSoup(text, "html5lib").find_all(True):
        links += [str(tag[a]) for a in URL_ATTRIBUTES if tag.has_attr(a)]
        if tag.has_attr("srcset"):
            links += [c.split()[0] for c in str(tag["srcset"]).split(",") if c.strip()]
    return links


def _xml_links(body: bytes) -> list[str]:
    """Attribute URLs and element text that is a URL; escaped HTML content is parsed too."""
    links = []
    for element in ElementTree.fromstring(body).iter():
        links += [v for k, v in element.attrib.items() if k in ("href", "src", "url")]
        text = (element.text or "").strip()
        if text.startswith(("http://", "https://", "/")):
            links.append(text)
        elif "<" in text:
            links += _html_links(text)
    return links


def _json_links(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _json_links(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_links(item)
    elif isinstance(value, str):
        if value.startswith(("http://", "https://", "/")) and " " not in value:
            yield value
        elif "<" in value:
            yield from _html_links(value)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _internal(url: str, server_origin: str, public_origin: str) -> str | None:
    """`url` rewritten onto the test server, or None when it leaves the site."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    origin = _origin(url)
    if origin == server_origin:
        return url
    if origin == public_origin:
        return server_origin + url[len(origin) :]
    return None


def _fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, "", b""
