"""Results of pure functions of the frozen site model, computed once per build.

A story appears on a dozen pages (front page, topics, provider, edition, month, their
feeds and API pages); what each of those shows of it is the same, so it is made once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class IdentityMemo(Generic[R]):
    """`fn(*args)`, remembered by the arguments' identities (by value for strings and None).

    Hashing a story by value would cost as much as the work saved; by identity it is one
    `id()` per argument. Each entry keeps its arguments alive, so no other object can take
    an id while its entry lives. That is exact as long as the arguments do not change
    (the site model is frozen) and `fn` reads nothing else that changes during a build;
    so a memo serves one build (see Memos). At most `limit` entries are kept, so memory
    stays flat on big sites.
    """

    def __init__(self, fn: Callable[..., R], limit: int = 20_000) -> None:
        self.fn, self.limit = fn, limit
        self._entries: dict[tuple[Any, ...], tuple[tuple[Any, ...], R]] = {}

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


class Memos:
    """One build's memos: what it makes once of each story and shows on many pages.

    Made for each build (or check, or newsletter) and handed to whatever renders its
    outputs (feeds and API pages ask it for theirs); closing it lets go of the stories.
    Nothing in it may outlive the build: the next has a new site model, whose objects
    may take the ids of this one's.
    """

    def __init__(self, *adopted: IdentityMemo[Any]) -> None:
        """`adopted`: memos kept elsewhere for longer than a build, such as the template
        environment's fragment cache, which must hold this build's results only: they
        are emptied now and when this closes."""
        self._adopted = adopted
        self._memos: dict[Callable[..., Any], IdentityMemo[Any]] = {}
        for memo in adopted:
            memo.clear()

    def of(self, fn: Callable[..., R]) -> IdentityMemo[R]:
        """The memo of `fn` for this build, made on first use."""
        memo = self._memos.get(fn)
        if memo is None:
            memo = self._memos[fn] = IdentityMemo(fn)
        return memo

    def close(self) -> None:
        """Let go of this build's stories."""
        for memo in (*self._adopted, *self._memos.values()):
            memo.clear()
        self._memos.clear()

    def __enter__(self) -> Memos:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
