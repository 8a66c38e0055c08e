#!/usr/bin/env python3
"""The default build (search and cache on) beside Hugo's cold build, in adjacent pairs.

Each pair is one call of `../shared/bench/run_anchors.py --runs 1` (Hugo cold, then
masthead's default command cold: no output, no cache), then, on the output and cache
that cold build left, two warm builds timed the same way: after one published record's
title changed (the new title must then be in the search index: it is looked for in the
index's fragments) and after one story was added. Each is compared with the Hugo cold
build of its own pair; the figures are the medians of the pairs' ratios.

    python benchmarks/search_pairs.py --size 10000 --pairs 5 --out-root /tmp/ssg-tmpfs
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
from pathlib import Path

from build_speed import BENCH, add_record, edit_title, pair_arguments, published_records, timed


def in_index(bundle: Path, text: str) -> bool:
    """Is `text` in some fragment of the search bundle (any shard)?"""
    needle = json.dumps(text)[1:-1].encode()
    return any(needle in gzip.decompress(p.read_bytes()) for p in bundle.rglob("*.pf_fragment"))


def one_pair(a: argparse.Namespace, n: int) -> dict[str, float]:
    site, cache = a.out_root / "search-pairs-site", a.out_root / "search-pairs-cache"
    site.mkdir(parents=True, exist_ok=True)
    build = f"{a.masthead} build --site {site} --cache-dir {cache}"
    candidate = f"rm -rf {cache} && {build} --content {{content}} --output {{out}}"
    subprocess.run(
        [sys.executable, str(BENCH / "run_anchors.py"), "--sizes", str(a.size), "--runs", "1",
         "--out-root", str(a.out_root), "--workdir", str(a.workdir), "--no-server",
         "--wait-idle", str(a.wait_idle), "--candidate", candidate, "--candidate-name", "masthead"],
        check=True, capture_output=True,
    )  # fmt: skip
    cold = json.loads((a.workdir / "results.json").read_text())["cold"]
    rows = {r["name"].rsplit("-", 1)[0]: r for r in cold if r["size"] == a.size}
    hugo, mine = rows["hugo"], rows["masthead"]
    corpus, out = a.workdir / f"corpus-{a.size}", a.out_root / f"out-masthead-{a.size}"
    command = [*build.split(), "--content", str(corpus), "--output", str(out)]
    target = published_records(corpus)[a.size // 4]
    backup = target.read_bytes()
    added = None
    try:
        edit_title(target, n)
        edit = timed(command)
        found = in_index(out / "pagefind", f"Edit {n} ")
        added = add_record(corpus, target, n)
        add = timed(command)
    finally:
        target.write_bytes(backup)
        if added is not None:
            added.unlink()
    result = {
        "hugo": hugo["median_s"], "hugo_rss": hugo["rss_mib"], "hugo_cpu": hugo["cpu_s"],
        "cold": mine["median_s"], "cold_rss": mine["rss_mib"], "cold_cpu": mine["cpu_s"],
        "edit": edit["wall"], "edit_rss": edit["rss"], "add": add["wall"],
        "add_rss": add["rss"], "found": float(found),
    }  # fmt: skip
    print(
        f"pair {n + 1}: Hugo {hugo['median_s']:.2f} s ({hugo['rss_mib']:.0f} MiB); masthead"
        f" cold {mine['median_s']:.2f} s ({mine['rss_mib']:.0f} MiB, ratio"
        f" {mine['median_s'] / hugo['median_s']:.2f}), title edit {edit['wall']:.2f} s"
        f" ({edit['wall'] / hugo['median_s']:.3f}, new title in the index: {found}),"
        f" story added {add['wall']:.2f} s ({add['wall'] / hugo['median_s']:.3f})",
        flush=True,
    )
    return result


def main() -> int:
    a = pair_arguments(__doc__.splitlines()[0], pairs=5)
    pairs = [one_pair(a, n) for n in range(a.pairs)]
    med = lambda key: statistics.median(p[key] for p in pairs)  # noqa: E731
    ratio = lambda key: statistics.median(p[key] / p["hugo"] for p in pairs)  # noqa: E731
    print(
        f"\n{a.size:,} records, {a.pairs} pairs (medians): Hugo cold {med('hugo'):.2f} s,"
        f" {med('hugo_rss'):.0f} MiB | masthead cold {med('cold'):.2f} s ({ratio('cold'):.2f}x),"
        f" {med('cold_rss'):.0f} MiB, {med('cold_cpu'):.1f} CPU-s (Hugo {med('hugo_cpu'):.1f})"
        f" | title edit {med('edit'):.2f} s ({ratio('edit'):.3f}x), found in"
        f" {sum(p['found'] for p in pairs):.0f}/{a.pairs} | story added {med('add'):.2f} s"
        f" ({ratio('add'):.3f}x)"
    )
    (a.workdir / "search_pairs.json").write_text(json.dumps(pairs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
