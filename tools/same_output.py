#!/usr/bin/env python3
"""Build sites with a given commit and with the work tree; say whether the outputs are
byte-identical, step by step.

A refactoring of the build must not change a byte it writes, on any of its paths: a
cold build, a no-op build, `masthead build` after edits (the stored model, then a full
build with the cache), a Builder kept between builds (the records in memory), and the
preview's in-memory patches. Each side runs the
same steps in the same folders (so absolute paths cannot differ), and after each step
the digest of every output file is kept; the two lists of digests are then compared.

    python tools/same_output.py --base main --sites example,powerapps,1k,10k

The base commit's `src/` and `templates/` are unpacked under --workdir and put first on
PYTHONPATH; both sides run with this interpreter and its installed libraries. Sites:
`example` (the repository's own example site at the base commit), `powerapps`
(../shared/corpus/powerapps), `1k` and `10k` (../shared/bench/gen_corpus.py, seed 1).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (
    ROOT.parent.parent / "shared"
    if (ROOT.parent.parent / "shared").is_dir()
    else Path("/work/shared")
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main", help="commit to compare with (default: main)")
    ap.add_argument("--sites", default="example,powerapps,1k,10k")
    ap.add_argument("--modes", default="cli,builder,preview")
    ap.add_argument("--workdir", type=Path, default=Path("/dev/shm/same-output"))
    ap.add_argument("--search", action="store_true", help="build the search index too")
    a = ap.parse_args()
    base_src = _unpack(a.base, a.workdir / "base")
    failures = 0
    for site in a.sites.split(","):
        for mode in a.modes.split(","):
            runs = [_run_side(src, site, mode, a) for src in (base_src, ROOT)]
            failures += _compare(f"{site} {mode}", *runs)
    print("ALL IDENTICAL" if not failures else f"{failures} step(s) DIFFER")
    return 1 if failures else 0


def _unpack(commit: str, into: Path) -> Path:
    """The base commit's src/ and templates/ under `into`; its src/ folder returned."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src", "templates", "site.toml", "content",
         "static"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(into, filter="data")
    return into


def _site_source(site: str, base: Path) -> tuple[Path | None, Path]:
    """(site folder to copy or None for an empty one, records folder)."""
    if site == "example":
        return base, base / "content"
    if site == "powerapps":
        return None, SHARED / "corpus" / "powerapps"
    size = {"1k": 1000, "10k": 10000}[site]
    corpus = Path("/dev/shm/same-output-corpus") / site
    if not corpus.is_dir():
        subprocess.run(
            [sys.executable, str(SHARED / "bench" / "gen_corpus.py"), str(size), str(corpus)],
            check=True, capture_output=True,
        )  # fmt: skip
    return None, corpus


def _run_side(src_root: Path, site: str, mode: str, a: argparse.Namespace) -> list[dict]:
    """Lay the site out afresh and run the steps with the masthead of `src_root`."""
    run = a.workdir / "run"
    shutil.rmtree(run, ignore_errors=True)
    site_from, content_from = _site_source(site, a.workdir / "base")
    site_dir = run / "site"
    if site_from is not None:
        shutil.copytree(site_from, site_dir, ignore=shutil.ignore_patterns("src", "content"))
    else:
        site_dir.mkdir(parents=True)
    shutil.copytree(content_from, site_dir / "content")
    env = {**os.environ, "PYTHONPATH": str(src_root / "src"), "SOURCE_DATE_EPOCH": "1767225600"}
    out = run / "steps.json"
    args = [sys.executable, __file__, "--driver", mode, str(site_dir), str(out)]
    if a.search:
        args.append("--search")
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{site} {mode}: the run with {src_root} failed")
    return json.loads(out.read_text())


def _compare(name: str, base: list[dict], new: list[dict]) -> int:
    bad = 0
    for step_base, step_new in zip(base, new, strict=True):
        files_b, files_n = step_base["files"], step_new["files"]
        diff = sorted(
            k for k in files_b.keys() | files_n.keys() if files_b.get(k) != files_n.get(k)
        )
        verdict = "identical" if not diff else f"DIFFER in {len(diff)} files, e.g. {diff[:3]}"
        print(f"{name:18} {step_base['step']:26} {len(files_n):6} files: {verdict}", flush=True)
        for side, step in (("before", step_base), ("after", step_new)):
            print(f"{'':18} {side:>26}: {step['how']}")
        bad += bool(diff)
    return bad


# the driver: runs in a process whose masthead is one side's -------------------------


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _edits(content: Path) -> tuple[Path, Path, Path]:
    """Three published records: two edited in place, one deleted."""
    published = [p for p in sorted(content.glob("*.md")) if "\npublished: true" in p.read_text()]
    return published[len(published) // 2], published[len(published) // 3], published[-5]


def _edit(path: Path, field: str, text: str) -> None:
    """Replace the first `field:` line (an edit that keeps the story's place, for the
    excerpt; the title may move the page, when its slug comes from the title)."""
    lines = path.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(f"{field}:"):
            lines[i] = f"{field}: {json.dumps(text)}\n"
            break
    path.write_text("".join(lines))


def _steps(build: object, a: Path, b: Path, c: Path) -> list[tuple[str, object]]:
    """Run the edits, each followed by `build(paths)`; yield (step, report)."""
    run = build  # type: ignore[assignment]
    out = [("first build", run(set())), ("no-op", run(set()))]  # type: ignore[operator]
    _edit(a, "excerpt", "An excerpt written for the comparison.")
    out.append(("edit one excerpt", run({a})))  # type: ignore[operator]
    _edit(a, "excerpt", "Another excerpt.")
    _edit(b, "excerpt", "A third excerpt.")
    out.append(("edit two records", run({a, b})))  # type: ignore[operator]
    _edit(b, "title", "A retitled story")
    out.append(("retitle one record", run({b})))  # type: ignore[operator]
    c.unlink()
    out.append(("delete one record", run({c})))  # type: ignore[operator]
    return out


def _driver(mode: str, site: Path, out: Path, search: bool) -> None:
    try:
        from masthead.building.build import Builder, BuildOptions
        from masthead.commands.serve import Preview, ServeOptions
    except ModuleNotFoundError:  # a base commit from before the subpackages (e7123bf)
        from masthead.build import Builder, BuildOptions  # type: ignore[no-redef]
        from masthead.serve import Preview, ServeOptions  # type: ignore[no-redef]

    content, output = site / "content", site / "public"
    options = BuildOptions(site_dir=site, output_dir=output, search=search)
    steps: list[dict] = []
    if mode == "preview":
        preview = Preview(ServeOptions(options, port=0))

        def build(paths: set[Path]) -> object:
            preview.rebuild(paths)
            # The search index is made in the background: its files count once it is done.
            wait = getattr(preview.search, "wait", None)  # base commits before it: none
            if search and wait is not None:
                wait()
            assert preview.last_report is not None and not preview.last_report.failed
            return preview.last_report
    else:
        kept = Builder(options)

        def build(paths: set[Path]) -> object:
            """A fresh Builder each time, as `masthead build` (cli), or one kept (builder)."""
            report = (Builder(options) if mode == "cli" else kept).build()
            assert not report.failed
            return report

    for step, report in _steps(build, *_edits(content)):
        timings = ",".join(report.timings)  # type: ignore[attr-defined]
        how = f"{timings}; parsed {report.parsed}, rendered {report.rendered}"  # type: ignore[attr-defined]
        steps.append({"step": step, "files": _tree(output), "how": how})
    if mode == "preview":
        preview.stop()
    out.write_text(json.dumps(steps))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--driver":
        _driver(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), "--search" in sys.argv)
        sys.exit(0)
    sys.exit(main())
