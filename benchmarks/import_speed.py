#!/usr/bin/env python3
"""`masthead import` of F feeds of E entries each, served from a local HTTP server.

The feeds are RSS 2.0 with made-up text, media:content images and categories, served
on 127.0.0.1 with ETags. Each run imports into a fresh site (`allow_private_hosts = true`,
as the server is on loopback), then imports again (every feed answers 304: nothing is
written) and runs `masthead check`. Wall clock around each command; median of --runs.
Sites belong on a tmpfs (see ../shared/bench/README.md):

    python benchmarks/import_speed.py --feeds 10 --entries 100 --runs 3 --workdir /tmp/ssg-tmpfs
"""

from __future__ import annotations

import argparse
import http.server
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

WORDS = [
    "harbour",
    "tide",
    "ferry",
    "council",
    "bridge",
    "market",
    "storm",
    "gull",
    "pier",
    "lantern",
    "quay",
    "fleet",
    "net",
    "trawler",
    "beacon",
    "dune",
    "marsh",
    "estuary",
    "reef",
    "schooner",
    "mooring",
    "jetty",
    "regatta",
    "boardwalk",
]


def make_feed(index: int, entries: int, rng: random.Random) -> bytes:
    start = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    items = []
    for n in range(entries):
        title = " ".join(rng.choice(WORDS) for _ in range(7)).capitalize()
        text = ". ".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(5))
        when = format_datetime(start - timedelta(minutes=37 * n + index))
        items.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>https://feed{index}.example/story/{n}?utm_source=rss</link>"
            f"<pubDate>{when}</pubDate><category>{rng.choice(WORDS)}</category>"
            f"<description>{escape(f'<p>{text}.</p>')}</description>"
            f'<media:content url="https://img.feed{index}.example/{n}.jpg" medium="image"'
            ' width="1200" height="675"/></item>'
        )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>Feed {index}</title><link>https://feed{index}.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def serve(feeds: dict[str, bytes]) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = feeds.get(self.path)
            if body is None:
                self.send_error(404)
                return
            etag = f'"{hash(body)}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + sys) of the command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    rng = random.Random(1)
    feeds = {f"/feed{i}.xml": make_feed(i, args.entries, rng) for i in range(args.feeds)}
    server, port = serve(feeds)
    masthead = [sys.executable, "-m", "masthead"]
    results: dict[str, list[tuple[float, float]]] = {"import": [], "again (304s)": [], "check": []}
    work = Path(tempfile.mkdtemp(prefix="import-bench-", dir=args.workdir))
    try:
        for run in range(args.runs):
            site = work / f"site{run}"
            (site / "content").mkdir(parents=True)
            toml = ["[import]", "allow_private_hosts = true"]
            for path in feeds:
                toml += ["[[import.feeds]]", f'url = "http://127.0.0.1:{port}{path}"']
            (site / "site.toml").write_text("\n".join(toml) + "\n")
            results["import"].append(timed([*masthead, "import", "--site", str(site)]))
            results["again (304s)"].append(timed([*masthead, "import", "--site", str(site)]))
            results["check"].append(timed([*masthead, "check", "--site", str(site), "--drafts"]))
            written = len(list((site / "content").glob("*.md")))
            assert written == args.feeds * args.entries, written
    finally:
        server.shutdown()
        shutil.rmtree(work)
    size = sum(map(len, feeds.values()))
    print(
        f"{args.feeds} feeds x {args.entries} entries ({size / 1e6:.1f} MB of RSS), {args.runs} runs"
    )
    for name, times in results.items():
        walls, cpus = [w for w, _ in times], [c for _, c in times]
        runs = ", ".join(f"{w:.2f}" for w in walls)
        print(
            f"{name:>14}: median {statistics.median(walls):.2f} s wall ({runs}),"
            f" {statistics.median(cpus):.2f} s CPU"
        )


if __name__ == "__main__":
    main()
