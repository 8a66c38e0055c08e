#!/usr/bin/env python3
"""Build times of a base commit and the work tree, in adjacent pairs: no speed lost?

On this shared VM the machine's speed drifts by a fifth within minutes, so each pair
runs the base commit and the work tree seconds apart (alternating which goes first) and
the figure is the median of the pairs' ratios. Each side, in each pair: a cold build
(fresh output and cache), a no-op build, then a build after one record's excerpt
changed (the stored model's path), each `masthead build` as a fresh process.

    python benchmarks/refactor_pairs.py --base main --size 10000 --pairs 5
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path("/work/shared")
KINDS = ("cold", "no-op", "one edit")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main")
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=Path("/dev/shm/refactor-pairs"))
    a = ap.parse_args()
    base = _unpack(a.base, a.workdir / "base")
    corpus = _corpus(a.size, a.workdir)
    times: dict[str, dict[str, list[float]]] = {s: {k: [] for k in KINDS} for s in ("base", "new")}
    for n in range(a.pairs):
        sides = [("base", base), ("new", ROOT)]
        for side, src in sides if n % 2 == 0 else sides[::-1]:
            for kind, seconds in _one_side(src, corpus, a.workdir / "run").items():
                times[side][kind].append(seconds)
        print(
            f"pair {n + 1}: "
            + "; ".join(
                f"{k} {times['base'][k][-1]:.2f} / {times['new'][k][-1]:.2f} s" for k in KINDS
            ),
            flush=True,
        )
    print(f"\n{a.size:,} records, {a.pairs} pairs (base / work tree, medians):")
    for kind in KINDS:
        b, w = times["base"][kind], times["new"][kind]
        ratios = [y / x for x, y in zip(b, w, strict=True)]
        print(
            f"  {kind:9} {statistics.median(b):6.2f} / {statistics.median(w):6.2f} s;"
            f" ratio {statistics.median(ratios):.3f} (range {min(ratios):.3f} to {max(ratios):.3f})"
        )
    return 0


def _unpack(commit: str, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src", "templates"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(into, filter="data")
    return into


def _corpus(size: int, workdir: Path) -> Path:
    corpus = workdir / f"corpus-{size}"
    if not corpus.is_dir():
        subprocess.run(
            [sys.executable, str(SHARED / "bench" / "gen_corpus.py"), str(size), str(corpus)],
            check=True,
            capture_output=True,
        )
    return corpus


def _one_side(src: Path, corpus: Path, run: Path) -> dict[str, float]:
    shutil.rmtree(run, ignore_errors=True)
    site = run / "site"
    site.mkdir(parents=True)
    shutil.copytree(corpus, site / "content")
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    command = [sys.executable, "-m", "masthead", "build", "--site", str(site), "--no-search"]

    def timed() -> float:
        os.sync()
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        return time.perf_counter() - start

    out = {"cold": timed(), "no-op": timed()}
    record = next(
        p for p in sorted((site / "content").glob("*.md")) if "\npublished: true" in p.read_text()
    )
    text = record.read_text()
    start = text.index("\nexcerpt:") + 1
    end = text.index("\n", start)
    record.write_text(text[:start] + 'excerpt: "An edited excerpt."' + text[end:])
    out["one edit"] = timed()
    return out


if __name__ == "__main__":
    sys.exit(main())
