"""Chromium for the browser tests: Debian's build (/usr/bin/chromium), driven by Playwright
for Python, whose own browser download does not work here.

Importing this module skips the importing test module when either is missing, except in
CI, where .ci/run installs both and a missing one is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

try:
    from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)

if not CHROMIUM.is_file():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs it with apt-get")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

__all__ = ["CHROMIUM", "Browser", "Page", "Route", "chromium", "expect"]

# Playwright's assertions wait 5 s by default. A search page that loads Pagefind and merges
# its shards took longer than that on two cores shared with a mutation run; a real failure
# still fails, later.
expect.set_options(timeout=15_000)


@contextmanager
def chromium(*args: str) -> Iterator[Browser]:
    """A headless Chromium, closed on the way out; `args` are more command-line switches."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *args]
        )
        try:
            yield browser
        finally:
            browser.close()
