#!/usr/bin/env python3
"""Edit-to-reload latency of `masthead serve`, with Hugo's server measured in the same run.

masthead: `masthead serve --port 0` on a generated corpus; a client listens on the
live-reload event stream the way the browser does. For each edit one published record's
title changes by an atomic rename (as editors save), and the latency is the time from
the rename to the `reload` event naming that article's page. Hugo: the same kind of
edit through ../shared/bench/run_anchors.py's hugo_server() (its "Total in N ms" and its
write-to-done time), on the same corpus converted by hugo_site.py.

    python benchmarks/latency.py --records 10000 --edits 20 --out-root /tmp/ssg-tmpfs
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

BENCH = next(
    (
        p / "shared" / "bench"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "bench").is_dir()
    ),
    Path("../shared/bench"),
)
sys.path.insert(0, str(BENCH))
import run_anchors  # noqa: E402  (the shared instrument: same Hugo, same edit method)
from build_speed import masthead_command, published_records  # noqa: E402


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def article_url(record: Path) -> str:
    text = record.read_text(encoding="utf-8")
    when = re.search(r"^publishedDateTime: (\d{4})-(\d{2})-(\d{2})", text, re.M)
    slug = record.stem[len("YYYY-MM-DD-") :]
    return f"/news/{when.group(1)}/{when.group(2)}/{when.group(3)}/{slug}/"


class Events:
    """Reads the preview's server-sent events on a thread, timestamping each `reload`."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
        self.conn.request("GET", "/__masthead/events")
        self.response = self.conn.getresponse()
        self.reloads: queue.Queue[tuple[float, list[str]]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event = None
        for raw in self.response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "reload":
                self.reloads.put((time.perf_counter(), json.loads(line[6:])["pages"]))

    def wait_for(self, url: str, timeout: float = 60) -> float:
        end = time.perf_counter() + timeout
        while (left := end - time.perf_counter()) > 0:
            try:
                when, pages = self.reloads.get(timeout=left)
            except queue.Empty:
                break
            if url in pages:
                return when
        raise TimeoutError(f"no reload for {url}")


def masthead_latency(
    masthead: str, corpus: Path, out_root: Path, edits: int, wait: float
) -> dict[str, object]:
    cmd = masthead_command(masthead, "serve", corpus, out_root, "latency", "--port", "0")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.perf_counter()
    # The build summary comes first, then the line with the address.
    base = next(filter(None, (re.search(r"http://\S+/", line) for line in proc.stdout))).group(0)
    initial = time.perf_counter() - started
    published = published_records(corpus)
    target = published[len(published) // 2]
    original = target.read_text(encoding="utf-8")
    url = article_url(target)
    events = Events(base)
    time.sleep(1)
    latencies = []
    try:
        for i in range(edits):
            run_anchors.wait_idle(wait)
            tmp = target.with_name(".edit.tmp")
            tmp.write_text(
                original.replace('title: "', f'title: "Edit {i + 1} ', 1), encoding="utf-8"
            )
            t0 = time.perf_counter()
            tmp.replace(target)
            latencies.append((events.wait_for(url) - t0) * 1000)
            time.sleep(0.5)
    finally:
        target.write_text(original, encoding="utf-8")
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "latency_ms": [round(x, 1) for x in latencies],
        "initial_build_s": round(initial, 2),
        "file": target.name,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--out-root", type=Path, default=Path("/tmp/ssg-tmpfs"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ssg-bench"))
    ap.add_argument("--masthead", default=shutil.which("masthead") or "masthead")
    ap.add_argument("--wait-idle", type=float, default=30)
    ap.add_argument("--port", type=int, default=1313)
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    corpus, hugo_site = a.workdir / f"corpus-{a.records}", a.workdir / f"hugo-{a.records}"
    venv = SimpleNamespace(venv="/tmp/ssg-venv", hugo_version="0.168.0", pelican=False)
    py, hugo = run_anchors.ensure_venv(venv)
    if not corpus.is_dir():
        run_anchors.run(
            [py, str(BENCH / "gen_corpus.py"), str(a.records), str(corpus), "--seed", "1"]
        )
    if not hugo_site.is_dir():
        run_anchors.run([py, str(BENCH / "hugo_site.py"), str(corpus), str(hugo_site)])
    mine = masthead_latency(a.masthead, corpus, a.out_root, a.edits, a.wait_idle)
    print(json.dumps({"masthead": mine}), flush=True)
    theirs = run_anchors.hugo_server(
        hugo, str(hugo_site), str(a.workdir), str(a.out_root), a.edits, True, a.port, a.wait_idle
    )
    ms, hugo_done, hugo_total = mine["latency_ms"], theirs["latency_ms"], theirs["rebuild_ms"]
    print(json.dumps({"hugo": theirs}))
    print(f"\n{a.records:,} records, {a.edits} title edits, outputs on {a.out_root}\n")
    print("| server | write-to-reload ms, median | p95 | Hugo's own rebuild ms, median | p95 |")
    print("|---|---|---|---|---|")
    print(f"| masthead serve | {statistics.median(ms):.0f} | {p95(ms):.0f} | | |")
    print(
        f"| hugo server (fast render) | {statistics.median(hugo_done):.0f} | {p95(hugo_done):.0f} "
        f"| {statistics.median(hugo_total):.0f} | {p95(hugo_total):.0f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
