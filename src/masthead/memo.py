"""Results of pure functions of the frozen site model, computed once per build.

A story appears on a dozen pages (front page, topics, provider, edition, month, their
feeds and API pages); what each of those shows of it is the same, so it is made once.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

R = TypeVar("R")

_ALL: weakref.WeakSet[IdentityMemo[Any]] = weakref.WeakSet()


class IdentityMemo(Generic[R]):
    """`fn(*args)`, remembered by the arguments' identities (by value for strings and None).

    Hashing a story by value would cost as much as the work saved; by identity it is one
    `id()` per argument. Each entry keeps its arguments alive, so no other object can take
    an id while its entry lives. That is exact as long as the arguments do not change
    (the site model is frozen) and `fn` reads nothing else that changes during a build;
    `clear_all()` starts each build afresh. At most `limit` entries are kept, so memory
    stays flat on big sites.
    """

    def __init__(self, fn: Callable[..., R], limit: int = 20_000) -> None:
        self.fn, self.limit = fn, limit
        self._entries: dict[tuple[Any, ...], tuple[tuple[Any, ...], R]] = {}
        _ALL.add(self)

    def __call__(self, *args: Any) -> R:
        key = tuple(a if a is None or a.__class__ is str else id(a) for a in args)
        found = self._entries.get(key)
        if found is None:
            if len(self._entries) >= self.limit:
                self._entries.clear()
            found = self._entries[key] = (args, self.fn(*args))
        return found[1]

    def clear(self) -> None:
        self._entries.clear()


def clear_all() -> None:
    """Forget every memo's entries: the next build has a new site model."""
    for memo in list(_ALL):
        memo.clear()
