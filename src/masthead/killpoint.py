"""A test hook: `MASTHEAD_TEST_KILL=phase[:n]` makes a build kill itself at a named point.

The kill tests need a build to die at an exact place (between two renames of the
commit, say), which a timer cannot hit. Unset, as it always is outside the tests, each
call costs one comparison. `MASTHEAD_TEST_SIGNAL=INT` sends SIGINT (a Ctrl-C) instead
of SIGKILL, and `STOP` stops the build there until it gets SIGCONT. Phases: `scan`, `render` (after n pages came back), `search` (while
Pagefind runs), `commit` (after n renames or deletions of the commit), `committed`
and `cache` (between writing the records and the state of the build cache).
"""

from __future__ import annotations

import os
import signal

_WANTED = os.environ.get("MASTHEAD_TEST_KILL") or None
_PHASE, _, _COUNT = (_WANTED or "").partition(":")
_SIGNAL = getattr(signal, "SIG" + os.environ.get("MASTHEAD_TEST_SIGNAL", "KILL"))
_seen: dict[str, int] = {}


def kill_point(phase: str) -> None:
    """Kill this process when `phase` is the one asked for, on its n-th call (n from 0)."""
    if _WANTED is None or phase != _PHASE:
        return
    seen = _seen.get(phase, 0)
    _seen[phase] = seen + 1
    if seen == int(_COUNT or 0):
        os.kill(os.getpid(), _SIGNAL)
