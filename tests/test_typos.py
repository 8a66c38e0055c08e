"""The typo finder's index finds every name one edit away, as comparing with each would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from masthead.records.typos import OneSlip, distance

WORDS = st.text(alphabet="abcde ", min_size=1, max_size=8)


@given(names=st.lists(WORDS, max_size=30, unique=True), word=WORDS)
def test_the_index_finds_what_comparing_with_each_finds(names: list[str], word: str) -> None:
    near = OneSlip(names).near(word)
    assert sorted(near) == sorted(n for n in names if n != word and distance(word, n) == 1)


def test_each_kind_of_slip_is_one_edit() -> None:
    slips = OneSlip(["heritage", "harbour", "climate"])
    assert slips.near("heritge") == ["heritage"]  # a letter dropped
    assert slips.near("harbourr") == ["harbour"]  # one added
    assert slips.near("climote") == ["climate"]  # one changed
    assert slips.near("cliamte") == ["climate"]  # two swapped
    assert slips.near("heritage") == [] and slips.near("harb") == []
