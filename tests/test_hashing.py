"""masthead.hashing: one module and one algorithm for every hash masthead takes."""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import masthead
from masthead import hashing
from masthead.building.fingerprint import config_digest
from masthead.config import SiteConfig
from masthead.hashing import bytes_digest, digest_of, short_key, text_digest, url_tag
from masthead.urls import slugify

SOURCE = Path(masthead.__file__).parent


def test_every_digest_is_sha256() -> None:
    assert bytes_digest(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert text_digest("été") == hashlib.sha256("été".encode()).hexdigest()
    assert digest_of("a", 1) == hashlib.sha256(b"('a', 1)").hexdigest()
    assert short_key("a") == hashlib.sha256(b"a").digest()[: hashing.KEY_BYTES]
    running = hashing.hasher()
    running.update(b"ab")
    running.update(b"c")
    assert running.hexdigest() == bytes_digest(b"abc")


def test_text_with_a_lone_surrogate_has_a_digest() -> None:
    """File names and YAML escapes can carry one; hashing must not fail on them."""
    assert text_digest("\udcff") != text_digest("\udcfe")
    assert digest_of("\ud800") != digest_of("\ud801")
    assert url_tag("\ud800", 8) != url_tag("\ud801", 8)


def test_url_tags_stay_as_published() -> None:
    """Tags in published URLs may not change with the algorithm: these are SHA-1's."""
    assert url_tag("🙂", 8) == hashlib.sha1("🙂".encode()).hexdigest()[:8] == "0402582b"
    assert slugify("🙂") == "n-0402582b"
    assert url_tag("C#", 6) == "e4bc4b"


@given(st.lists(st.one_of(st.text(), st.integers(), st.none(), st.floats()), max_size=5))
def test_equal_parts_have_equal_digests_and_others_differ(parts: list[object]) -> None:
    assert digest_of(*parts) == digest_of(*list(parts))
    assert digest_of(*parts) != digest_of(*parts, "more")


@dataclass(frozen=True)
class _Point:
    x: int
    label: str


def test_digests_are_the_same_in_another_interpreter_with_another_hash_seed() -> None:
    """Digests are compared from build to build: a hash-seeded repr would rebuild all."""
    code = (
        "from masthead.config import SiteConfig; from masthead.building.fingerprint import config_digest;"
        "from masthead.hashing import digest_of;"
        "print(config_digest(SiteConfig()), digest_of(('x', 1, None, 1.5, [2], {'k': 'v'})))"
    )
    expected = f"{config_digest(SiteConfig())} {digest_of(('x', 1, None, 1.5, [2], {'k': 'v'}))}"
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert run.stdout.strip() == expected, run.stderr


def test_a_frozen_dataclass_is_named_by_its_fields() -> None:
    assert digest_of(_Point(1, "a")) == digest_of(_Point(1, "a"))
    assert digest_of(_Point(1, "a")) != digest_of(_Point(1, "b"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


HASHES_OF_ITS_OWN = {"pagefind_bundle.py"}
"""Renames Pagefind's files as Pagefind itself names them (SHA-256 of their bytes)."""


def test_no_other_module_hashes() -> None:
    hashing_modules = {
        path.name
        for path in SOURCE.rglob("*.py")
        if _imports(path) & {"hashlib", "hmac"} or "crc32" in path.read_text(encoding="utf-8")
    }
    assert hashing_modules - HASHES_OF_ITS_OWN == {"hashing.py"}


@pytest.mark.parametrize("data", [b"", b"x", bytes(range(256)) * 10])
def test_checksum_tells_damaged_bytes_apart(data: bytes) -> None:
    damaged = bytes([data[0] ^ 1]) + data[1:] if data else b"\0"
    assert hashing.checksum(data) == hashing.checksum(bytes(data))
    assert hashing.checksum(data) != hashing.checksum(damaged)
