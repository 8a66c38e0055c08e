#!/usr/bin/env python3
"""Load test of `masthead serve` on loopback: concurrent requests while a rebuild runs.

Starts the preview on a generated corpus, opens N connections at once (default 1,000)
to a mix of pages, feeds, assets, missing pages and traversal attempts, and triggers a
rebuild in the middle by editing a record. Every request must be answered with the
expected status; no traversal may leak a file. Bounded: each request has a timeout and
the whole run stops by itself.

    python benchmarks/load_test.py --records 1000 --requests 1000
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = next(
    (
        p / "shared" / "bench"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "bench").is_dir()
    ),
    Path("../shared/bench"),
)


async def fetch(host: str, port: int, path: str, timeout: float) -> tuple[str, int, float]:
    start = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    if b"root:x:0:0" in data:
        status = -1  # a leaked /etc/passwd
    return path, status, time.perf_counter() - start


async def storm(
    host: str, port: int, paths: list[str], timeout: float
) -> list[tuple[str, int, float]]:
    results = await asyncio.gather(
        *(fetch(host, port, p, timeout) for p in paths), return_exceptions=True
    )
    return [r if isinstance(r, tuple) else ("error", 0, timeout) for r in results]


def run(records: int, requests: int, timeout: float, masthead: str) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="masthead-load-"))
    try:
        corpus, site = work / "content", work / "site"
        subprocess.run([sys.executable, str(BENCH / "gen_corpus.py"), str(records), str(corpus), "--seed", "1"],
                       check=True, capture_output=True)  # fmt: skip
        site.mkdir()
        proc = subprocess.Popen(
            [masthead, "serve", "--site", str(site), "--content", str(corpus), "--output", str(work / "out"), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            # The build summary comes first, then the line with the address.
            base = next(
                filter(
                    None, (re.search(r"http://127\.0\.0\.1:(\d+)/", line) for line in proc.stdout)
                )
            )
            port = int(base.group(1))
            pages = sorted(
                p.relative_to(work / "out").as_posix() for p in (work / "out").rglob("index.html")
            )[:200]
            mix = ["/" + p.removesuffix("index.html") for p in pages] + [
                "/assets/style.css", "/no/such/page/", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                "/%252e%252e/%252e%252e/etc/passwd", "/.masthead-manifest.json",
            ]  # fmt: skip
            paths = [mix[i % len(mix)] for i in range(requests)]
            target = sorted(corpus.glob("*.md"))[records // 2]
            target.write_text(
                target.read_text().replace('title: "', 'title: "Load test ', 1)
            )  # a rebuild starts
            started = time.perf_counter()
            results = asyncio.run(storm("127.0.0.1", port, paths, timeout))
            elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    expected = {
        p: (404 if ("passwd" in p or "no/such" in p or "manifest" in p) else 200) for p in mix
    }
    wrong = [(p, s) for p, s, _ in results if p == "error" or s != expected[p]]
    times = [t for _, _, t in results]
    return {
        "requests": requests,
        "wrong": wrong[:20],
        "wrong_count": len(wrong),
        "seconds": round(elapsed, 2),
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--masthead", default=shutil.which("masthead") or "masthead")
    a = ap.parse_args()
    result = run(a.records, a.requests, a.timeout, a.masthead)
    print(result)
    return 1 if result["wrong_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
