"""Lighthouse on every page kind of a powerapps build, mobile and desktop (not run in CI).

    python benchmarks/lighthouse.py [--corpus ../shared/corpus/powerapps] [--work /dev/shm/...]

The corpus is built with base_url on 127.0.0.1 and served by a plain http.server. The
records' pictures are remote (https, on the providers' hosts): Chromium is told to
resolve every other host to a local stand-in server that answers each picture with one
of a few large JPEGs (1600x900, about 550 KB, as providers send them), over TLS with a
throwaway certificate that Chromium is told to accept. Needs npm (Lighthouse is installed
under the work folder), openssl, Debian's Chromium and the test extra (Playwright draws
the JPEGs). Prints a Markdown table of the four category scores per page and form factor.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import zlib
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

    def do_GET(self) -> None:
        body = self.jpegs[zlib.crc32(self.path.encode()) % len(self.jpegs)]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=86400")
        self.end_headers()
        self.wfile.write(body)

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
    return {c: round(100 * (data["categories"][c]["score"] or 0)) for c in CATEGORIES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpus/powerapps")
    parser.add_argument("--work", type=Path, default=Path("/dev/shm/masthead-lighthouse"))
    parser.add_argument("--only", help="comma-separated page kinds")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    tool = lighthouse_bin(work)
    pictures = serve(picture_server(work, stand_in_jpegs(work / "jpegs")))
    site, output = work / "site", work / "site" / "public"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    http = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(output)))
    port = serve(http)
    base = f"http://127.0.0.1:{port}/"
    (site / "site.toml").write_text(f'title = "Power Apps news"\nbase_url = "{base}"\n')
    masthead = Path(sys.executable).with_name("masthead")
    subprocess.run(
        [str(masthead), "build", "--site", str(site), "--content", str(args.corpus),
         "--output", str(output)],
        check=True, capture_output=True,
    )  # fmt: skip
    kinds = page_kinds(output)
    if args.only:
        kinds = {k: v for k, v in kinds.items() if k in args.only.split(",")}
    print("| page | form factor | " + " | ".join(CATEGORIES) + " |")
    print("|---|---|" + "---|" * len(CATEGORIES))
    for kind, path in kinds.items():
        for desktop in (False, True):
            scores = run(tool, base + path, desktop, pictures, work / "report.json")
            form = "desktop" if desktop else "mobile"
            print(f"| {kind} | {form} | " + " | ".join(str(scores[c]) for c in CATEGORIES) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
