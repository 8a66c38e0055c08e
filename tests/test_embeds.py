"""The exact markup sanitize_embed writes for an allowed iframe.

The sanitising tests check what is refused; these pin what is kept, attribute by
attribute, so a change to the serialiser (a default, a name, a separator) shows.
Written to kill the mutants tools/mutation.py found surviving in masthead.records.embeds.
"""

from __future__ import annotations

import pytest

from masthead.records.embeds import sanitize_embed

HOSTS = ("www.youtube.com", "player.vimeo.com")
SRC = "https://www.youtube.com/embed/x?a=1&amp;b=2"


def test_every_kept_attribute_is_written_in_order_and_escaped() -> None:
    markup = (
        f'<iframe src="{SRC}" width="560" height="315" frameborder="0" onload="x()" '
        "allow=\"Autoplay 'self' https://a.example; camera; fullscreen *; autoplay\" "
        'allowfullscreen referrerpolicy="strict-origin" title="A &quot;film&quot;"></iframe>'
    )
    assert sanitize_embed(markup, HOSTS) == (
        '<iframe allow="autoplay; fullscreen" allowfullscreen height="315" '
        f'referrerpolicy="strict-origin" src="{SRC}" title="A &#34;film&#34;" width="560" '
        'loading="lazy"></iframe>'
    )


def test_a_missing_title_gets_the_default_and_an_empty_one_stays_empty() -> None:
    bare = sanitize_embed(f'<iframe src="{SRC}"></iframe>', HOSTS)
    assert bare == f'<iframe src="{SRC}" title="Embedded video" loading="lazy"></iframe>'
    empty = sanitize_embed(f'<iframe src="{SRC}" title=""></iframe>', HOSTS)
    assert empty == f'<iframe src="{SRC}" title="" loading="lazy"></iframe>'


@pytest.mark.parametrize("attribute", ["width", "height"])
@pytest.mark.parametrize("value", ["100%", "560px", "-1", "", "1e3"])
def test_a_size_that_is_not_digits_is_dropped(attribute: str, value: str) -> None:
    html = sanitize_embed(f'<iframe src="{SRC}" {attribute}="{value}" title="t"></iframe>', HOSTS)
    assert html == f'<iframe src="{SRC}" title="t" loading="lazy"></iframe>'


def test_an_allow_list_with_nothing_allowed_is_dropped_and_the_rest_is_kept() -> None:
    html = sanitize_embed(
        f'<iframe allow="camera; microphone \'self\'" width="5" src="{SRC}" title="t"></iframe>',
        HOSTS,
    )
    assert html == f'<iframe src="{SRC}" title="t" width="5" loading="lazy"></iframe>'


@pytest.mark.parametrize(
    ("allow", "kept"),
    [
        ("autoplay 'self' https://a.example", "autoplay"),  # the origin list goes
        ("  fullscreen   'src' ;; ENCRYPTED-MEDIA", "fullscreen; encrypted-media"),
        ("autoplay\t*", None),  # not the space the syntax uses: not understood, dropped
        ("geolocation; payment; camera", None),
    ],
)
def test_allow_features_are_read_before_their_origin_list(allow: str, kept: str | None) -> None:
    html = sanitize_embed(f'<iframe allow="{allow}" src="{SRC}" title="t"></iframe>', HOSTS)
    shown = f' allow="{kept}"' if kept else ""
    assert html == f'<iframe{shown} src="{SRC}" title="t" loading="lazy"></iframe>'


def test_several_iframes_are_written_one_after_another() -> None:
    other = "https://player.vimeo.com/video/1"
    markup = (
        f'<p>intro</p><iframe src="{SRC}" title="a"></iframe> and '
        f'<iframe src="https://evil.example/x"></iframe><iframe src="{other}" title="b"></iframe>'
    )
    assert sanitize_embed(markup, HOSTS) == (
        f'<iframe src="{SRC}" title="a" loading="lazy"></iframe>'
        f'<iframe src="{other}" title="b" loading="lazy"></iframe>'
    )
