"""Screenshots of the example site's latest email edition for the README, by Chromium.

    .venv/bin/python tools/newsletter_screenshots.py [OUTPUT_DIR] [BASE_URL] [SHOTS_DIR]

Builds nothing itself: give it the output folder of a build (default `public/`) and the
site's base_url (default `http://localhost:8000/`); the email's absolute URLs under
base_url are answered from that folder, nothing else is fetched. Writes email-600-light.png, email-600-dark.png, email-375-light.png and
email-375-dark.png, the top of the email as a reader first sees it, at 1x, so that the
four stay small. With Pillow installed they are reduced to a 256-colour palette.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
HEIGHT = {600: 1000, 375: 1100}


def latest_email(output: Path) -> Path:
    return sorted(output.glob("editions/*/email.html"))[-1]


def shoot(output: Path, base_url: str, folder: Path) -> list[Path]:
    email = latest_email(output)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width, height in HEIGHT.items():
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.emulate_media(color_scheme=scheme)
                page.route("**/*", lambda route: _answer(route, output, base_url))
                page.goto(email.resolve().as_uri())
                page.wait_for_load_state("networkidle")
                path = folder / f"email-{width}-{scheme}.png"
                page.screenshot(path=str(path))
                page.close()
                made.append(path)
        browser.close()
    return made


def _answer(route: Route, output: Path, base_url: str) -> None:
    url = route.request.url
    if url.startswith("file:"):
        route.continue_()
        return
    target = output / url[len(base_url) :] if url.startswith(base_url) else None
    if target is not None and target.is_file():
        route.fulfill(path=str(target))
    else:
        route.abort()


def shrink(paths: list[Path]) -> None:
    try:
        from PIL import Image
    except ImportError:
        return
    for path in paths:
        with Image.open(path) as image:
            image.convert("RGB").quantize(256).save(path, optimize=True)


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("public")
    base_url = sys.argv[2] if len(sys.argv) > 2 else "http://localhost:8000/"
    folder = Path(sys.argv[3]) if len(sys.argv) > 3 else Path("docs/screenshots")
    paths = shoot(output, base_url, folder)
    shrink(paths)
    for path in paths:
        print(f"{path}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
