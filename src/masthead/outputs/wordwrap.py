"""Jinja's `wordwrap` filter, with the same output and a fast path for the usual line.

The email edition's text part wraps every headline, byline and excerpt at 72 columns;
through textwrap, that was a twentieth of a first build's CPU time. A line made of
words each no wider than the width, joined by single spaces, with no hyphen and none of
the other whitespace textwrap looks at, wraps the same way by simply filling each line
with as many words as fit: textwrap's rules then come down to that. Any other line is
left to Jinja's filter, and tests compare the two on generated text.
"""

from __future__ import annotations

from jinja2 import Environment, pass_environment
from jinja2.filters import do_wordwrap

_SLOW = frozenset("-\t\x0b\x0c\r")
"""Characters that make textwrap split or keep text other than at single spaces."""


@pass_environment
def wordwrap(
    environment: Environment,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """`s` wrapped at `width` as Jinja's `wordwrap` wraps it (see the module's docstring)."""
    lines = s.splitlines()
    wrapped = []
    for line in lines:
        words = line.split(" ")
        # A "word" of no text, or only of whitespace textwrap does not split at (a
        # no-break space), is dropped at the end of a line by textwrap: not here.
        if (
            not all(map(str.strip, words))
            or _SLOW.intersection(line)
            or max(map(len, words)) > width
        ):
            return do_wordwrap(
                environment, s, width, break_long_words, wrapstring, break_on_hyphens
            )
        filled = [words[0]]
        used = len(words[0])
        for word in words[1:]:
            if used + 1 + len(word) <= width:
                filled.append(word)
                used += 1 + len(word)
            else:
                wrapped.append(" ".join(filled))
                filled, used = [word], len(word)
        wrapped.append(" ".join(filled))
    return (environment.newline_sequence if wrapstring is None else wrapstring).join(wrapped)
