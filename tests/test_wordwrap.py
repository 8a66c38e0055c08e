"""masthead's `wordwrap` filter gives what Jinja's gives, faster for the usual line."""

from __future__ import annotations

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.filters import do_wordwrap

from masthead.outputs.wordwrap import wordwrap

ENV = jinja2.Environment()
_WORDS = st.text(alphabet="ab -\t\n\r\x0b\x0c\x1c\x1f\x85\xa0é—\u2028\u3000", max_size=12)
_TEXT = st.lists(_WORDS, max_size=20).map(" ".join)


@settings(max_examples=2000)
@given(
    _TEXT,
    st.integers(min_value=1, max_value=30),
    st.booleans(),
    st.sampled_from([None, "\n", "<br>"]),
    st.booleans(),
)
def test_it_wraps_as_jinja_does(
    text: str, width: int, long_words: bool, wrapstring: str | None, hyphens: bool
) -> None:
    expected = do_wordwrap(ENV, text, width, long_words, wrapstring, hyphens)
    assert wordwrap(ENV, text, width, long_words, wrapstring, hyphens) == expected


@pytest.mark.parametrize(
    "text",
    [
        "A headline of several words that runs past the end of one line of the email",
        "word " * 40,
        "",
        "x" * 80,
    ],
)
def test_it_wraps_headlines_as_jinja_does(text: str) -> None:
    assert wordwrap(ENV, text.strip(), 72, False) == do_wordwrap(ENV, text.strip(), 72, False)


def test_templates_get_it() -> None:
    """The email's text part is rendered with this filter, not Jinja's."""
    from masthead.config import SiteConfig
    from masthead.outputs.render import make_env

    env = make_env(SiteConfig(), None, None, {})
    assert env.filters["wordwrap"] is wordwrap
