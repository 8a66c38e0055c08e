"""The one way masthead names a value by its content: a SHA-1 of its repr.

Cache keys, fingerprints and model digests all compare such names from build to build,
so they must repr deterministically: strings, numbers, tuples, lists, sorted items and
frozen dataclasses of those do.
"""

from __future__ import annotations

import hashlib


def digest_of(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()
