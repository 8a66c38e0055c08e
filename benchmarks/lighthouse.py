"""Lighthouse on every page kind of a powerapps build, mobile and desktop (not run in CI).

    python benchmarks/lighthouse.py [--corpus ../shared/corpus/powerapps] [--work /dev/shm/...]

The corpus is built with base_url on 127.0.0.1 and served by a plain http.server. The
records' pictures are remote (https, on the providers' hosts): Chromium is told to
resolve every other host to a local stand-in server that answers each picture with one
of a few large JPEGs (1600x900, about 550 KB, as providers send them; a patch drawn in
makes each URL's bytes its own), over TLS with a
throwaway certificate that Chromium is told to accept. Needs npm (Lighthouse is installed
under the work folder), openssl, Debian's Chromium and the test extra (Playwright draws
the JPEGs). Prints a Markdown table of the four category scores per page and form factor.

With `--fetch`, the build runs with `[images] fetch = true` (the image stage, images.py),
its fetcher sent to the same stand-in server for every remote picture; the table then
also gives the largest contentful paint, and the image bytes a 390 px wide phone loads
for the whole front page, scrolled to the end (Playwright).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
JPEGS = 6
DRAW = """([w, h, seed]) => {
  const c = document.createElement('canvas'); c.width = w; c.height = h;
  const g = c.getContext('2d');
  let s = seed; const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const grad = g.createLinearGradient(0, 0, w, h);
  grad.addColorStop(0, `hsl(${r()*360},55%,45%)`); grad.addColorStop(1, `hsl(${r()*360},60%,70%)`);
  g.fillStyle = grad; g.fillRect(0, 0, w, h);
  for (let i = 0; i < 60; i++) { g.fillStyle = `hsla(${r()*360},60%,${30+r()*50}%,0.5)`;
    g.beginPath(); g.arc(r()*w, r()*h, 20 + r()*w/5, 0, 7); g.fill(); }
  const d = g.getImageData(0, 0, w, h);
  for (let i = 0; i < d.data.length; i += 4) { const n = (r()-0.5)*40;
    d.data[i] += n; d.data[i+1] += n; d.data[i+2] += n; }
  g.putImageData(d, 0, 0);
  return c.toDataURL('image/jpeg', 0.9);
}"""


def stand_in_jpegs(folder: Path) -> list[bytes]:
    """A few large, noisy JPEGs (noise keeps them as heavy as photographs)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"stand-in-{i}.jpg" for i in range(JPEGS)]
    if not all(p.is_file() for p in paths):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            for i, path in enumerate(paths):
                data = page.evaluate(DRAW, [1600, 900, 1000 + i * 7919])
                path.write_bytes(base64.b64decode(data.split(",", 1)[1]))
            browser.close()
    return [p.read_bytes() for p in paths]


class _Pictures(BaseHTTPRequestHandler):
    jpegs: ClassVar[list[bytes]] = []

    made: ClassVar[dict[str, bytes]] = {}
    lock = threading.Lock()

    def do_GET(self) -> None:
        body = self.distinct(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=86400")
        self.end_headers()
        self.wfile.write(body)

    @classmethod
    def distinct(cls, path: str) -> bytes:
        """One of the JPEGs with a patch of its own drawn in: different bytes for each
        URL, as real pictures are (the image stage names its copies by the bytes, and a
        browser would fetch a shared copy once)."""
        with cls.lock:
            if path not in cls.made:
                import io

                from PIL import Image, ImageDraw

                crc = zlib.crc32(path.encode())
                image = Image.open(io.BytesIO(cls.jpegs[crc % len(cls.jpegs)]))
                x, y = crc % 1500, (crc >> 11) % 800
                colour = (crc & 255, (crc >> 8) & 255, (crc >> 16) & 255)
                ImageDraw.Draw(image).rectangle((x, y, x + 60, y + 60), fill=colour)
                out = io.BytesIO()
                image.save(out, "JPEG", quality=90)
                cls.made[path] = out.getvalue()
            return cls.made[path]

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(server: ThreadingHTTPServer) -> int:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return int(server.server_address[1])


def picture_server(work: Path, jpegs: list[bytes]) -> ThreadingHTTPServer:
    cert, key = work / "stand-in.crt", work / "stand-in.key"
    if not cert.is_file():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=stand-in", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
    _Pictures.jpegs = jpegs
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pictures)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def lighthouse_bin(work: Path) -> Path:
    tool = work / "npm" / "node_modules" / ".bin" / "lighthouse"
    if not tool.is_file():
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
             str(work / "npm"), "lighthouse@12"],
            check=True,
        )  # fmt: skip
    return tool


def first_page(output: Path, folder: str, marker: str = "") -> str:
    for page in sorted((output / folder).rglob("index.html")):
        if marker in page.read_text(encoding="utf-8"):
            return page.parent.relative_to(output).as_posix() + "/"
    raise SystemExit(f"no page under {folder} with {marker!r}")


def page_kinds(output: Path) -> dict[str, str]:
    newest = sorted((output / "news").rglob("index.html"))[-1].parent
    return {
        "front page": "",
        "article": newest.relative_to(output).as_posix() + "/",
        "video": first_page(output, "news", 'class="video-play"'),
        "topics": "topics/",
        "topic": "topics/power-apps/",
        "providers": "providers/",
        "provider": first_page(output, "providers"),
        "editions": "editions/",
        "edition": first_page(output, "editions"),
        "archive": "archive/",
        "year": first_page(output, "archive"),
        "month": first_page(output, "archive/2024"),
        "search": "search/",
        "404": "404.html",
    }


def run(tool: Path, url: str, desktop: bool, pictures: int, report: Path) -> dict[str, int]:
    flags = [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
        f'--host-resolver-rules="MAP * 127.0.0.1:{pictures},EXCLUDE 127.0.0.1"',
    ]  # fmt: skip
    command = [
        str(tool), url, "--quiet", "--output=json", f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={' '.join(flags)}",
    ]  # fmt: skip
    if desktop:
        command.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    subprocess.run(command, check=True, env=env, timeout=300)
    data = json.loads(report.read_text())
    scores = {c: round(100 * (data["categories"][c]["score"] or 0)) for c in CATEGORIES}
    scores["lcp"] = round(data["audits"]["largest-contentful-paint"]["numericValue"])
    return scores


class _StandInFetcher:
    """The image stage's fetcher for this benchmark: every remote picture comes from the
    stand-in server, whatever its host (the build cannot reach, nor resolve, the real ones)."""

    def __init__(self, port: int) -> None:
        from masthead.records.safefetch import Fetcher, FetchLimits

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the throwaway certificate
        self.port = port
        self.fetcher = Fetcher(FetchLimits(allow_private_hosts=True), ssl_context=context)

    def get(self, url: str, headers: dict[str, str] | None = None) -> object:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        stand_in = f"https://127.0.0.1:{self.port}{parts.path}" + (
            f"?{parts.query}" if parts.query else ""
        )
        return self.fetcher.get(stand_in, headers)

    @contextlib.contextmanager
    def reusing(self) -> Iterator[_StandInFetcher]:
        """What the image stage asks of its fetcher: connections kept alive in the block."""
        with self.fetcher.reusing() as fetcher:
            kept = _StandInFetcher.__new__(_StandInFetcher)
            kept.port, kept.fetcher = self.port, fetcher
            yield kept


def build_site(site: Path, corpus: Path, output: Path, pictures: int, fetch: bool) -> None:
    """Build in this process (the image stage's fetcher replaced), or as the command."""
    if not fetch:
        masthead = Path(sys.executable).with_name("masthead")
        subprocess.run(
            [str(masthead), "build", "--site", str(site), "--content", str(corpus),
             "--output", str(output)],
            check=True, capture_output=True,
        )  # fmt: skip
        return
    from masthead.building.build import BuildOptions, build
    from masthead.outputs import images

    images.fetcher_for = lambda config: _StandInFetcher(pictures)  # type: ignore[assignment,return-value]
    with (site / "site.toml").open("a") as config:
        config.write("[images]\nfetch = true\n")
    report = build(BuildOptions(site_dir=site, content_dir=corpus, output_dir=output))
    print(
        f"<!-- built in {report.seconds:.1f} s, image stage {report.timings.get('images', 0):.1f} s -->"
    )


def phone_image_bytes(url: str) -> int:
    """Image bytes a 390x844 phone (DPR 3) loads for the whole page, scrolled to its end."""
    from playwright.sync_api import sync_playwright

    total = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
                  f"--host-resolver-rules=MAP * 127.0.0.1:{_PICTURES_PORT},EXCLUDE 127.0.0.1"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=3)
        sizes: list[int] = []

        def counted(response: object) -> None:
            request = response.request  # type: ignore[attr-defined]
            if request.resource_type == "image":
                sizes.append(len(response.body()))  # type: ignore[attr-defined]

        page.on("response", counted)
        page.goto(url, wait_until="networkidle")
        height = page.evaluate("document.body.scrollHeight")
        for y in range(0, height + 844, 600):
            page.evaluate(f"window.scrollTo(0, {y})")
            page.wait_for_timeout(60)
        page.wait_for_load_state("networkidle")
        total = sum(sizes)
        browser.close()
    return total


_PICTURES_PORT = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus/powerapps")
    parser.add_argument("--work", type=Path, default=Path("/dev/shm/masthead-lighthouse"))
    parser.add_argument("--only", help="comma-separated page kinds")
    parser.add_argument("--fetch", action="store_true", help="build with [images] fetch = true")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    tool = lighthouse_bin(work)
    pictures = serve(picture_server(work, stand_in_jpegs(work / "jpegs")))
    global _PICTURES_PORT
    _PICTURES_PORT = pictures
    site, output = work / "site", work / "site" / "public"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    http = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(output)))
    port = serve(http)
    base = f"http://127.0.0.1:{port}/"
    (site / "site.toml").write_text(f'title = "Power Apps news"\nbase_url = "{base}"\n')
    build_site(site, args.corpus, output, pictures, args.fetch)
    kinds = page_kinds(output)
    if args.only:
        kinds = {k: v for k, v in kinds.items() if k in args.only.split(",")}
    if "front page" in kinds:
        print(
            f"front page at 390 px, scrolled to the end: {phone_image_bytes(base) / 1024:.0f} KB of images"
        )
    print("| page | form factor | " + " | ".join(CATEGORIES) + " | LCP |")
    print("|---|---|" + "---|" * (len(CATEGORIES) + 1))
    for kind, path in kinds.items():
        for desktop in (False, True):
            scores = run(tool, base + path, desktop, pictures, work / "report.json")
            form = "desktop" if desktop else "mobile"
            cells = [str(scores[c]) for c in CATEGORIES] + [f"{scores['lcp'] / 1000:.1f} s"]
            print(f"| {kind} | {form} | " + " | ".join(cells) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
