"""Slugs, URLs and output paths: properties that must hold for any input, plus Unicode tables."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePosixPath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from slugify import slugify as _slugify

from masthead.config import SiteConfig, UrlPatterns
from masthead.urls import (
    MAX_SLUG,
    article_url,
    is_slug,
    output_path,
    page_url,
    slug_from_filename,
    slugify,
    url_for_output,
)

SLUG_CHARS = re.compile(r"[a-z0-9-]+")

# Every kind of character: letters of many scripts, emoji, controls, path syntax, surrogates.
any_text = st.text(alphabet=st.characters(), max_size=200)
path_text = st.text(alphabet=st.sampled_from("ab/.-_\\%:?#\x00 ~é"), max_size=30)
segment = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)


@given(any_text)
@example("")
@example("..")
@example("../../etc/passwd")
@example("🙂🙂🙂")
@example("---")
@example("\ud800")
def test_slugify_is_a_safe_nonempty_slug(text: str) -> None:
    slug = slugify(text)
    assert slug
    assert SLUG_CHARS.fullmatch(slug)
    assert ".." not in slug and "/" not in slug
    assert not slug.startswith("-") and not slug.endswith("-") and "--" not in slug
    assert is_slug(slug)
    assert len(slug) <= MAX_SLUG


@given(any_text)
def test_slugify_is_idempotent_and_stable(text: str) -> None:
    slug = slugify(text)
    assert slugify(slug) == slug
    assert slugify(text) == slug


@given(st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,12}){0,8}", fullmatch=True))
def test_a_slug_shaped_name_skips_python_slugify_and_gets_what_it_would_give(text: str) -> None:
    expected = _slugify(text, max_length=MAX_SLUG, word_boundary=True, save_order=True)
    assert slugify(text) == expected


@given(any_text, any_text)
def test_titles_without_letters_still_get_distinct_slugs(a: str, b: str) -> None:
    """The hash fallback keeps emoji-only titles from all colliding on one placeholder."""
    if a != b and slugify(a).startswith("n-") and slugify(b).startswith("n-"):
        assert slugify(a) != slugify(b)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Zürich floods", "zurich-floods"),
        ("Crème brûlée", "creme-brulee"),
        ("Straße", "strasse"),
        ("Ærøskøbing", "aeroskobing"),
        ("Москва", "moskva"),
        ("Ελληνικά", "ellenika"),
        ("北京", "bei-jing"),
        ("İstanbul", "istanbul"),
        ("ﬁnance", "finance"),
        ("  --Hello--  ", "hello"),
        ("A/../b", "a-b"),
        ("Tram & bus: 2027 fares", "tram-bus-2027-fares"),
    ],
)
def test_unicode_titles_transliterate(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_emoji_titles_get_distinct_hash_slugs() -> None:
    smile, wink = slugify("🙂🙂"), slugify("😉😉")
    assert smile.startswith("n-") and wink.startswith("n-")
    assert smile != wink


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    slug = slugify("harbour " * 30)
    assert len(slug) <= MAX_SLUG
    assert set(slug.split("-")) == {"harbour"}


@pytest.mark.parametrize(
    ("stem", "slug"),
    [
        ("2026-11-18-harbour-wall-approved", "harbour-wall-approved"),
        ("2026-11-18-Zürich_Floods", "zurich-floods"),
        ("harbour-wall", "harbour-wall"),
        ("2026-11-18-", ""),
        ("2026-11-18", ""),
    ],
)
def test_slug_from_filename_drops_the_date_prefix(stem: str, slug: str) -> None:
    assert slug_from_filename(stem) == slug


def test_article_url_uses_the_date_given_and_the_pattern() -> None:
    when = datetime(2026, 3, 4, 23, 30)
    assert article_url(SiteConfig(), "tide", when) == "/news/2026/03/04/tide/"
    custom = SiteConfig(urls=UrlPatterns(article="/{year}/{slug}/"))
    assert article_url(custom, "tide", when) == "/2026/tide/"


def test_page_url_numbers_pages_after_the_first() -> None:
    config = SiteConfig()
    assert page_url(config, "/topics/climate/", 1) == "/topics/climate/"
    assert page_url(config, "/topics/climate/", 3) == "/topics/climate/page/3/"


@given(st.lists(segment, max_size=5), st.sampled_from(["/", "/feed.xml", "/index.json"]))
def test_output_path_and_url_round_trip(parts: list[str], tail: str) -> None:
    url = "/" + "".join(p + "/" for p in parts) + tail.lstrip("/")
    path = output_path(url)
    assert url_for_output(path) == url
    assert output_path(url_for_output(path)) == path


@given(path_text)
@example("/.")
@example("//etc/passwd")
@example("/../x")
def test_output_path_stays_inside_the_output_folder(url: str) -> None:
    """Whatever output_path accepts is a plain relative path with no `.`, `..` or empty part."""
    try:
        path = output_path(url)
    except ValueError:
        return
    parts = PurePosixPath(path).parts
    assert parts and not PurePosixPath(path).is_absolute()
    assert all(part not in ("", ".", "..") for part in parts)
    assert "\\" not in path and "\x00" not in path
    assert url_for_output(path) == url


@pytest.mark.parametrize(
    "url",
    [
        "/../etc/passwd",
        "/news/../../etc/passwd",
        "/news/./x/",
        "/a//b/",
        "//evil.example/x",
        "/.",
        "/..",
        "news/x/",
        "",
        "/a\\..\\b",
        "/a\x00/",
    ],
)
def test_output_path_refuses_escapes(url: str) -> None:
    with pytest.raises(ValueError):
        output_path(url)
