"""Shared fixtures: scratch sites written by the tests themselves, and built outputs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

from masthead.building.build import BuildOptions, BuildReport, build
from masthead.records import yamlload

REPO = Path(__file__).resolve().parents[1]

# Property tests: random and remembering locally, where a failure found once should come
# back until it is fixed; derandomised and forgetful in CI, where the same commit must give
# the same result and a failure found on another run must not be replayed as a new one.
# HYPOTHESIS_PROFILE names one explicitly (tools/hypothesis-runs uses "fresh"). No default
# deadline: on two cores shared with other work an example can take 300 ms once and 0.1
# ms when replayed, which Hypothesis reports as a flaky failure; tests that guard against
# hangs set their own deadline, which these profiles leave alone.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("fresh", database=None, print_blob=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


def _shared_folder() -> Path:
    """`../shared` beside the clone; a git worktree (e.g. under /work/wt/) finds it further up."""
    for folder in REPO.parents:
        if (folder / "shared" / "corpus").is_dir():
            return folder / "shared"
    return REPO.parent / "shared"


SHARED = _shared_folder()
SITES = Path(__file__).resolve().parent / "sites"
MASTHEAD = Path(sys.executable).with_name("masthead")
"""The installed `masthead` command, beside the Python running the tests."""


def masthead(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    text: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """Run the installed command as a user would, its output captured (as bytes when `text`
    is false); `env`, when given, is its whole environment."""
    return subprocess.run(
        [MASTHEAD, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=text,
        timeout=timeout,
    )


def build_and_check(cwd: Path, *args: str, code: int = 0) -> list[list[str]]:
    """What `masthead build` and `masthead check` each print on stderr, run in `cwd` as a
    user runs them, line by line; both must exit with `code`. The two name problems alike."""
    said = []
    for command in ("build", "check"):
        done = masthead(command, *args, cwd=cwd)
        assert done.returncode == code, (command, done.stderr)
        said.append(done.stderr.splitlines())
    return said


def record_text(
    title: str = "A story about the harbour",
    when: str = "2026-11-18T09:30:00Z",
    url: str | None = None,
    topics: tuple[str, ...] = ("Climate",),
    provider: str = "Harbour Ledger",
    published: bool = True,
    quality: int = 50,
    extra: str = "",
    body: str = "",
    excerpt: str | None = None,
    heat: int = 10,
    story_type: str = "article",
) -> str:
    """A record in the corpus format, with made-up text; `extra` is raw YAML appended."""
    excerpt = f"Excerpt of {title}." if excerpt is None else excerpt
    url = url or "https://news.example/" + hashlib.md5(f"{title}{when}".encode()).hexdigest()[:10]
    topic_lines = "\n".join(f"  - {t}" for t in topics)
    front = textwrap.dedent(
        f"""\
        category: news
        title: "{title}"
        excerpt: "{excerpt}"
        publishedDateTime: {when}
        originalUrl: "{url}"
        webUrl: "{url}"
        type: {story_type}
        quality: {quality}
        heat: {heat}
        published: {str(published).lower()}
        provider:
          name: {provider}
          domain: {provider.lower().replace(" ", "")}.example
        topics:
        """
    )
    return f"---\n{front}{topic_lines}\n{extra}---\n{body}"


EXTRA_LINE = 17
"""record_text() (with its one topic) puts `extra` at this line of the file."""
BODY_LINE = 18
"""record_text() (with its one topic and no `extra`) puts the body at this line."""


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` with its bytes and modification time, to compare builds."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under root, hidden ones too: the whole state of
    a folder, to compare before and after."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def copy_site(name: str, folder: Path) -> Path:
    """A fresh copy of tests/sites/<name> in `folder`: a build writes its cache beside the site."""
    return Path(shutil.copytree(SITES / name, folder / name))


class Scratch:
    """A throwaway site folder under tmp_path, with helpers to add records and build."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.content = root / "content"
        self.content.mkdir(parents=True, exist_ok=True)
        self.output = root / "public"

    def config(self, text: str) -> None:
        (self.root / "site.toml").write_text(textwrap.dedent(text), encoding="utf-8")

    def add(self, name: str, text: str | bytes | None = None, **fields: object) -> Path:
        path = self.content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text if text is not None else record_text(**fields)  # type: ignore[arg-type]
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        return path

    def template(self, name: str, text: str) -> None:
        folder = self.root / "templates"
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")

    def build(self, **options: object) -> BuildReport:
        return build(BuildOptions(site_dir=self.root, **options))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _fresh_tag_cache() -> None:
    """Each test resolves its YAML scalars itself: yamlload remembers the tag of short
    plain scalars for the process, and a value an earlier test (or, under mutmut, the
    process a mutant's run is forked from) resolved would skip the path under test."""
    yamlload._resolved.clear()


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with libyaml and with the pure-Python parser masthead falls back to without it."""
    if request.param == "pure-python":
        monkeypatch.setattr(yamlload, "_Loader", yaml.SafeLoader)


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    return Scratch(tmp_path / "site")


@pytest.fixture
def make_scratch(tmp_path: Path) -> Callable[[str], Scratch]:
    return lambda name: Scratch(tmp_path / name)


@pytest.fixture
def site_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty site (its content/ folder only) at ~/projects/site, under a home folder of
    its own: the folder checks name the home folder, and the site's."""
    home = tmp_path.resolve() / "home"
    site = home / "projects" / "site"
    (site / "content").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return site


@contextlib.contextmanager
def filling_late(data: bytes, first: int) -> Iterator[int]:
    """A pipe's read end holding the first `first` bytes of `data`, and the rest 0.05 s
    later before it ends: a file that a network file system returns in two short reads."""
    read_end, write_end = os.pipe()
    os.write(write_end, data[:first])

    def rest() -> None:
        time.sleep(0.05)
        os.write(write_end, data[first:])
        os.close(write_end)

    writer = threading.Thread(target=rest)
    writer.start()
    try:
        yield read_end
    finally:
        writer.join()
        os.close(read_end)
