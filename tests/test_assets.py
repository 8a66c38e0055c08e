"""Stylesheets and scripts are published under content-hashed names, reached via asset()."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from masthead.outputs.render import TemplateError, theme_dir
from tests.conftest import Scratch
from tests.htmlcheck import html_files, parse

HASHED = re.compile(r"^/assets/(?P<stem>[\w.-]+)\.(?P<hash>[0-9a-f]{8})\.(?P<ext>css|js)$")


def _stylesheet(page: Path) -> str:
    return parse(page).find("link", rel="stylesheet")["href"]


def _check_hashed(output: Path, href: str) -> bytes:
    """The file behind a hashed link exists and its name carries the hash of its bytes."""
    match = HASHED.match(href)
    assert match, href
    data = (output / href.lstrip("/")).read_bytes()
    assert hashlib.sha256(data).hexdigest().startswith(match["hash"])
    return data


def test_every_page_links_the_theme_stylesheet_by_its_content_hash(scratch: Scratch) -> None:
    scratch.add("2026-11-18-a.md", title="Lighthouse keeper retires")
    scratch.build()
    pages = html_files(scratch.output)
    hrefs = {_stylesheet(p) for p in pages}
    assert len(pages) > 3 and len(hrefs) == 1
    data = _check_hashed(scratch.output, hrefs.pop())
    assert data == (theme_dir() / "assets" / "style.css").read_bytes()
    assert not (scratch.output / "assets" / "style.css").exists()


def test_a_changed_stylesheet_gets_a_new_name_and_the_old_one_goes(scratch: Scratch) -> None:
    scratch.add("2026-11-18-a.md", title="Lighthouse keeper retires")
    css = scratch.root / "static" / "assets" / "style.css"
    css.parent.mkdir(parents=True)
    css.write_text("body { color: navy; }\n", encoding="utf-8")
    scratch.build()
    first = _stylesheet(scratch.output / "index.html")
    assert _check_hashed(scratch.output, first) == css.read_bytes()

    css.write_text("body { color: teal; }\n", encoding="utf-8")
    scratch.build()
    second = _stylesheet(scratch.output / "index.html")
    assert second != first
    assert _check_hashed(scratch.output, second) == css.read_bytes()
    assert not (scratch.output / first.lstrip("/")).exists()


def test_site_scripts_are_hashed_and_images_keep_their_names(scratch: Scratch) -> None:
    scratch.add("2026-11-18-a.md", title="Lighthouse keeper retires")
    assets = scratch.root / "static" / "assets"
    assets.mkdir(parents=True)
    (assets / "app.js").write_text("console.log('hi');\n", encoding="utf-8")
    (assets / "logo.png").write_bytes(b"\x89PNG fake")
    scratch.template(
        "404.html",
        '{% extends "base.html" %}{% block main %}'
        "<script src=\"{{ asset('app.js') }}\"></script>"
        '<img src="{{ asset(\'logo.png\') }}" alt="">{% endblock %}',
    )
    scratch.build()
    page = parse(scratch.output / "404.html")
    _check_hashed(scratch.output, page.find("script")["src"])
    assert page.find("img")["src"] == "/assets/logo.png"
    assert (scratch.output / "assets" / "logo.png").read_bytes() == b"\x89PNG fake"


def test_an_unknown_asset_is_a_template_error(scratch: Scratch) -> None:
    scratch.add("2026-11-18-a.md", title="Lighthouse keeper retires")
    scratch.template("404.html", "<link href=\"{{ asset('missing.css') }}\">")
    with pytest.raises(TemplateError, match=r"missing\.css"):
        scratch.build()
