"""Command line: parses options and calls one function per command.

Each command imports what only it needs (the server, git, the scaffold) when it runs:
start-up time is part of every build, and a warm build takes well under a second.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

from masthead import __version__
from masthead.building.build import Builder, BuildOptions, BuildReport
from masthead.diagnostics import MastheadError

log = logging.getLogger("masthead")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line's parser, and each command's own (for its usage in errors)."""
    parser = argparse.ArgumentParser(
        prog="masthead", description="Static site generator for curated news."
    )
    parser.add_argument("-V", "--version", action="version", version=f"masthead {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = _command(commands, "build", help="build the site into its output folder")
    _site_options(b)
    b.add_argument(
        "--content", type=Path, metavar="DIR", help="records folder (default: from site.toml)"
    )
    b.add_argument(
        "--output", type=Path, metavar="DIR", help="output folder (default: from site.toml)"
    )
    _build_flags(b)
    b.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="build cache (default: SITE/.masthead-cache)"
    )
    b.add_argument("--no-cache", action="store_true", help="neither read nor write the build cache")
    b.add_argument(
        "--jobs",
        type=_positive,
        default=0,
        metavar="N",
        help="worker processes (default: one per core)",
    )
    b.add_argument("--profile", action="store_true", help="print the time spent in each stage")

    p = _command(commands, "publish", help="build, then publish to a gh-pages branch or a folder")
    _site_options(p)
    p.add_argument(
        "--to",
        required=True,
        metavar="gh-pages|DIR",
        help="gh-pages: commit and push a branch; anything else: sync into that folder",
    )
    p.add_argument("--remote", help="git remote to push to (default: origin)")
    p.add_argument("--branch", help="branch to publish (default: gh-pages)")
    p.add_argument("--message", metavar="TEXT", help="commit message")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="--to DIR: replace files there that masthead did not write (default: stop)",
    )
    _build_flags(p)

    s = _command(commands, "serve", help="build, serve with live reload, rebuild on change")
    _site_options(s)
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument(
        "--port", type=_port, default=8000, help="port; 0 picks a free one (default: 8000)"
    )
    s.add_argument("--open", action="store_true", help="open the preview in a browser")
    s.add_argument(
        "--content", type=Path, metavar="DIR", help="records folder (default: from site.toml)"
    )
    s.add_argument(
        "--output", type=Path, metavar="DIR", help="output folder (default: from site.toml)"
    )

    c = _command(commands, "check", help="validate records, templates and links; write nothing")
    _site_options(c)
    c.add_argument(
        "--content", type=Path, metavar="DIR", help="records folder (default: from site.toml)"
    )

    n = _command(commands, "newsletter", help="write or send a day's edition as an email")
    _site_options(n)
    n.add_argument(
        "date", nargs="?", type=_day, metavar="DATE", help="YYYY-MM-DD (default: the latest)"
    )
    n.add_argument("--base-url", metavar="URL", help="override base_url")
    n.add_argument(
        "--to", type=Path, metavar="FILE.eml", help="write the message (default: stdout)"
    )
    n.add_argument("--smtp", metavar="HOST:PORT", help="send through this mail server")
    n.add_argument("--starttls", action="store_true", help="encrypt the SMTP connection")
    n.add_argument(
        "--recipient", action="append", default=[], metavar="ADDR", help="send to ADDR (repeatable)"
    )

    i = _command(commands, "init", help="create a new site that builds at once")
    i.add_argument("directory", type=Path, metavar="DIR", help="the new site's folder")
    _import_parser(commands)
    return parser, commands.choices


def _import_parser(commands: Any) -> None:
    m = _command(
        commands, "import", help="turn RSS, Atom and JSON feeds into draft records in content/"
    )
    m.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="feed URL or file (default: every [[import.feeds]] of site.toml)",
    )
    m.add_argument(
        "--site", type=Path, default=Path("."), metavar="DIR", help="site folder (default: .)"
    )
    m.add_argument("--publish", action="store_true", help="write published: true, not drafts")
    m.add_argument(
        "--since", type=_since, metavar="DATE", help="only entries dated at or after DATE"
    )
    m.add_argument(
        "--limit", type=_positive, metavar="N", help="at most the N newest entries of each feed"
    )
    m.add_argument(
        "--dry-run", action="store_true", help="print what would be written; write nothing"
    )
    m.add_argument(
        "--topic",
        dest="topics",
        action="append",
        default=[],
        metavar="NAME",
        help="topic for the records of the SOURCEs given (repeatable)",
    )
    m.add_argument("--provider", default="", metavar="NAME", help="provider name for the SOURCEs")


def _unrecognized(command: argparse.ArgumentParser, extra: list[str], site_given: bool) -> NoReturn:
    """argparse names unknown arguments under the top-level usage; they are named here
    under the command's, with the option meant where one is close, and --site for what
    looks like a site folder given bare (`masthead build mysite`). The options are read
    from the command's help, argparse's one public list of them."""
    import difflib
    import re

    known = sorted(set(re.findall(r"(?<![\w-])--[a-z][\w-]*", command.format_help())))
    hints = []
    for before, word in zip(["", *extra], extra, strict=False):
        if word.startswith("-"):
            close = difflib.get_close_matches(word.partition("=")[0], known, n=1)
            hints += [f"did you mean {close[0]}?"] if close else []
        elif "--site" in known and not site_given and not before.startswith("-"):
            hints.append(f"a site folder is named with --site {shlex.quote(word)}")
    more = f" ({'; '.join(hints)})" if hints else ""
    command.error(f"unrecognized arguments: {' '.join(extra)}{more}")


def _command(commands: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A command whose `--help` opens with what it does, as the command list says it."""
    return commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")


def _since(text: str) -> datetime:
    """`2026-11-18` or an ISO 8601 time; without a zone, UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected 2026-11-18)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected 2026-11-18)") from None


def _port(text: str) -> int:
    value = _whole(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0 to 65535")
    return value


def _positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _whole(text: str) -> int:
    """argparse would name the converter (`invalid _port value`), not what was wanted."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _site_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--site", type=Path, default=Path("."), metavar="DIR", help="site folder (default: .)"
    )
    p.add_argument("--drafts", action="store_true", help="include records with published: false")


def _build_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--base-url", metavar="URL", help="override base_url, e.g. https://example.org/digest/"
    )
    p.add_argument("--strict", action="store_true", help="fail (exit 1) if any record is invalid")
    p.add_argument(
        "--no-search", dest="search", action="store_false", help="skip the Pagefind search index"
    )


def run() -> NoReturn:
    """The `masthead` command: main(), then an exit that skips tearing the interpreter down.

    Freeing a build's objects one by one took 0.1 s after 10,000 records and more after
    100,000; the operating system takes the memory back at once. So main() hands over
    what it built rather than dropping it, and by now everything it started has ended:
    its worker processes are joined and its files closed; only the standard streams
    remain to be flushed.
    """
    built: list[object] = []
    code = main(keep=built)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except OSError:  # a closed pipe, say: the interpreter reports it, as it would have
        raise SystemExit(code) from None
    # What multiprocessing's exit handler would do: a worker left running by a failure
    # (the build cache's writer, say) is stopped, not left to finish on its own.
    forked = sys.modules.get("multiprocessing")  # imported by the first fork, if any
    for child in forked.active_children() if forked is not None else ():
        child.terminate()
        child.join()
    os._exit(code)  # exit handlers do not run: profile and coverage data go unwritten


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off while a command builds.

    It would otherwise walk every cached record again and again while the build
    allocates, and builds make next to no reference cycles. An interpreter-wide switch,
    so only the command line flips it: around each of the preview's rebuilds too, which
    the command asks for (ServeOptions.around_build), never in the library code that a
    program embedding masthead calls.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Every object the build made is in the collector's youngest generation,
            # which the next allocation would have it walk (0.1 s at 10,000 records).
            # Frozen and unfrozen, they are in the oldest: walked when it next is.
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a process manager, a script's `kill`) stops the command as Ctrl-C does.

    Killed outright, the preview would leave its search indexer to notice and stop on
    its own, writing into the output after the command is gone, and its cache unsaved.
    A handler is interpreter-wide, so only the command line sets it (main thread only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None, keep: list[object] | None = None) -> int:
    """Run one command; `keep` receives what a build made, for a caller that exits
    without freeing it."""
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO, stream=sys.stderr)
    logging.getLogger().handlers[0].setLevel(logging.WARNING)
    parser, commands = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unrecognized(commands[args.command], extra, getattr(args, "site", None) != Path("."))
    try:
        if args.command == "build":
            return _build(args, keep if keep is not None else [])
        if args.command == "publish":
            return _publish(args, parser)
        if args.command == "serve":
            from masthead.commands.serve import ServeOptions, serve

            logging.getLogger().handlers[0].setLevel(logging.INFO)
            build_options = BuildOptions(
                site_dir=args.site,
                content_dir=args.content,
                output_dir=args.output,
                drafts=args.drafts,
            )
            with terminate_as_interrupt():
                return serve(
                    ServeOptions(
                        build_options,
                        host=args.host,
                        port=args.port,
                        open_browser=args.open,
                        around_build=collector_paused,
                    )
                )
        if args.command == "check":
            return _check(args)
        if args.command == "import":
            return _import(args)
        if args.command == "newsletter":
            from masthead.commands.mailing import run_command

            return run_command(args, parser)
        if args.command == "init":
            from masthead.commands.init import init_site

            init_site(args.directory)
            folder = shlex.quote(str(args.directory))
            print(
                f"Created a new site in {args.directory}. Preview it with: masthead serve "
                f"--site {folder}; build it with: masthead build --site {folder}"
            )
            return 0
    except MastheadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2  # pragma: no cover - argparse rejects unknown commands first


def _build(args: argparse.Namespace, keep: list[object]) -> int:
    options = _build_options(
        args,
        content_dir=args.content,
        output_dir=args.output,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        jobs=args.jobs,
        progress=sys.stderr.isatty(),
    )
    builder = Builder(options)
    keep.append(builder)
    with collector_paused():
        report = builder.build()
    _print_report(report)
    if args.profile:
        stages = ", ".join(f"{name} {seconds:.3f} s" for name, seconds in report.timings.items())
        print(
            f"Profile: {stages}; parsed {report.parsed} records, rendered {report.rendered} pages",
            file=sys.stderr,
        )
    return 1 if report.failed else 0


def _build_options(args: argparse.Namespace, **more: Any) -> BuildOptions:
    """The options `build` and `publish` share, plus the command's own."""
    return BuildOptions(
        site_dir=args.site,
        drafts=args.drafts,
        base_url=args.base_url,
        strict=args.strict,
        search=args.search,
        **more,
    )


def _check(args: argparse.Namespace) -> int:
    from masthead.commands.check import check

    report = check(BuildOptions(site_dir=args.site, content_dir=args.content, drafts=args.drafts))
    for line in (*report.problems, *report.warnings):
        print(line, file=sys.stderr)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _import(args: argparse.Namespace) -> int:
    from masthead.commands.importer import ImportOptions, run_import

    options = ImportOptions(
        site_dir=args.site,
        sources=tuple(args.sources),
        topics=tuple(args.topics),
        provider=args.provider,
        publish=args.publish,
        since=args.since,
        limit=args.limit,
        dry_run=args.dry_run,
    )
    report = run_import(options, say=print, warn=lambda line: print(line, file=sys.stderr))
    if not report.outcomes:
        print(
            "error: nothing to import: give a feed URL or file, or list [[import.feeds]] in site.toml",
            file=sys.stderr,
        )
        return 2
    print(report.summary(args.dry_run), file=sys.stderr if report.failed else sys.stdout)
    return 1 if report.failed else 0


def _print_report(report: BuildReport) -> None:
    for line in report.problem_lines():
        print(line, file=sys.stderr)
    print(report.summary(), file=sys.stderr if report.failed else sys.stdout)


def _publish(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from masthead.commands.publish import GH_PAGES, PublishOptions, publish

    git_only = {"--remote": args.remote, "--branch": args.branch, "--message": args.message}
    if args.to != GH_PAGES and any(v is not None for v in git_only.values()):
        used = ", ".join(k for k, v in git_only.items() if v is not None)
        parser.error(f"{used} only apply to --to {GH_PAGES}")
    if args.to == GH_PAGES and args.overwrite:
        parser.error(f"--overwrite only applies to --to DIR, not --to {GH_PAGES}")
    options = PublishOptions(
        build=_build_options(args),
        to=args.to,
        remote=args.remote or "origin",
        branch=args.branch or "gh-pages",
        message=args.message,
        overwrite=args.overwrite,
    )
    with collector_paused():
        report, summary = publish(options)
    _print_report(report)
    if summary is None:
        print("error: the build failed; nothing was published", file=sys.stderr)
        return 1
    print(summary)
    return 0
