"""Filter labels that Pagefind's interface shows as text, whatever a topic is called.

Pagefind's ready-made interface (1.x) puts filter names and values into the search page
as HTML, and its indexer decodes entities in them once more than HTML does: a topic
named `<img src=x onerror=alert(1)>` became markup on /search/, and one named `&lt;b&gt;`
became bold. The interface writes titles and metadata as text and the indexer escapes
the excerpts it shows, so filters are the one way in.

The copy of a page that Pagefind indexes (never the page readers get) therefore has each
filter rewritten, whatever form the template gave it (the element's text, `name:value`,
`name[attribute]`, several separated by commas), to `name[data-masthead-filter-N]`, the
value escaped three times: once for the interface's HTML, once for the indexer's extra
decoding, once as an attribute. Filters whose names and values hold no `&`, `<` or `>`
read the same either way and are left alone, so an ordinary page is not copied at all.
"""

from __future__ import annotations

import html
import re

FILTER = "data-pagefind-filter"
_OWN = "data-masthead-filter-"
_START = re.compile(
    r"<([A-Za-z][^\s/>]*)((?:\s+[^\s/>\"'=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*(/?)>"
)
_ATTR = re.compile(r"([^\s/>\"'=]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][^\s/>]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.S)
_FROM_ATTRIBUTE = re.compile(r"\s*([^:\[\]]+)\[(.+)\]\s*")
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    ]
)  # elements without content: a filter on one has no text
_UNSAFE = ("&", "<", ">")


def safe_filters(page: str) -> str | None:
    """`page` with every filter that needs it rewritten; None when none does."""
    if FILTER not in page:
        return None
    out: list[str] = []
    done = 0
    at = page.find(FILTER)
    while at != -1:
        start = page.rfind("<", 0, at)
        tag = _START.match(page, start) if start >= done else None
        if tag is not None and tag.end() > at:
            new = None if _plain(page, tag) else _rewrite(page, tag)
            if new is not None:
                out += (page[done:start], new)
                done = tag.end()
            at = page.find(FILTER, tag.end())
        else:
            at = page.find(FILTER, at + len(FILTER))
    if not out:
        return None
    out.append(page[done:])
    return "".join(out)


def _plain(page: str, tag: re.Match[str]) -> bool:
    """A quick look that settles most tags: no entity and no markup in the tag or in the
    text up to the element's end tag means no filter it holds needs escaping."""
    text_end = page.find("<", tag.end())
    whole = tag.group(0)
    return (
        page.startswith("</", text_end)
        and "&" not in page[tag.start() : text_end]
        and "<" not in whole[1:]
        and ">" not in whole[:-1]
    )


def _rewrite(page: str, tag: re.Match[str]) -> str | None:
    """The start tag `tag` with its filters in the safe form, or None if they are safe."""
    name, attributes, slash = tag.group(1), tag.group(2), tag.group(3)
    parsed = [(m.group(1).lower(), m) for m in _ATTR.finditer(attributes)]
    values = {key: _attribute_value(m.group(2)) for key, m in reversed(parsed)}
    if FILTER not in values:
        return None
    text: str | None = None
    pairs: list[tuple[str, str]] = []
    for key, value in _pagefind_pairs(values[FILTER], values):
        if value is None:  # the element's text, as the indexer reads it
            if text is None:
                text = "" if slash or name.lower() in _VOID else _text_of(page, tag)
            value = text
        value = " ".join(value.split())
        if value:  # the indexer drops a filter with no text
            pairs.append((key, value))
    if not any(c in part for pair in pairs for part in pair for c in _UNSAFE):
        return None
    kept = "".join(" " + m.group(0) for key, m in parsed if key != FILTER)
    spec = ", ".join(f"{html.escape(key)}[{_OWN}{i}]" for i, (key, _) in enumerate(pairs))
    added = "".join(f' {_OWN}{i}="{_escape(value, 3)}"' for i, (_, value) in enumerate(pairs))
    return f'<{name}{kept} {FILTER}="{html.escape(spec)}"{added}{slash}>'


def _pagefind_pairs(spec: str, values: dict[str, str]) -> list[tuple[str, str | None]]:
    """(name, value) of each filter in a `data-pagefind-filter` value, read as Pagefind
    1.x reads it (fossick/parser.rs); value None means the element's text."""
    head, colon, literal = spec.partition(":")
    items = []
    for chunk in head.split(","):
        chunk = chunk.strip()
        found = _FROM_ATTRIBUTE.fullmatch(chunk)
        if found:
            items.append(f"{found.group(1)}:{values.get(found.group(2), '')}")
        else:
            items.append(chunk)
    if colon:
        items[-1] += ":" + literal
    pairs: list[tuple[str, str | None]] = []
    for item in items:
        key, has_value, value = item.partition(":")
        pairs.append((key, value if has_value else None))
    return pairs


def _text_of(page: str, tag: re.Match[str]) -> str:
    """The text inside the element that `tag` starts, up to its end tag."""
    name = tag.group(1).lower()
    depth, pos, parts = 1, tag.end(), []
    for found in _TAG.finditer(page, tag.end()):
        parts.append(page[pos : found.start()])
        pos = found.end()
        if found.group(2) is None or found.group(2).lower() != name:
            continue  # a comment, or another element
        depth += -1 if found.group(1) else 1
        if depth == 0:
            break
    return html.unescape("".join(parts))


def _attribute_value(raw: str | None) -> str:
    if raw is None:
        return ""
    if raw[:1] in ("'", '"'):
        raw = raw[1:-1]
    return html.unescape(raw)


def _escape(text: str, times: int) -> str:
    for _ in range(times):
        text = html.escape(text)
    return text
