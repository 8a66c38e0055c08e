"""Site-relative links and images in record bodies: noted when records load, put under
base_url's sub-path when pages are rendered.

Bodies are rendered to HTML once, when records load, with their links as written: the
plugin notes those (which the build checks lead somewhere, sitepaths.py). Rendering a
page puts them under the site's path (urls.under_base_path); without it a curator's
`[see](/topics/x/)` would point outside a site published under `/digest/`. A record
thus parses the same for any base_url, and `--base-url` parses no record again.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

from masthead.urls import under_base

_URL_ATTRIBUTE = {"link_open": "href", "image": "src"}


def rebase_site_links(md: MarkdownIt) -> None:
    """Prefix `/path` links with `env["base_path"]` (pass it to `md.render(text, env)`);
    append `(is_image, path)` for each to `env["site_links"]`, when it is a list."""
    md.core.ruler.push("masthead_rebase_site_links", _rebase)


def _rebase(state: StateCore) -> None:
    base_path = state.env.get("base_path", "/")
    found = state.env.get("site_links")
    if base_path == "/" and found is None:
        return
    for block in state.tokens:
        for token in block.children or ():
            attribute = _URL_ATTRIBUTE.get(token.type)
            value = token.attrGet(attribute) if attribute else None
            if attribute and isinstance(value, str) and _site_relative(value):
                if found is not None:
                    found.append((token.type == "image", value))
                if base_path != "/":
                    token.attrSet(attribute, under_base(base_path, value))


def _site_relative(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//")
