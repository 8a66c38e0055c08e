"""Compact JSON documents whose last field is a list of items encoded once per build.

A story is an item of several API pages and JSON feeds; its text is made once and
spliced into each document, giving the bytes `json.dumps` gives for the whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def with_items(head: dict[str, Any], items: Iterable[str]) -> bytes:
    """`head` plus a last field `"items"`, the already encoded `items`, as one document."""
    text = encode({**head, "items": []})
    return f"{text[:-3]}[{','.join(items)}]}}\n".encode()
