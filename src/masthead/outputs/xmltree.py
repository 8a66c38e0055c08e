"""XML built as element trees, so escaping happens in one writer, never by hand.

The writer escapes `<`, `&` and quotes as ElementTree's does, and like it would write
control characters that XML 1.0 forbids; one of those from a record would make a
whole feed unreadable. Every string therefore goes through `clean()` on its way into
a tree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from masthead.upstream import xml_namespace_prefixes

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
    # Every character _NOT_XML matches is unprintable: most text needs no pass of it.
    return text if text.isprintable() else _NOT_XML.sub("", text)


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

    The namespaces it uses are declared by the root of each document it goes into, where
    a whole tree would have had them.
    """
    used: dict[str, str] = {}
    parts: list[str] = []
    _write(node, "\n" + _INDENT * level, parts, used)
    return Fragment("".join(parts), _declarations(used))


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
    if parent is not None and not any(node is parent for node in root.iter()):
        raise ValueError("the parent of the fragments is not in the tree")
    if default_namespace is not None:
        root.set("xmlns", default_namespace)
    used: dict[str, str] = {}
    parts: list[str] = []
    spliced = (root if parent is None else parent, fragments)
    _write(root, "\n", parts, used, spliced)
    # The root declares every namespace below it, its fragments' too, right after its
    # name and sorted by prefix, as ElementTree does.
    declared = {*_declarations(used), *(d for f in fragments for d in f.namespaces)}
    head = len(_qualified(root.tag, used)) + 1  # `<name`, which the attributes follow
    parts[0] = parts[0][:head] + "".join(sorted(declared, key=_prefix)) + parts[0][head:]
    return (_XML_DECLARATION + "".join(parts) + "\n").encode("utf-8")


# The writer -------------------------------------------------------------------------
#
# ElementTree's own (indent() then tostring()) is general: comments, processing
# instructions, QName values, mixed content, a pass over the tree to collect namespaces.
# It took two thirds of the time of making a feed entry. This one writes the trees the
# functions above build (elements with attributes and either text or children) to the
# same text; tests check it against ElementTree's on random trees.

_INDENT = "  "
_XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def _write(
    node: ET.Element,
    indent: str,
    out: list[str],
    used: dict[str, str],
    spliced: tuple[ET.Element, Sequence[Fragment]] | None = None,
) -> None:
    tag = _qualified(node.tag, used)
    text = node.text
    attrs = "".join(f' {_qualified(k, used)}="{_escape_attribute(v)}"' for k, v in node.items())
    fragments = spliced[1] if spliced is not None and spliced[0] is node else ()
    if node.tail or (text and (len(node) or fragments)):
        raise ValueError(f"mixed content in <{tag}>: not made by masthead.outputs.xmltree")
    if not len(node) and not fragments:
        out.append(f"<{tag}{attrs}>{_escape_text(text)}</{tag}>" if text else f"<{tag}{attrs} />")
        return
    out.append(f"<{tag}{attrs}>")
    inner = indent + _INDENT
    for child in node:
        out.append(inner)
        _write(child, inner, out, used, spliced)
    for piece in fragments:
        out.append(inner)
        out.append(piece.text)
    out.append(f"{indent}</{tag}>")


def _qualified(name: str, used: dict[str, str]) -> str:
    """`{uri}local` as `prefix:local`, by the prefixes given to register_namespace."""
    if name[:1] != "{":
        return name
    uri, _, local = name[1:].partition("}")
    prefix = _NAMESPACE_PREFIXES.get(uri)
    if prefix is None:
        # ElementTree would make up ns0, ns1... per document: two fragments could each
        # call theirs ns0.
        raise ValueError(f"unregistered XML namespace: {uri}")
    used[uri] = prefix
    return f"{prefix}:{local}"


_NAMESPACE_PREFIXES = xml_namespace_prefixes()
"""ElementTree's registry of prefixes, kept up to date by register_namespace."""


def _declarations(used: dict[str, str]) -> tuple[str, ...]:
    """The `xmlns:` attributes for the namespaces used (`xml:` is never declared)."""
    return tuple(
        f' xmlns:{prefix}="{_escape_attribute(uri)}"'
        for uri, prefix in used.items()
        if prefix != "xml"
    )


def _prefix(declaration: str) -> str:
    return declaration[len(" xmlns:") : declaration.index("=")]


# As ElementTree escapes text and attribute values; a test for each character costs
# less than str.translate.
_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ATTRIBUTE_ESCAPES = (
    *_TEXT_ESCAPES,
    ('"', "&quot;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#09;"),
)


def _escape_text(text: str, escapes: tuple[tuple[str, str], ...] = _TEXT_ESCAPES) -> str:
    for char, entity in escapes:
        if char in text:
            text = text.replace(char, entity)
    return text


def _escape_attribute(value: str) -> str:
    return _escape_text(value, _ATTRIBUTE_ESCAPES)
