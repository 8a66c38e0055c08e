"""Typos: how far one name is from another, and which of many names one is a slip from.

Said in warnings ("did you mean ...?") for field names, story types, topics and
providers; never used to change what a record says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`; 3 stands
    for three or more when the lengths alone say so."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        previous2, previous = previous, row
    return previous[-1]


class OneSlip:
    """Names one edit from a given word, found among many without comparing it with each.

    Two words one edit apart (a letter added, dropped, changed, or two swapped) share a
    form with one letter deleted, or one is such a form of the other; so each name is
    filed under itself and its deletions (a dozen keys for a dozen letters), and a word
    looks up its own. A site with 20,000 single-story topics and 5,000 common ones is
    then some 100,000 dictionary look-ups rather than 100 million comparisons.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._by_form: dict[str, list[str]] = defaultdict(list)
        for name in names:
            for form in _forms(name):
                self._by_form[form].append(name)

    def near(self, word: str) -> list[str]:
        """The names one edit from `word` (not `word` itself), in the order filed."""
        seen = dict.fromkeys(n for f in _forms(word) for n in self._by_form.get(f, ()))
        return [n for n in seen if n != word and distance(word, n) == 1]


def _forms(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}
