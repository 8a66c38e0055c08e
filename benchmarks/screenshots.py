"""Screenshots of the default theme for the README (not run in CI).

    python benchmarks/screenshots.py [--out docs/screenshots]

Builds the example site (content/ and static/ of this repository: made-up stories with
local pictures) on 127.0.0.1 and takes the front page, an article, an edition and the
search page (with a query), at 1280x900 and 390x844, light and dark, first screen only.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

from masthead.building.build import BuildOptions, build

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def pages(output: Path) -> dict[str, str]:
    """Page name -> site path: the busiest edition, an article with a picture and coverage."""
    articles = sorted((output / "news").rglob("index.html"))
    article = next(
        p
        for p in articles
        if "Related coverage" in p.read_text() and "story-image" in p.read_text()
    )
    editions = sorted((output / "editions").glob("*/index.html"), key=lambda p: -p.stat().st_size)
    return {
        "front": "",
        "article": article.parent.relative_to(output).as_posix() + "/",
        "edition": editions[0].parent.relative_to(output).as_posix() + "/",
        "search": "search/?q=harbour",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site, output = Path(tmp) / "site", Path(tmp) / "public"
        site.mkdir()
        shutil.copy(ROOT / "site.toml", site / "site.toml")
        for folder in ("content", "static"):
            shutil.copytree(ROOT / folder, site / folder)
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(output)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        report = build(BuildOptions(site, output_dir=output, base_url=base, use_cache=False))
        assert not report.failed, report.diagnostics
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            for scheme in ("light", "dark"):
                for size, (width, height) in SIZES.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height}, color_scheme=scheme
                    )
                    page = context.new_page()
                    for name, path in pages(output).items():
                        page.goto(base + path)
                        page.wait_for_load_state("networkidle")
                        if name == "search":
                            page.wait_for_selector(".pagefind-ui__result")
                            page.wait_for_timeout(500)
                        page.screenshot(path=str(args.out / f"{name}-{size}-{scheme}.png"))
                    context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
