"""XML built as element trees, so escaping happens by construction, never by hand.

ElementTree escapes `<`, `&` and quotes, but it happily writes control characters that
XML 1.0 forbids, and one of those from a record would make a whole feed unreadable.
Every string therefore goes through `clean()` on its way into a tree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# Prefixes used when a namespace is not the document's default one.
for _prefix, _uri in (("atom", ATOM_NS), ("media", MEDIA_NS), ("dc", DC_NS)):
    ET.register_namespace(_prefix, _uri)

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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


def to_bytes(root: ET.Element, default_namespace: str | None = None) -> bytes:
    """Serialise with an XML declaration, indented, UTF-8, ending in a newline.

    Elements of the document's own vocabulary (Atom, sitemaps) are built with plain
    names and put in `default_namespace` by an `xmlns` attribute on the root:
    ElementTree's own `default_namespace` option refuses the plain attribute names
    (`href`, `rel`) that these vocabularies use.
    """
    if default_namespace is not None:
        root.set("xmlns", default_namespace)
    ET.indent(root)
    # Serialised to text and encoded once: with encoding="utf-8", ElementTree sends each
    # of its thousands of small writes through an encoder, a third of a feed's time.
    text = ET.tostring(root, encoding="unicode")
    return (_DECLARATION + text + "\n").encode("utf-8")


_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
