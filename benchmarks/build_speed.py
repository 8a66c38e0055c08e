#!/usr/bin/env python3
"""masthead beside Hugo on synthetic corpora: cold, warm no-op and one-change builds.

Cold builds go through ../shared/bench/run_anchors.py (`--candidate`), so masthead and
Hugo are timed by the same code in the same run. Warm builds (nothing changed, then one
published record's title changed) are timed here the same way: wall clock around the
command, CPU and peak RSS from /usr/bin/time -v. Outputs belong on a tmpfs (see
../shared/bench/README.md); the script refuses to start without one unless --allow-disk.

    python benchmarks/build_speed.py --sizes 1000,10000,100000 --out-root /tmp/ssg-tmpfs
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
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


def timed(cmd: list[str]) -> dict[str, float | str]:
    """Run `cmd` under /usr/bin/time -v: wall s, CPU s (user+sys), peak RSS MiB, stdout."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-2000:]}")
    field = lambda name: float(re.search(rf"{name}: ([\d.]+)", proc.stderr).group(1))  # noqa: E731
    return {
        "wall": wall,
        "cpu": field("User time \\(seconds\\)") + field("System time \\(seconds\\)"),
        "rss": field("Maximum resident set size \\(kbytes\\)") / 1024,
        "stdout": proc.stdout,
    }


def written(stdout: str) -> str:
    match = re.search(r"wrote (\d+) of (\d+) files", stdout)
    return f"{match.group(1)} of {match.group(2)}" if match else "?"


def edit_title(path: Path, n: int) -> None:
    """Change one title the way an editor saves: write a temp file, rename it over."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'^title: "', f'title: "Edit {n} ', text, count=1, flags=re.M)
    tmp = path.with_name(".edit.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def masthead_command(
    masthead: str, verb: str, corpus: Path, out_root: Path, name: str, *extra: str
) -> list[str]:
    """`masthead VERB` on `corpus` with an empty site folder and output folder, both new."""
    site, out = out_root / f"{name}-site", out_root / f"{name}-out"
    for folder in (site, out):
        shutil.rmtree(folder, ignore_errors=True)
    site.mkdir(parents=True)
    return [
        masthead,
        verb,
        *extra,
        "--site",
        str(site),
        "--content",
        str(corpus),
        "--output",
        str(out),
    ]


def add_record(corpus: Path, model: Path, n: int) -> Path:
    """A new story, the newest of all: `model`'s record with a new name, title, date and URLs."""
    text = model.read_text(encoding="utf-8")
    text = re.sub(
        r"^publishedDateTime: .*$",
        f"publishedDateTime: 2030-01-01T00:{n:02d}:00Z",
        text,
        flags=re.M,
    )
    text = re.sub(r'^title: "', f'title: "Added {n} ', text, count=1, flags=re.M)
    text = re.sub(
        r'(^(?:originalUrl|webUrl): ")https://', rf"\1https://added-{n}.", text, flags=re.M
    )
    path = corpus / f"2099-01-01-added-story-{n}.md"
    path.write_text(text, encoding="utf-8")
    return path


def published_records(corpus: Path) -> list[Path]:
    """The corpus's published records, in file-name order: the ones an edit shows up on."""
    return [
        p
        for p in sorted(corpus.glob("*.md"))
        if "\npublished: true" in p.read_text(encoding="utf-8")
    ]


def warm(
    masthead: str, extra: list[str], corpus: Path, out_root: Path, runs: int
) -> dict[str, object]:
    """The first build (which writes the cache), then no-op builds, builds after one
    record's title changed, and builds after one record was added."""
    cmd = masthead_command(masthead, "build", corpus, out_root, f"warm-{corpus.name}", *extra)
    first = timed(cmd)
    noop = [timed(cmd) for _ in range(runs)]
    published = published_records(corpus)
    targets = published[len(published) // 2 : len(published) // 2 + runs]
    backups = {p: p.read_bytes() for p in targets}
    change, add, added = [], [], []
    try:
        for i, path in enumerate(targets):
            edit_title(path, i)
            change.append(timed(cmd))
        for i in range(runs):
            added.append(add_record(corpus, published[i], i))
            add.append(timed(cmd))
    finally:
        for path, data in backups.items():
            path.write_bytes(data)
        for path in added:
            path.unlink()
        timed(cmd)  # leave the cache matching the corpus again
    return {"first": [first], "noop": noop, "change": change, "add": add}


def pair_arguments(description: str, pairs: int) -> argparse.Namespace:
    """The command line of the benchmarks that time masthead beside Hugo in adjacent pairs."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--pairs", type=int, default=pairs)
    ap.add_argument("--out-root", type=Path, default=Path("/tmp/ssg-tmpfs"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ssg-bench"))
    ap.add_argument("--masthead", default=shutil.which("masthead") or "masthead")
    ap.add_argument("--wait-idle", type=float, default=60)
    a = ap.parse_args()
    compile_bytecode(a.masthead)
    return a


def compile_bytecode(masthead: str) -> None:
    """Compile the masthead that is timed, as `pip install` does: an editable install, or
    a shell with PYTHONDONTWRITEBYTECODE set (this machine's), would otherwise compile
    every module again on every run, about 0.1 s a command that no user pays."""
    python = Path(shutil.which(masthead) or masthead).with_name("python")
    where = subprocess.run(
        [str(python), "-c", "import masthead, os; print(os.path.dirname(masthead.__file__))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run([str(python), "-m", "compileall", "-q", where], check=True)


def median(rows: list[dict[str, float | str]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out-root", type=Path, default=Path("/tmp/ssg-tmpfs"))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ssg-bench"))
    ap.add_argument("--masthead", default=shutil.which("masthead") or "masthead")
    ap.add_argument(
        "--extra",
        default="--no-search",
        help="extra masthead build options (default --no-search: Hugo's site has no search index)",
    )
    ap.add_argument(
        "--allow-disk", action="store_true", help="run even if --out-root is not a tmpfs"
    )
    ap.add_argument("--wait-idle", type=float, default=120)
    a = ap.parse_args()
    fs = subprocess.run(
        ["stat", "-f", "-c", "%T", str(a.out_root)], capture_output=True, text=True
    ).stdout.strip()
    if fs != "tmpfs" and not a.allow_disk:
        sys.exit(
            f"{a.out_root} is {fs or 'missing'}, not a tmpfs; see ../shared/bench/README.md (or --allow-disk)"
        )
    empty_site = a.out_root / "empty-site"
    empty_site.mkdir(parents=True, exist_ok=True)
    candidate = (
        f"{a.masthead} build --no-cache {a.extra} --site {empty_site}"
        " --content {content} --output {out}"
    )
    subprocess.run(
        [sys.executable, str(BENCH / "run_anchors.py"), "--sizes", a.sizes, "--runs", str(a.runs),
         "--out-root", str(a.out_root), "--workdir", str(a.workdir), "--no-server", "--wait-idle", str(a.wait_idle),
         "--candidate", candidate, "--candidate-name", "masthead"],
        check=True,
    )  # fmt: skip
    results = json.loads((a.workdir / "results.json").read_text())
    cold = {(r["name"].rsplit("-", 1)[0], r["size"]): r for r in results["cold"]}
    print(
        "\n| records | measure | masthead wall s (median) | CPU s | peak RSS MiB | files written | Hugo cold wall s | ratio to Hugo cold |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in a.sizes.split(",")):
        hugo, mine = cold.get(("hugo", size)), cold.get(("masthead", size))
        if not (hugo and mine):
            print(f"| {size} | cold | failed | | | | | |")
            continue
        h = hugo["median_s"]
        print(
            f"| {size:,} | cold, no cache | {mine['median_s']:.2f} | {mine['cpu_s']:.2f} | {mine['rss_mib']:.0f} | all | {h:.2f} (CPU {hugo['cpu_s']:.2f}, RSS {hugo['rss_mib']:.0f}) | {mine['median_s'] / h:.2f} |"
        )
        w = warm(a.masthead, a.extra.split(), a.workdir / f"corpus-{size}", a.out_root, a.runs)
        for label, rows in (
            ("first build, writing the cache", w["first"]),
            ("warm, nothing changed", w["noop"]),
            ("warm, one record's title changed", w["change"]),
            ("warm, one record added", w["add"]),
        ):
            print(
                f"| {size:,} | {label} | {median(rows, 'wall'):.2f} | {median(rows, 'cpu'):.2f} | "
                f"{median(rows, 'rss'):.0f} | {written(str(rows[-1]['stdout']))} | {h:.2f} | {median(rows, 'wall') / h:.3f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
