"""The email edition in a real browser (Chromium): it fits a phone and has a dark scheme.

Mail clients are not Chromium, but the ones that honour <style> (Apple Mail, iOS Mail,
Gmail's apps) render with WebKit or Blink: what fails here fails there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from masthead.building.build import BuildOptions, build
from tests.browser import Browser, Route, chromium
from tests.conftest import REPO

BASE = "https://digest.example/"


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("email") / "public"
    build(BuildOptions(site_dir=REPO, output_dir=out, base_url=BASE, use_cache=False, search=False))
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def _look(browser: Browser, output: Path, width: int, scheme: str) -> dict[str, object]:
    """Open the latest email with its images answered from the build, nothing fetched."""

    def answer(route: Route) -> None:
        url = route.request.url
        target = output / url[len(BASE) :] if url.startswith(BASE) else None
        if url.startswith("file:"):
            route.continue_()
        elif target is not None and target.is_file():
            route.fulfill(path=str(target))
        else:
            route.abort()

    email = sorted(output.glob("editions/*/email.html"))[-1]
    page = browser.new_page(viewport={"width": width, "height": 800})
    try:
        page.emulate_media(color_scheme=scheme)
        page.route("**/*", answer)
        page.goto(email.as_uri())
        page.wait_for_load_state("networkidle")
        return page.evaluate(
            """() => ({
                scroll: document.documentElement.scrollWidth,
                images: [...document.images].map(i => [i.naturalWidth, i.getBoundingClientRect().right]),
                background: getComputedStyle(document.querySelector('.sheet')).backgroundColor,
                headline: getComputedStyle(document.querySelector('.headline a')).color,
                preheader: document.querySelector('.preheader').getBoundingClientRect().height,
            })"""
        )
    finally:
        page.close()


@pytest.mark.parametrize("width", [600, 375])
def test_the_email_fits_its_width_in_light_and_dark(
    browser: Browser, output: Path, width: int
) -> None:
    light = _look(browser, output, width, "light")
    dark = _look(browser, output, width, "dark")
    for look in (light, dark):
        assert look["scroll"] <= width  # nothing to scroll sideways
        assert look["images"] and all(
            natural > 0 and right <= width for natural, right in look["images"]
        )
        assert look["preheader"] == 0  # hidden: only the inbox's preview shows it
    assert light["background"] == "rgb(255, 255, 255)"
    assert dark["background"] == "rgb(29, 30, 33)" and dark["headline"] == "rgb(236, 236, 236)"
