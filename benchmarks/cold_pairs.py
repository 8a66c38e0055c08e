#!/usr/bin/env python3
"""Cold builds of masthead and Hugo in adjacent pairs, for a ratio the box's drift spares.

`build_speed.py` times Hugo's runs, then masthead's: on this shared VM the speed of the
machine drifts by a fifth within minutes, and the ratio of two medians taken minutes
apart drifts with it. Here each pair is one call of `../shared/bench/run_anchors.py
--runs 1` (Hugo, then masthead, seconds apart); the figure is the median of the pairs'
ratios, beside the median of each side.

    python benchmarks/cold_pairs.py --size 10000 --pairs 7 --out-root /tmp/ssg-tmpfs
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from build_speed import BENCH, pair_arguments


def main() -> int:
    a = pair_arguments(__doc__.splitlines()[0], pairs=7)
    empty_site = a.out_root / "empty-site"
    empty_site.mkdir(parents=True, exist_ok=True)
    candidate = (
        f"{a.masthead} build --no-cache --no-search --site {empty_site}"
        " --content {content} --output {out}"
    )
    pairs: list[tuple[float, float]] = []
    for n in range(a.pairs):
        subprocess.run(
            [sys.executable, str(BENCH / "run_anchors.py"), "--sizes", str(a.size), "--runs", "1",
             "--out-root", str(a.out_root), "--workdir", str(a.workdir), "--no-server",
             "--wait-idle", str(a.wait_idle), "--candidate", candidate, "--candidate-name", "masthead"],
            check=True, capture_output=True,
        )  # fmt: skip
        cold = json.loads((a.workdir / "results.json").read_text())["cold"]
        wall = {r["name"].rsplit("-", 1)[0]: r["median_s"] for r in cold if r["size"] == a.size}
        pairs.append((wall["hugo"], wall["masthead"]))
        print(f"pair {n + 1}: Hugo {wall['hugo']:.2f} s, masthead {wall['masthead']:.2f} s,"
              f" ratio {wall['masthead'] / wall['hugo']:.2f}", flush=True)  # fmt: skip
    ratios = [m / h for h, m in pairs]
    hugo, mine = (statistics.median(side) for side in zip(*pairs, strict=True))
    print(
        f"\n{a.size:,} records, {a.pairs} pairs: median ratio {statistics.median(ratios):.2f}"
        f" (range {min(ratios):.2f} to {max(ratios):.2f}); medians: masthead {mine:.2f} s,"
        f" Hugo {hugo:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
