"""Problems found in a site's inputs, reported as `path:line: message (expected)`.

Every message names files the one way, here: as a path from the working directory when
the file is below it (a terminal or an editor can jump to `content/x.md:3`), else as an
absolute path. A Diagnostic itself keeps the path the loader knows it by (relative to
the content folder, which is also its key in the build cache); `shown()` says it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem with one input file; errors skip the file, warnings do not."""

    path: str
    line: int | None
    message: str
    expected: str | None = None
    severity: Severity = "error"
    strict: bool = False
    """A warning that `build --strict` and `check` fail on: the site builds, but shows
    less than its records say (a site path that leads nowhere)."""
    other: str | None = None
    """A second file the message names in place of `{other}` (a duplicate's kept record),
    by the same root as `path`, so that both are shown the one way."""

    @property
    def fails(self) -> bool:
        """Does `build --strict` (and so `check`) fail on it? Errors (a file that was
        skipped) and strict warnings do; other warnings are printed, never failing."""
        return self.severity == "error" or self.strict

    def __str__(self) -> str:
        return self._line(self.path, self.other)

    def shown(self, root: Path) -> str:
        """The message with its file named from the working directory; `root` is the
        folder `path` is relative to (the content folder for records)."""
        other = shown_path(root / self.other) if self.other is not None else None
        return self._line(shown_path(root / self.path), other)

    def _line(self, path: str, other: str | None) -> str:
        where = f"{path}:{self.line}" if self.line else path
        kind = "warning: " if self.severity == "warning" else ""
        message = self.message if other is None else self.message.replace("{other}", other)
        tail = f" (expected {self.expected})" if self.expected else ""
        return _printable(f"{where}: {kind}{message}{tail}")


def shown_path(path: Path | str) -> str:
    """`path` as messages show it: from the working directory if it is below it, else absolute."""
    full = os.path.abspath(path)
    try:
        rel = os.path.relpath(full)
    except ValueError:  # another drive (Windows)
        return full
    return full if rel == ".." or rel.startswith(".." + os.sep) else rel


def rebased(diagnostics: Iterable[Diagnostic], root: Path) -> tuple[Diagnostic, ...]:
    """Diagnostics about files outside the content folder (`data/`, whose paths are
    relative to the site) with their paths made absolute, so `shown()` finds them."""
    return tuple(
        replace(
            d,
            path=(root / d.path).absolute().as_posix(),
            other=None if d.other is None else (root / d.other).absolute().as_posix(),
        )
        for d in diagnostics
    )


def fails_strict(diagnostics: Iterable[Diagnostic]) -> bool:
    """What `build --strict` and `check` both fail on: any Diagnostic that `fails`."""
    return any(d.fails for d in diagnostics)


def one_line_a_file(diagnostics: Sequence[Diagnostic], root: Path) -> Iterator[str]:
    """What `build` prints: each warning, and one line for each skipped file, its first
    problem and how many more it has (`check` and the preview's overlay list them all)."""
    errors = Counter(d.path for d in diagnostics if d.severity == "error")
    told: set[str] = set()
    for d in diagnostics:
        if d.severity != "error":
            yield d.shown(root)
        elif d.path not in told:
            told.add(d.path)
            more = errors[d.path] - 1
            tail = f" (and {plural(more, 'more problem')}: masthead check lists them)"
            yield d.shown(root) + (tail if more else "")


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """`1 file`, `2 files`: every count in a message goes through here."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def _printable(text: str) -> str:
    """`text` with control characters escaped, so a hostile file name cannot drive a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class MastheadError(Exception):
    """Base of every error masthead reports to the user instead of a traceback."""


class ConfigError(MastheadError):
    """site.toml cannot be used; the build stops before touching the output."""


class RecordError(MastheadError):
    """One record is unusable; it is skipped and the rest of the site still builds."""

    def __init__(self, diagnostic: Diagnostic, more: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic
        self.more = more
        """The record's other problems, each field's first, in the file's order."""

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return (self.diagnostic, *self.more)


class OutputError(MastheadError):
    """The output folder cannot be written safely."""
