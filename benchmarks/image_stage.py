#!/usr/bin/env python3
"""What the image stage costs a build once every image is in its cache (not run in CI).

    python benchmarks/image_stage.py [--size 10000] [--pairs 3] [--work /dev/shm/masthead-images]

A synthetic corpus (../shared/bench/gen_corpus.py, seed 1) is built once with
`[images] fetch = true` in this process, the image stage's fetcher sent to a local
stand-in server that answers every remote picture with one of a few JPEGs (of the
corpus's sizes, chosen by the URL), which warms `.masthead-cache/images/`. Then
`masthead build` runs as a command, without the build cache (`--no-cache`: every page
rendered, every file written into an empty output folder), alternately with
`fetch = false` (no image stage work) and `fetch = true` (every image cached: no network,
no resizing), and the medians of wall and CPU seconds are compared (CPU time, workers
included, is the steadier on a shared machine). Outputs belong on a tmpfs. A second run
finds the cache warm and skips the warming build.

The stand-in answers many URLs with the same bytes, so the cache holds few originals:
what is measured is the per-URL cost of the stage (collecting the URLs, the cache's
index, the map, `srcset` in every page) and writing the copies of those originals, not
writing one set of copies per story. `img()` makes each picture's element once per
layout and process, so with so few pictures nearly every element is reused: a site
whose stories have pictures of their own pays more (benchmarks/README.md bounds it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
BENCH = next(
    (p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()),
    ROOT.parent / "shared" / "bench",
)
SIZES = [(1200, 630), (1280, 720), (1024, 576), (800, 450), (1600, 900), (640, 360), (1200, 800)]


def stand_ins() -> list[bytes]:
    """Noisy JPEGs of the corpus's sizes, three of each (noise keeps them photo-heavy)."""
    from PIL import Image

    jpegs = []
    for i, size in enumerate(SIZES * 3):
        noise = Image.effect_noise(size, 40 + i).convert("RGB")
        gradient = Image.linear_gradient("L").resize(size).convert("RGB")
        out = io.BytesIO()
        Image.blend(noise, gradient, 0.6).save(out, "JPEG", quality=85)
        jpegs.append(out.getvalue())
    return jpegs


class _Pictures(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    jpegs: ClassVar[list[bytes]] = []

    def do_GET(self) -> None:
        body = self.jpegs[zlib.crc32(self.path.encode()) % len(self.jpegs)]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def warm(site: Path, corpus: Path) -> float:
    """Build once with fetching on, every remote picture answered by the stand-in."""
    from urllib.parse import urlsplit

    from masthead.building.build import BuildOptions, build
    from masthead.outputs import images
    from masthead.records.safefetch import Fetcher, FetchLimits

    _Pictures.jpegs = stand_ins()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pictures)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    class StandIn:
        fetcher = Fetcher(FetchLimits(allow_private_hosts=True))

        def get(self, url: str, headers: dict[str, str] | None = None) -> object:
            return self.fetcher.get(f"http://127.0.0.1:{port}{urlsplit(url).path}", headers)

        @contextlib.contextmanager
        def reusing(self) -> Iterator[StandIn]:
            """What the image stage asks of its fetcher; one-shot fetches here (the
            stand-in speaks HTTP/1.0), and only the warming build fetches at all."""
            yield self

    images.fetcher_for = lambda config: StandIn()  # type: ignore[assignment,return-value]
    started = time.perf_counter()
    build(BuildOptions(site_dir=site, content_dir=corpus, output_dir=site / "public", search=False))
    server.shutdown()
    return time.perf_counter() - started


def warmed(site: Path) -> bool:
    """The image cache holds originals that this masthead can read (an index it cannot
    read, of another version, would send the measured builds to the network)."""
    from masthead.outputs import images

    store = images._Store(site / ".masthead-cache" / "images")
    store.read()
    return bool(store.urls)


def timed_build(site: Path, corpus: Path, fetch: bool) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, workers included) of one build."""
    config = site / "site.toml"
    text = config.read_text().split("[images]")[0]
    config.write_text(text + f"[images]\nfetch = {'true' if fetch else 'false'}\n")
    output = site / "out"
    shutil.rmtree(output, ignore_errors=True)
    masthead = Path(sys.executable).with_name("masthead")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [str(masthead), "build", "--site", str(site), "--content", str(corpus),
         "--output", str(output), "--no-cache", "--no-search"],
        check=True, capture_output=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/dev/shm/masthead-images"))
    args = parser.parse_args()
    work: Path = args.work
    corpus, site = work / f"c{args.size}", work / "site"
    if not corpus.is_dir():
        subprocess.run(
            [sys.executable, str(BENCH / "gen_corpus.py"), str(args.size), str(corpus)],
            check=True, capture_output=True,
        )  # fmt: skip
    site.mkdir(parents=True, exist_ok=True)
    (site / "site.toml").write_text('base_url = "https://news.example/"\n[images]\nfetch = true\n')
    if not warmed(site):
        print(f"warming the image cache: {warm(site, corpus):.1f} s")
    times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.pairs):
        for fetch in (False, True):
            times[fetch].append(timed_build(site, corpus, fetch))
    for i, kind in enumerate(("wall", "CPU")):
        off = statistics.median(t[i] for t in times[False])
        on = statistics.median(t[i] for t in times[True])
        print(f"{kind}: without the stage {off:.2f} s {[round(t[i], 2) for t in times[False]]}")
        print(f"{kind}: every image cached {on:.2f} s {[round(t[i], 2) for t in times[True]]}")
        print(f"{kind}: cost {on - off:+.2f} s ({(on - off) / off:+.1%})")


if __name__ == "__main__":
    main()
