"""The command line: exit codes, the summary line, and every `build` and `init` option."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from masthead import __version__
from masthead.commands.cli import main
from tests.conftest import (
    REPO,
    Scratch,
    build_and_check,
    copy_site,
    masthead,
    record_text,
    snapshot,
)
from tests.htmlcheck import broken_links, html_files, parse

SUMMARY = re.compile(
    r"^(?P<state>Built|Build failed): read (?P<read>\d+) records? \((?P<skipped>\d+) skipped"
    r"(?:, (?P<merged>\d+) duplicates? merged)?(?:, (?P<drafts>\d+) drafts? left out)?\); "
    r"(?P<pages>\d+) pages?, wrote (?P<written>\d+) of (?P<files>\d+) files?, "
    r"removed (?P<removed>\d+), in (?P<seconds>\d+\.\d\d) s -> (?P<output>.+)$"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def summary(text: str) -> re.Match[str]:
    lines = [line for line in text.splitlines() if line.startswith(("Built", "Build failed"))]
    assert len(lines) == 1, text
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    return match


def mixed_site(scratch: Scratch) -> None:
    """Two good records, a draft and two bad ones."""
    scratch.add("2026-11-18-good.md", title="Good")
    scratch.add("2026-11-17-fine.md", title="Fine", when="2026-11-17T09:00:00Z")
    scratch.add("2026-11-16-draft.md", title="Draft", when="2026-11-16T09:00:00Z", published=False)
    scratch.add("2026-11-15-no-date.md", "---\ntitle: Undated\n---\n")
    scratch.add("2026-11-14-bad-yaml.md", "---\ntitle: Fine\nquality: [1, 2\n---\n")


# Exit codes and the summary ------------------------------------------------------------


def test_build_succeeds_with_exit_0_and_one_summary_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site, out_dir = copy_site("harbour", tmp_path), tmp_path / "out"
    code, out, err = run(capsys, "build", "--site", str(site), "--output", str(out_dir))
    assert code == 0
    match = summary(out)
    assert match["state"] == "Built"
    records = list((site / "content").rglob("*.md"))
    files = [p for p in out_dir.rglob("*") if p.is_file() and not p.name.startswith(".masthead")]
    assert int(match["read"]) == len(records)
    assert int(match["skipped"]) == 0
    assert int(match["merged"]) == 1 and int(match["drafts"]) == 1
    assert int(match["pages"]) == len(html_files(out_dir))
    assert int(match["written"]) == int(match["files"]) == len(files)
    assert match["output"] == str(out_dir)
    assert "warning: same webUrl as" in err  # the duplicate is reported


def test_bad_records_are_listed_skipped_and_counted(
    capsys: pytest.CaptureFixture[str], scratch: Scratch
) -> None:
    mixed_site(scratch)
    code, out, err = run(capsys, "build", "--site", str(scratch.root))
    assert code == 0
    match = summary(out)
    assert (match["read"], match["skipped"], match["drafts"]) == ("5", "2", "1")
    assert re.search(r"/content/2026-11-15-no-date\.md:2: missing field publishedDateTime", err)
    assert re.search(r"/content/2026-11-14-bad-yaml\.md:3: YAML error", err)
    assert (scratch.output / "news/2026/11/18/good/index.html").is_file()


def test_strict_lists_every_bad_record_exits_1_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], scratch: Scratch
) -> None:
    mixed_site(scratch)
    code, out, err = run(capsys, "build", "--site", str(scratch.root), "--strict")
    assert code == 1
    assert "2026-11-15-no-date.md:2:" in err and "2026-11-14-bad-yaml.md:3:" in err
    assert summary(err)["state"] == "Build failed"
    assert out == ""
    assert not scratch.output.exists()


def test_strict_failure_keeps_the_previous_output(
    capsys: pytest.CaptureFixture[str], scratch: Scratch
) -> None:
    scratch.add("2026-11-18-good.md", title="Good")
    assert run(capsys, "build", "--site", str(scratch.root), "--strict")[0] == 0
    before = snapshot(scratch.output)
    scratch.add("2026-11-15-no-date.md", "---\ntitle: Undated\n---\n")
    scratch.add("2026-11-18-good.md", title="Good, changed")
    assert run(capsys, "build", "--site", str(scratch.root), "--strict")[0] == 1
    assert snapshot(scratch.output) == before


def test_strict_passes_a_clean_site(capsys: pytest.CaptureFixture[str], scratch: Scratch) -> None:
    scratch.add("2026-11-18-good.md", title="Good")
    assert run(capsys, "build", "--site", str(scratch.root), "--strict")[0] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('page_size = "ten"\n', "page_size must be an integer"),
        ("title = [unclosed\n", "not valid TOML"),
        ('timezone = "Mars/Olympus"\n', "timezone"),
        ('base_url = "ftp://example.org/"\n', "base_url"),
    ],
)
def test_bad_configuration_exits_1(
    capsys: pytest.CaptureFixture[str], scratch: Scratch, config: str, message: str
) -> None:
    scratch.add("2026-11-18-good.md")
    scratch.config(config)
    code, _, err = run(capsys, "build", "--site", str(scratch.root))
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err
    assert not scratch.output.exists()


def test_unsafe_output_exits_1(capsys: pytest.CaptureFixture[str], scratch: Scratch) -> None:
    scratch.add("2026-11-18-good.md")
    before = snapshot(scratch.root)
    code, _, err = run(capsys, "build", "--site", str(scratch.root), "--output", str(scratch.root))
    assert code == 1 and "refusing" in err
    assert snapshot(scratch.root) == before


def test_missing_content_folder_exits_1_saying_why(tmp_path: Path) -> None:
    """Run in a folder that is not a site, the command says so and how to make one."""
    elsewhere = "no content folder: content does not exist (and no site.toml here: is this a site?"
    said = {
        (): elsewhere,
        ("--content", "news"): "no content folder: news does not exist (given by --content)",
    }
    for args, message in said.items():
        for lines in build_and_check(tmp_path, *args, code=1):
            assert lines[0].startswith(f"error: {message}"), lines
    assert "`masthead init DIR` makes one)" in masthead("build", cwd=tmp_path).stderr
    (tmp_path / "site.toml").write_text('title = "Harbour"\n', encoding="utf-8")
    done = masthead("build", cwd=tmp_path)
    assert done.stderr == (
        "error: no content folder: content does not exist "
        "(records go there; content_dir in site.toml names another folder)\n"
    )


@pytest.mark.parametrize(
    "argv",
    [[], ["build", "--no-such-option"], ["frobnicate"], ["init"], ["build", "--site"]],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: masthead" in capsys.readouterr().err


def test_usage_error_exit_status_from_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "masthead", "build", "--no-such-option"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "--no-such-option" in done.stderr


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["build", "--no-serch"],
            "masthead build: error: unrecognized arguments: --no-serch (did you mean --no-search?)",
        ),
        (
            ["build", "mysite"],
            "masthead build: error: unrecognized arguments: mysite "
            "(a site folder is named with --site mysite)",
        ),
        (
            ["check", "--contents", "records"],
            "masthead check: error: unrecognized arguments: --contents records "
            "(did you mean --content?)",
        ),
        (
            ["serve", "--port", "99999"],
            "masthead serve: error: argument --port: must be 0 to 65535",
        ),
        (["serve", "--port", "-1"], "masthead serve: error: argument --port: must be 0 to 65535"),
        (
            ["serve", "--port", "abc"],
            "masthead serve: error: argument --port: not a whole number: 'abc'",
        ),
        (
            ["newsletter", "2026-02-30"],
            "masthead newsletter: error: argument DATE: "
            "not a date: '2026-02-30' (expected 2026-11-18)",
        ),
        (["init", "a", "b"], "masthead init: error: unrecognized arguments: b"),
    ],
)
def test_a_mistyped_command_line_is_named_under_its_command(
    tmp_path: Path, argv: list[str], said: str
) -> None:
    """As a user meets it, in a site folder: the command's own usage, the option meant,
    and no traceback for a value out of range."""
    scratch = Scratch(tmp_path / "site")
    scratch.add("2026-11-18-story.md")
    done = masthead(*argv, cwd=scratch.root)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"usage: masthead {argv[0]} ") and lines[-1] == said
    assert not (scratch.root / "public").exists()


def test_version(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "masthead", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"masthead {__version__}"


def test_the_command_flushes_its_report_into_a_pipe(scratch: Scratch) -> None:
    """The command ends without tearing the interpreter down: what it printed still
    reaches a pipe, and the exit status is the build's."""
    scratch.add("2026-11-18-story.md", title="Piped")
    scratch.add("2026-11-18-broken.md", text="---\ntitle: [unclosed\n---\n")
    command = [sys.executable, "-m", "masthead", "build", "--site", str(scratch.root)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=scratch.root)
    assert done.returncode == 0
    assert done.stdout.startswith("Built: read 2 records (1 skipped")
    assert done.stderr.startswith("content/2026-11-18-broken.md:2: YAML error")
    strict = subprocess.run([*command, "--strict"], capture_output=True, text=True)
    assert strict.returncode == 1
    assert strict.stderr.splitlines()[-1].startswith("Build failed: read 2 records (1 skipped")


def test_strict_fails_a_build_that_finds_nothing_changed(scratch: Scratch) -> None:
    """The cache remembers the skipped file: an unchanged site fails --strict as before."""
    scratch.add("2026-11-18-story.md", title="Kept")
    scratch.add("2026-11-18-broken.md", text="---\ntitle: [unclosed\n---\n")
    site = ["build", "--site", str(scratch.root)]
    assert main(site) == 0
    assert main([*site, "--strict"]) == 1
    assert main([*site, "--strict"]) == 1
    assert main(site) == 0


# Options -------------------------------------------------------------------------------


def test_drafts_option_adds_drafts(capsys: pytest.CaptureFixture[str], scratch: Scratch) -> None:
    scratch.add("2026-11-18-live.md", title="Live")
    scratch.add("2026-11-18-draft.md", title="Draft", published=False)
    draft = scratch.output / "news/2026/11/18/draft/index.html"
    code, out, _ = run(capsys, "build", "--site", str(scratch.root))
    assert code == 0 and not draft.exists() and summary(out)["drafts"] == "1"
    code, out, _ = run(capsys, "build", "--site", str(scratch.root), "--drafts")
    assert code == 0 and draft.is_file() and summary(out)["drafts"] is None
    code, out, _ = run(capsys, "build", "--site", str(scratch.root))
    assert not draft.exists() and summary(out)["removed"] != "0"


def test_base_url_option_overrides_the_config(
    capsys: pytest.CaptureFixture[str], scratch: Scratch
) -> None:
    scratch.config('base_url = "https://wrong.example/"\n')
    scratch.add("2026-11-18-story.md", topics=("Rail",))
    url = "https://example.org/digest/"
    assert run(capsys, "build", "--site", str(scratch.root), "--base-url", url)[0] == 0
    assert broken_links(scratch.output, "/digest/") == []
    page = parse(scratch.output / "news/2026/11/18/story/index.html")
    assert page.find("link", rel="canonical")["href"] == url + "news/2026/11/18/story/"
    assert page.find("a", string="Rail")["href"] == "/digest/topics/rail/"


def test_content_and_output_options(
    capsys: pytest.CaptureFixture[str], scratch: Scratch, tmp_path: Path
) -> None:
    scratch.add("2026-11-18-in-site.md", title="In the site folder")
    elsewhere = tmp_path / "records"
    shutil.copytree(scratch.content, elsewhere)
    (scratch.content / "2026-11-18-in-site.md").unlink()
    (elsewhere / "2026-11-18-in-site.md").rename(elsewhere / "2026-11-18-elsewhere.md")
    out_dir = tmp_path / "built"
    argv = ["build", "--site", str(scratch.root), "--content", str(elsewhere)]
    assert run(capsys, *argv, "--output", str(out_dir))[0] == 0
    assert (out_dir / "news/2026/11/18/elsewhere/index.html").is_file()
    assert not scratch.output.exists()


def test_site_defaults_to_the_working_folder(
    capsys: pytest.CaptureFixture[str], scratch: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch.add("2026-11-18-story.md")
    monkeypatch.chdir(scratch.root)
    assert run(capsys, "build")[0] == 0
    assert (scratch.output / "news/2026/11/18/story/index.html").is_file()


# init ----------------------------------------------------------------------------------


def test_init_creates_a_site_that_builds_at_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site = tmp_path / "mysite"
    code, out, _ = run(capsys, "init", str(site))
    assert code == 0 and str(site) in out
    assert (site / "site.toml").is_file()
    records = list((site / "content").glob("*.md"))
    assert records
    code, out, err = run(capsys, "build", "--site", str(site), "--strict")
    assert code == 0, err
    match = summary(out)
    assert (int(match["read"]), match["skipped"]) == (len(records), "0")
    articles = list((site / "public" / "news").rglob("index.html"))
    assert len(articles) == len(records)
    assert broken_links(site / "public") == []


def test_init_into_an_empty_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    site = tmp_path / "empty"
    site.mkdir()
    assert run(capsys, "init", str(site))[0] == 0
    assert (site / "site.toml").is_file()


def test_init_refuses_a_non_empty_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site = tmp_path / "taken"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "init", str(site))
    assert code == 1 and "not empty" in err
    assert [p.name for p in site.iterdir()] == ["notes.txt"]
    assert (site / "notes.txt").read_text() == "mine"


# The first hour: what a new user meets ---------------------------------------------------


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_short_and_long(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main([flag])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"masthead {__version__}\n"


def test_init_writes_a_gitignore_for_the_build_products(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "mysite")]) == 0
    ignored = (tmp_path / "mysite" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/public/" in ignored and "/.masthead-cache/" in ignored
    git = shutil.which("git")
    if git:  # and git reads it so: a build leaves the repository clean
        site = tmp_path / "mysite"
        subprocess.run([git, "init", "-q", str(site)], check=True)
        assert main(["build", "--site", str(site), "--no-search"]) == 0
        status = subprocess.run(
            [git, "status", "--porcelain", "--ignored"], cwd=site, capture_output=True, text=True
        ).stdout
        assert "!! .masthead-cache/" in status and "!! public/" in status


def test_the_summary_names_drafts_and_files_that_are_not_records(
    capsys: pytest.CaptureFixture[str], scratch: Scratch
) -> None:
    scratch.add("2026-11-18-good.md", title="Good")
    for day in range(10, 15):
        scratch.add(f"2026-11-{day}-draft.md", title=f"Draft {day}", published=False,
                    when=f"2026-11-{day}T09:00:00Z")  # fmt: skip
    scratch.add("seed.txt", "title: an old seed record\n")
    scratch.add("notes/2026-11-01-idea.markdown.bak", "---\n")
    for attempt in ("first", "unchanged"):
        code, out, _ = run(capsys, "build", "--site", str(scratch.root))
        assert code == 0, attempt
        assert "5 drafts left out" in summary(out)[0]
        drafts = next(line for line in out.splitlines() if line.startswith("Drafts left out"))
        assert "--drafts" in drafts
        assert "content/2026-11-10-draft.md, " in drafts and drafts.endswith(" and 2 more")
        ignored = next(line for line in out.splitlines() if line.startswith("Not read"))
        assert "2 files" in ignored and ".md or .markdown" in ignored
        assert "content/seed.txt" in ignored and "content/notes/2026-11-01-idea" in ignored
    # check says it too, as build does, from the site folder as people run it.
    said = []
    for command in ("build", "check"):
        done = masthead(command, cwd=scratch.root)
        assert done.returncode == 0
        said.append([line for line in done.stdout.splitlines() if line.startswith("Not read")])
    assert said[0] == said[1] == [ignored.replace(f"{scratch.root}/", "")]


def test_files_under_data_that_no_build_reads_are_named(scratch: Scratch) -> None:
    """`data/topics.yaml` (Hugo's place for it), a `.json`, a folder too deep: each
    describes nothing, and says so, rather than being ignored without a word."""
    scratch.add("2026-11-18-good.md", title="Good")
    data = scratch.root / "data"
    (data / "topics" / "old").mkdir(parents=True)
    (data / "providers").mkdir()
    unread = ["README", "topics.yaml", "topics/climate.json", "topics/old/rail.yaml"]
    for rel in (*unread, "topics/climate.yaml", ".notes", "topics/.draft.yaml"):  # read, hidden
        (data / rel).write_text("name: Climate\n", encoding="utf-8")
    (data / "providers/ledger.md").write_text("---\nname: Harbour Ledger\n---\n", "utf-8")
    tail = (
        "warning: not read: no topic or provider is described there (expected a file in "
        "data/topics/ or data/providers/ ending .yaml, .yml or .md)"
    )
    for lines in build_and_check(scratch.root):
        said = sorted(line for line in lines if "not read" in line)
        assert said == [f"data/{rel}: {tail}" for rel in unread], lines
    for n in range(25):
        (data / f"extra-{n:02}.json").write_text("{}", encoding="utf-8")
    said = [line for line in masthead("build", cwd=scratch.root).stderr.splitlines()
            if "not read" in line]  # fmt: skip
    assert len(said) == 21
    assert said[-1].startswith("data: warning: not read either: 9 more files under data/")


def test_one_of_everything_is_singular(
    capsys: pytest.CaptureFixture[str], scratch: Scratch
) -> None:
    scratch.add("2026-11-18-good.md", title="Good")
    scratch.add("2026-11-17-draft.md", title="Draft", published=False, when="2026-11-17T09:00:00Z")
    _, out, _ = run(capsys, "build", "--site", str(scratch.root), "--no-search")
    assert "read 2 records (0 skipped, 1 draft left out)" in out
    assert "1 drafts" not in out and "1 files" not in out


def test_messages_name_files_from_the_working_directory(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scratch.add("2026-11-18-good.md", title="Good")
    scratch.add("2026/2026-11-17-bad.md", "---\ntitle: Undated\n---\n")
    data = scratch.root / "data" / "topics"
    data.mkdir(parents=True)
    (data / "climate.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    climate = data / "climate.yaml"
    cases = {  # below the working directory: relative; elsewhere: absolute
        scratch.root: ("content/2026/2026-11-17-bad.md:2:", "data/topics/climate.yaml:1:"),
        scratch.root.parent: (
            "site/content/2026/2026-11-17-bad.md:2:",
            "site/data/topics/climate.yaml:1:",
        ),
        scratch.content: ("2026/2026-11-17-bad.md:2:", f"{climate}:1:"),
    }
    for cwd, (record, data_file) in cases.items():
        monkeypatch.chdir(cwd)
        code, _, err = run(capsys, "build", "--site", os.path.relpath(scratch.root), "--no-search")
        assert code == 0
        assert re.search(f"^{re.escape(record)} missing field", err, re.M), err
        assert re.search(f"^{re.escape(data_file)} YAML error", err, re.M), err
        code, _, err = run(capsys, "check", "--site", os.path.relpath(scratch.root))
        assert re.search(f"^{re.escape(record)} missing field", err, re.M), err
        assert re.search(f"^{re.escape(data_file)} YAML error", err, re.M), err


def test_check_fails_exactly_when_strict_build_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """On the repository's own example site (a duplicate story: a warning) and on sites
    with each kind of finding, `check` and `build --strict` give the same exit code."""

    def both(site: Path) -> tuple[int, int]:
        checked = main(["check", "--site", str(site)])
        built = main(["build", "--site", str(site), "--strict", "--no-search",
                      "--output", str(tmp_path / "out" / site.name)])  # fmt: skip
        capsys.readouterr()
        return checked, built

    assert both(REPO) == (0, 0)
    sites = tmp_path / "sites"
    for name, text in {
        "bad-record": "---\ntitle: [unclosed\n---\n",
        "typo": record_text(extra="topcis: [x]\n"),
        "draft": record_text(published=False),
    }.items():
        site = Scratch(sites / name)
        site.add("2026-11-18-ok.md", title="Fine")
        site.add("2026-11-18-x.md", text)
        assert len(set(both(site.root))) == 1, name
    bad_data = Scratch(sites / "bad-data")
    bad_data.add("2026-11-18-ok.md", title="Fine")
    (bad_data.root / "data" / "topics").mkdir(parents=True)
    (bad_data.root / "data" / "topics" / "x.yaml").write_text("name: [\n", encoding="utf-8")
    assert both(bad_data.root) == (1, 1)


def test_serve_on_a_port_in_use_is_one_clear_error(scratch: Scratch) -> None:
    import socket

    scratch.add("2026-11-18-story.md")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = masthead("serve", "--site", scratch.root, "--port", str(port), timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot serve on 127.0.0.1 port {port}: ")
    assert "--port 0" in done.stderr and "Traceback" not in done.stderr


def test_each_command_says_what_it_does_in_its_help(tmp_path: Path) -> None:
    listed = " ".join(masthead("--help", cwd=tmp_path).stdout.split()).lower()
    for command in ("build", "serve", "check", "publish", "newsletter", "import", "init"):
        done = masthead(command, "--help", cwd=tmp_path)
        assert done.returncode == 0
        description = " ".join(done.stdout.split("\n\n")[1].split()).lower()
        assert description.endswith(".") and description[:-1] in listed
