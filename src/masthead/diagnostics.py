"""Problems found in a site's inputs, reported as `path:line: message (expected)`."""

from __future__ import annotations

from dataclasses import dataclass
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

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        kind = "warning: " if self.severity == "warning" else ""
        tail = f" (expected {self.expected})" if self.expected else ""
        return _printable(f"{where}: {kind}{self.message}{tail}")


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

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


class OutputError(MastheadError):
    """The output folder cannot be written safely."""
