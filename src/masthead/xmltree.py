"""XML built as element trees, so escaping happens by construction, never by hand.

ElementTree escapes `<`, `&` and quotes, but it happily writes control characters that
XML 1.0 forbids, and one of those from a record would make a whole feed unreadable.
Every string therefore goes through `clean()` on its way into a tree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import NamedTuple

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# Prefixes used when a namespace is not the document's default one.
for _prefix, _uri in (("atom", ATOM_NS), ("media", MEDIA_NS), ("dc", DC_NS)):
    ET.register_namespace(_prefix, _uri)

# What XML 1.0 forbids, spelled out rather than as the negation of what it allows (a
# class over all of Unicode, which took 7 ms to compile at every start).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """`text` without the characters XML 1.0 cannot carry (controls, lone surrogates)."""
    return _NOT_XML.sub("", text)


Attrs = Mapping[str, str | int | None]


def element(tag: str, text: str | None = None, attrs: Attrs | None = None) -> ET.Element:
    """A new element; attributes whose value is None are left out."""
    pairs = (attrs or {}).items()
    node = ET.Element(tag, {k: clean(str(v)) for k, v in pairs if v is not None})
    if text is not None:
        node.text = clean(text)
    return node


def sub(
    parent: ET.Element, tag: str, text: str | None = None, attrs: Attrs | None = None
) -> ET.Element:
    """Append a child element to `parent` and return it."""
    node = element(tag, text, attrs)
    parent.append(node)
    return node


class Fragment(NamedTuple):
    """An element serialised once for many documents (a story's entry in every feed that
    shows it), with the namespace declarations its document's root must make."""

    text: str
    namespaces: tuple[str, ...]


def fragment(node: ET.Element, level: int) -> Fragment:
    """`node` as text, indented for depth `level` in its documents.

    Serialised alone, an element declares the namespaces it uses on itself; they move to
    the root of each document it goes into, where a whole tree would have had them.
    """
    ET.indent(node, level=level)
    text = ET.tostring(node, encoding="unicode")
    found = _START_TAG.match(text)
    assert found is not None
    declarations = tuple(_DECLARATION.findall(found.group(1)))
    if any(_GENERATED_PREFIX.match(d) for d in declarations):
        # ElementTree numbers the prefixes of unregistered namespaces per document: two
        # fragments could each call theirs ns0.
        raise ValueError(f"unregistered XML namespace in a fragment: {declarations}")
    text = text[: found.start(1)] + text[found.end(1) :]
    return Fragment(text, declarations)


# ElementTree writes an element's namespace declarations right after its name, sorted
# by prefix.
_START_TAG = re.compile(r'<[^\s>/]+((?: xmlns:[\w.-]+="[^"]*")*)')
_DECLARATION = re.compile(r' xmlns:[\w.-]+="[^"]*"')
_GENERATED_PREFIX = re.compile(r" xmlns:ns\d+=")


def _prefix(declaration: str) -> str:
    return declaration[len(" xmlns:") : declaration.index("=")]


_SLOT = "masthead-fragments"


def to_bytes(
    root: ET.Element,
    default_namespace: str | None = None,
    fragments: Sequence[Fragment] = (),
    parent: ET.Element | None = None,
) -> bytes:
    """Serialise with an XML declaration, indented, UTF-8, ending in a newline.

    Elements of the document's own vocabulary (Atom, sitemaps) are built with plain
    names and put in `default_namespace` by an `xmlns` attribute on the root:
    ElementTree's own `default_namespace` option refuses the plain attribute names
    (`href`, `rel`) that these vocabularies use. `fragments` become the last children of
    `parent` (the root unless given), in order.
    """
    if default_namespace is not None:
        root.set("xmlns", default_namespace)
    slot = None
    if fragments:
        slot = ET.SubElement(root if parent is None else parent, _SLOT)
    ET.indent(root)
    # Serialised to text and encoded once: with encoding="utf-8", ElementTree sends each
    # of its thousands of small writes through an encoder, a third of a feed's time.
    text = ET.tostring(root, encoding="unicode")
    if slot is not None:
        (root if parent is None else parent).remove(slot)
        # Text and attribute values are escaped, so the slot's tag occurs only as itself.
        at = text.index(f"<{_SLOT} />")
        indent = text[text.rindex("\n", 0, at) : at]
        text = text[:at] + indent.join(f.text for f in fragments) + text[at + len(_SLOT) + 4 :]
        # The root declares what its fragments use, as it would have for the whole tree.
        root_tag = _START_TAG.match(text)
        assert root_tag is not None
        used = {*_DECLARATION.findall(root_tag.group(1))}
        used.update(n for f in fragments for n in f.namespaces)
        declared = "".join(sorted(used, key=_prefix))
        text = text[: root_tag.start(1)] + declared + text[root_tag.end(1) :]
    return (_XML_DECLARATION + text + "\n").encode("utf-8")


_XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
