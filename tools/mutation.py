"""Mutation testing of the modules that guard safety and correctness, one module at a time.

mutmut changes one thing at a time in a module (a `<` for a `<=`, a string, a boolean) and
runs the tests that cover it: a change no test notices is a gap in the tests, unless it
changes nothing observable (an equivalent mutant, listed with its reason in
tools/mutation-triage.toml). Too slow for CI on two cores; run it by hand after changing a
guarded module or its tests:

    .venv/bin/pip install -e '.[test,mutation]'
    .venv/bin/python tools/mutation.py safeurl embeds          # or no names: every module
    .venv/bin/python tools/mutation.py --minutes 20 loader    # a time box per module
    .venv/bin/python tools/mutation.py --survivors --timeouts server   # retry, tests as now

Each module runs in its own scratch copy of the working tree (MUTATION_DIR, default
/tmp/masthead-mutation/<module>), with one worker, the module's own test files and the
derandomised Hypothesis profile, so a result does not depend on the run. The score is
killed / (mutants tried - equivalent - timed out); the untriaged survivors are written
to <scratch>/survivors.txt with their diffs. Large modules are mutated
in part (SCOPES: the functions that guard), and the report says so.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Collection
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRIAGE = REPO / "tools" / "mutation-triage.toml"

# Smallest security modules first; each with the test files that exercise it.
MODULES: dict[str, list[str]] = {
    "safeurl": [
        "test_sanitising.py",
        "test_host_allowlist.py",
        "test_limits.py",
        "test_safeurl.py",
    ],
    "embeds": ["test_sanitising.py", "test_host_allowlist.py", "test_embeds.py"],
    "gitrepo": ["test_bite_git.py"],
    # not test_incremental.py: it builds sites, and checks the same through whole builds
    "fingerprint": ["test_bite_fingerprint.py", "test_fingerprint.py", "test_plan.py"],
    # publish.py's own unit tests, on real repositories and folders written there; its
    # tests through `masthead publish` build sites (minutes a mutant) and are left to the suite
    "publish": ["test_bite_publish.py", "test_bite_git.py"],
    "server": [
        "test_bite_server.py",
        "test_server.py",
        "test_server_safety.py",
        "test_containment.py",
    ],
    "yamlload": [
        "test_bite_loader.py",
        "test_yaml_lines.py",
        "test_fuzz_loader.py",
        "test_loader_errors.py",
        "test_loader_attacks.py",
        "test_records.py",
    ],
    "writer": ["test_bite_writer.py", "test_output.py", "test_output_safety.py"],
    "loader": [
        "test_bite_loader.py",
        "test_drafts.py",
        "test_records.py",
        "test_loader_errors.py",
        "test_integer_fields.py",
        "test_loader_attacks.py",
    ],
}
# Modules mutated in part: only the functions named here ("Class.method" or "function"),
# the part that guards safety and correctness; the README says so beside the score.
SCOPES: dict[str, list[str]] = {
    # reading a file, finding its front matter, and the type and limit checks of its
    # fields; not the assembly of a Record from them, the Markdown body's cost budget nor
    # the typo hints for unknown field names (a time box: records/loader.py is 950 lines)
    "loader": [
        "scan_records",
        "link_problem",
        "read_record",
        "says_draft",
        "load_record",
        "read_bytes",
        "_read_at_most",
        "parse_record",
        "decode_text",
        "split_front_matter",
        "_closing_fence",
        "_without_secret",
        "_Fields.text",
        "_Fields.name",
        "_Fields.integer",
        "_Fields.url",
        "_Fields.when",
        "_Fields.published",
        "_Fields.mapping",
        "_Fields.sequence",
        "_Fields.topics",
        "_Fields.images",
        "_Fields.dimension",
        "_Fields.provider",
        "_Fields.with_every_problem",
    ],
    "server": [
        "DevServer.resolve",
        "DevServer.inside",
        "_Handler._serve",
        "_Handler._send_file",
        "_Handler._copy",
        "_Handler._not_found",
        "_Handler._redirect",
        "_is_html",
        "_script_offset",
        "_content_type",
    ],
}
# Tests with a wall-clock limit: under mutmut's bookkeeping on a busy machine they fail
# on unchanged code, and mutmut then refuses to start.
TIMED = [
    "--deselect",
    "tests/test_loader_attacks.py::test_pathological_markdown_costs_a_fraction_of_a_second",
    "--deselect",
    "tests/test_records.py::test_alias_bomb_is_refused_quickly",
]
# Mutants never run, with the reason: each makes the tests move the files of the folder
# mutmut runs them in (os.scandir(None) lists the current folder), which ends the whole
# run. They are marked skipped before the run and reported apart from the score. Their
# numbers move when the function they sit in changes: check them with `mutmut show`.
NEVER_RUN: dict[str, dict[str, str]] = {
    "writer": dict.fromkeys(
        [
            "masthead.outputs.writer.xǁOutputWriterǁcommit__mutmut_39",
            "masthead.outputs.writer.xǁOutputWriterǁcommit__mutmut_56",
            "masthead.outputs.writer.xǁOutputWriterǁcommit__mutmut_68",
            "masthead.outputs.writer.x__merge_tree__mutmut_2",
            "masthead.outputs.writer.x__merge_tree__mutmut_22",
        ],
        "_merge_tree(None, ...) or os.scandir(None): moves the current folder's files",
    ),
}
SKIPPED = 34
"""mutmut's exit code for a skipped mutant, which a run without names leaves alone."""
UNDECIDED = ("not checked", "running")
DETECTED = ("killed", "timeout")
"""Not survivors. A timeout is set aside from the score, though: on a busy machine a slow
run of an unchanged test and a mutant that never ends look alike."""
STATUS = re.compile(r"^\s*(\S+__mutmut_\d+): (.+)$")


def copy_tree(scratch: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored) into `scratch`."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / os.fsdecode(name)
        if source.is_file() and not source.is_symlink():
            target = scratch / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def configure(scratch: Path, module: str) -> None:
    tests = [f"tests/{name}" for name in MODULES[module] if (scratch / "tests" / name).is_file()]
    settings = {
        "source_paths": ["src"],
        "only_mutate": [source_of(module).relative_to(REPO).as_posix()],
        "also_copy": ["templates", "static", "content", "site.toml", "README.md"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", *TIMED],
        "pytest_add_cli_args_test_selection": tests,
        "use_git_change_detection": False,
        # A mutant that loops forever is stopped after 10x its tests' time, not mutmut's
        # default 30x: one such mutant would otherwise cost minutes. That time counts the
        # tests' calls, not their fixtures: a fixture that waits (a server polling for
        # shutdown every 0.5 s) makes the mutants that pass many tests time out.
        "timeout_multiplier": 10.0,
    }
    lines = ["", "[tool.mutmut]"]
    lines += [f"{key} = {_toml(value)}" for key, value in settings.items()]
    with (scratch / "pyproject.toml").open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def source_of(module: str) -> Path:
    """The module's file, at the top of the package or in a subpackage of it."""
    found = sorted((REPO / "src" / "masthead").rglob(f"{module}.py"))
    if len(found) != 1:
        raise SystemExit(f"{module}: {len(found)} files of that name under src/masthead")
    return found[0]


def dotted(module: str) -> str:
    """The module's import name, as mutmut names its mutants."""
    return ".".join(source_of(module).relative_to(REPO / "src").with_suffix("").parts)


def scope_patterns(module: str) -> list[str]:
    """mutmut's names (globs) of the mutants of the functions in SCOPES[module]."""
    patterns = []
    for name in SCOPES.get(module, []):
        cls, _, func = name.rpartition(".")
        mangled = f"x\u01c1{cls}\u01c1{func}" if cls else f"x_{func}"
        patterns.append(f"{dotted(module)}.{mangled}__mutmut_*")
    return patterns


def in_scope(module: str, name: str) -> bool:
    patterns = scope_patterns(module)
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return f'"{value}"'


def run(
    module: str,
    minutes: float,
    base: Path,
    mode: str,
    triaged: Collection[str],
    timeouts: bool = False,
) -> dict[str, str]:
    """Mutate `module` ("all"), or only retry its last survivors (and, with `timeouts`, the
    mutants that ran out of time) and the mutants not reached against the tests as they are
    now ("survivors"), or neither ("report"); return every mutant's status, and write the
    untriaged survivors' diffs to survivors.txt."""
    scratch = base / module
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci", "PYTHONDONTWRITEBYTECODE": "1"}
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    if mode == "all":
        copy_tree(scratch)
        configure(scratch, module)
        if module in NEVER_RUN:
            skip(mutmut, scratch, env, module)
        mutate(mutmut, scratch, env, module, minutes, scope_patterns(module))
    elif mode == "survivors":
        # The same source and test selection, so mutmut keeps its other verdicts; the
        # tests are copied again, and new tests in the selected files are found.
        # Survivors and mutants no test reached first (a new test should kill them in
        # seconds), then the rest; the triaged ones are not retried. A timed-out mutant
        # is retried on request only: one that really hangs costs its time limit again.
        shutil.copytree(REPO / "tests", scratch / "tests", dirs_exist_ok=True)
        deadline = time.monotonic() + minutes * 60
        first = ("survived", "no tests", *(("timeout",) if timeouts else ()))
        for statuses in (first, ("not checked",)):
            found = results_of(mutmut, scratch, env, module)
            names = [n for n, s in found.items() if s in statuses and n not in triaged]
            left = (deadline - time.monotonic()) / 60
            if names and left > 0:
                mutate(mutmut, scratch, env, module, left, names)
    results = results_of(mutmut, scratch, env, module)
    survivors = [
        name
        for name, status in results.items()
        if status not in (*UNDECIDED, *DETECTED, "skipped") and name not in triaged
    ]
    with (scratch / "survivors.txt").open("w", encoding="utf-8") as out:
        for name in survivors:
            shown = subprocess.run(
                [mutmut, "show", name], cwd=scratch, env=env, capture_output=True, text=True
            ).stdout
            out.write(f"## {name}: {results[name]}\n{shown}\n")
    return results


def skip(mutmut: str, scratch: Path, env: dict[str, str], module: str) -> None:
    """Make the mutants (a run for a name that matches none stops once they are made)
    and mark those of NEVER_RUN skipped, so that the run proper leaves them alone."""
    nothing = f"{dotted(module)}.x__none__mutmut_*"
    subprocess.run(
        [mutmut, "run", "--max-children", "1", nothing],
        cwd=scratch,
        env=env,
        stdout=(scratch / "mutmut.log").open("a"),
        stderr=subprocess.STDOUT,
        check=False,
    )
    meta = scratch / "mutants" / (source_of(module).relative_to(REPO).as_posix() + ".meta")
    data = json.loads(meta.read_text(encoding="utf-8"))
    for name in NEVER_RUN[module]:
        data["exit_code_by_key"][name] = SKIPPED
    meta.write_text(json.dumps(data), encoding="utf-8")


def results_of(mutmut: str, scratch: Path, env: dict[str, str], module: str) -> dict[str, str]:
    listing = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=scratch, env=env, capture_output=True, text=True
    ).stdout
    return {
        m.group(1): m.group(2).strip()
        for m in map(STATUS.match, listing.splitlines())
        if m and in_scope(module, m.group(1))
    }


def mutate(
    mutmut: str,
    scratch: Path,
    env: dict[str, str],
    module: str,
    minutes: float,
    names: list[str],
) -> None:
    log = scratch / "mutmut.log"
    before = log.stat().st_size if log.exists() else 0
    try:
        subprocess.run(
            [mutmut, "run", "--max-children", "1", *names],
            cwd=scratch,
            env=env,
            timeout=minutes * 60,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        print(f"{module}: time box of {minutes:g} minutes reached; results so far")
    with log.open("rb") as said:
        said.seek(before)
        if b"failed to collect stats" in said.read():
            # The tests fail on the unmutated source (a scratch copy older than the tests,
            # say): nothing was run, and the results below would be the last run's.
            raise SystemExit(f"{module}: mutmut could not run the tests; see {log}")


def report(module: str, results: dict[str, str], equivalent: dict[str, str]) -> tuple[int, int]:
    """Print one module's line; return (killed, counted) for the total."""
    counts: dict[str, int] = {}
    for status in results.values():
        counts[status] = counts.get(status, 0) + 1
    done = {n: s for n, s in results.items() if s not in UNDECIDED}
    timeouts = sum(1 for s in done.values() if s == "timeout")
    decided = {n: s for n, s in done.items() if s not in ("timeout", "skipped")}
    killed = sum(1 for s in decided.values() if s == "killed")
    listed = [n for n, s in decided.items() if n in equivalent and s != "killed"]
    counted = len(decided) - len(listed)
    unexplained = [n for n, s in decided.items() if s != "killed" and n not in equivalent]
    score = 100 * killed / counted if counted else 0.0
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    unchecked = len(results) - len(done)
    print(
        f"{module}: {score:.1f}% ({killed} killed of {counted}; {len(listed)} equivalent "
        f"and {timeouts} timed out set aside; {detail})"
        + (f"; {unchecked} not reached in the time box" if unchecked else "")
    )
    for name in unexplained:
        print(f"    not triaged: {name} ({done[name]})")
    return killed, counted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--minutes", type=float, default=30, help="time box per module")
    parser.add_argument(
        "--report", action="store_true", help="only report the last run's results again"
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="retry the last run's survivors, and the mutants its time box left, with the "
        "tests as they are now",
    )
    parser.add_argument(
        "--timeouts",
        action="store_true",
        help="with --survivors, retry the mutants that ran out of time too (a test written "
        "since may end them quickly)",
    )
    args = parser.parse_args()
    args.modules = args.modules or list(MODULES)
    if unknown := set(args.modules) - set(MODULES):
        parser.error(f"unknown modules: {', '.join(sorted(unknown))}")
    base = Path(os.environ.get("MUTATION_DIR", "/tmp/masthead-mutation"))
    triage = tomllib.loads(TRIAGE.read_text(encoding="utf-8")) if TRIAGE.is_file() else {}
    total_killed = total_counted = 0
    for module in args.modules:
        mode = "report" if args.report else "survivors" if args.survivors else "all"
        results = run(module, args.minutes, base, mode, triage.get(module, {}), args.timeouts)
        killed, counted = report(module, results, triage.get(module, {}))
        total_killed, total_counted = total_killed + killed, total_counted + counted
    if len(args.modules) > 1 and total_counted:
        print(f"all: {100 * total_killed / total_counted:.1f}% ({total_killed} of {total_counted})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
