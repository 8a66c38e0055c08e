"""safe_url and safe_link on the slow path, past the fast pattern for plain http(s) URLs.

Written to kill the mutants tools/mutation.py found surviving in masthead.records.safeurl: each
test pins a behaviour the other tests reached only through the fast path.
"""

from __future__ import annotations

import pytest

from masthead.records.safeurl import safe_link, safe_url


@pytest.mark.parametrize(
    "url",
    [
        "http://news.example/?a=1&b=2",  # `&` leaves the fast path
        "HTTP://news.example/?a=1&b=2",  # the scheme in any case
        "Https://news.example/?a=1&b=2",
        "http://bücher.example/",  # a Unicode host leaves it too
        "/news/?a=1&b=2",
    ],
)
def test_http_and_https_urls_off_the_fast_path_are_kept(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://[evil.example/",  # urlsplit raises ValueError: refused, not crashed on
        "http://[::1/",
        "ftp://news.example/?a&b",
        "https:///?a&b",  # no host
    ],
)
def test_urls_urlsplit_refuses_or_without_a_host_are_dropped(url: str) -> None:
    assert safe_url(url) is None


def test_a_control_inside_an_allowed_scheme_is_removed_not_replaced() -> None:
    """`ht%09tp:` decodes to `ht<TAB>tp:`; without the tab it is http, an allowed scheme,
    so the link is kept (browsers read it as a relative path anyway)."""
    assert safe_link("ht%09tp://news.example/")
    assert not safe_link("java%09script:alert(1)")
