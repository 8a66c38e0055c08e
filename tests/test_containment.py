"""Every containment check against sibling prefixes and symlinks.

The class of bug: "is this path inside that folder?" answered by a string prefix, so
`public-private/` passes for `public/`, or answered before symlinks are resolved. Each
check is tried with a sibling folder whose name starts with the guarded one's, reached by
a symlink (file and folder, relative and absolute) and by name; the controls show that
real insiders and mere neighbours are treated as such.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from masthead.commands.cli import main
from masthead.diagnostics import ConfigError
from masthead.outputs.writer import MANIFEST, OutputError, OutputWriter, check_folders
from masthead.preview.server import DevServer
from tests.conftest import Scratch
from tests.test_publish_folder import sync
from tests.test_server import get

SECRET = b"sibling secret"


# --- the preview server --------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[DevServer, Path]]:
    """`public/` served, beside `public-private/` and `publicity/` that must never be."""
    root = tmp_path / "public"
    (root / "news").mkdir(parents=True)
    (root / "index.html").write_text("<h1>Home</h1>", encoding="utf-8")
    (root / "news" / "story.txt").write_text("inside", encoding="utf-8")
    (root / "404.html").write_text("<h1>Not here</h1>", encoding="utf-8")
    for sibling in ("public-private", "publicity"):
        (tmp_path / sibling).mkdir()
        (tmp_path / sibling / "secret.txt").write_bytes(SECRET)
    (root / "rel-file").symlink_to("../public-private/secret.txt")
    (root / "abs-file").symlink_to(tmp_path / "public-private" / "secret.txt")
    (root / "rel-dir").symlink_to("../public-private", target_is_directory=True)
    (root / "abs-dir").symlink_to(tmp_path / "publicity", target_is_directory=True)
    (root / "news" / "up-dir").symlink_to("../../public-private", target_is_directory=True)
    (root / "inside-link").symlink_to("news/story.txt")  # control: stays inside
    server = DevServer(root, port=0, base_path="/")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server, root
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "path",
    [
        "/rel-file",
        "/abs-file",
        "/rel-dir/secret.txt",
        "/abs-dir/secret.txt",
        "/news/up-dir/secret.txt",
        "/../public-private/secret.txt",
        "/%2e%2e/public-private/secret.txt",
        "/..%2fpublic-private%2fsecret.txt",
    ],
)
def test_the_preview_serves_nothing_from_a_sibling_folder(
    served: tuple[DevServer, Path], path: str
) -> None:
    server, _ = served
    status, _, body = get(server, path)
    assert status == 404
    assert SECRET not in body


def test_the_preview_serves_a_symlink_that_stays_inside(served: tuple[DevServer, Path]) -> None:
    server, root = served
    status, _, body = get(server, "/inside-link")
    assert (status, body) == (200, b"inside")
    assert server.resolve("/inside-link") == (root / "news" / "story.txt").resolve()
    assert server.resolve("/rel-dir/secret.txt") is None


# --- the writer's output containment ------------------------------------------------------


def _commit(root: Path, files: dict[str, bytes]) -> OutputWriter:
    writer = OutputWriter(root)
    for rel, data in files.items():
        writer.write(rel, data)
    writer.commit()
    return writer


@pytest.mark.parametrize("link", ["../public-private", "{tmp}/public-private"])
def test_stale_files_behind_a_symlink_to_a_sibling_are_not_deleted(
    tmp_path: Path, link: str
) -> None:
    root = tmp_path / "public"
    _commit(root, {"index.html": b"home", "gallery/cat.jpg": SECRET})
    (root / "gallery" / "cat.jpg").unlink()
    (root / "gallery").rmdir()
    sibling = tmp_path / "public-private"
    sibling.mkdir()
    (sibling / "cat.jpg").write_bytes(SECRET)  # the very bytes the manifest lists
    (root / "gallery").symlink_to(link.format(tmp=tmp_path), target_is_directory=True)
    writer = _commit(root, {"index.html": b"home"})  # gallery/cat.jpg is stale now
    assert (sibling / "cat.jpg").read_bytes() == SECRET
    assert writer.removed == []


def test_stale_files_inside_are_deleted(tmp_path: Path) -> None:
    """The control for the test above: the same stale file, not behind a link, goes."""
    root = tmp_path / "public"
    _commit(root, {"index.html": b"home", "gallery/cat.jpg": SECRET})
    writer = _commit(root, {"index.html": b"home"})
    assert writer.removed == ["gallery/cat.jpg"]
    assert not (root / "gallery").exists()


@pytest.mark.parametrize(
    "entry",
    ["../public-private/cat.jpg", "/{tmp}/public-private/cat.jpg", "./../public-private/cat.jpg"],
)
def test_a_manifest_naming_a_sibling_deletes_nothing_there(tmp_path: Path, entry: str) -> None:
    root = tmp_path / "public"
    _commit(root, {"index.html": b"home"})
    sibling = tmp_path / "public-private"
    sibling.mkdir()
    (sibling / "cat.jpg").write_bytes(SECRET)
    manifest = json.loads((root / MANIFEST).read_text())
    manifest["files"][entry.format(tmp=tmp_path)] = hashlib.sha256(SECRET).hexdigest()
    (root / MANIFEST).write_text(json.dumps(manifest))
    _commit(root, {"index.html": b"home"})
    assert (sibling / "cat.jpg").read_bytes() == SECRET


def test_a_write_through_a_symlinked_folder_to_a_sibling_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "public"
    _commit(root, {"index.html": b"home"})
    sibling = tmp_path / "public-private"
    sibling.mkdir()
    (sibling / "cat.jpg").write_bytes(SECRET)
    (root / "gallery").symlink_to("../public-private", target_is_directory=True)
    writer = OutputWriter(root)
    writer.write("index.html", b"home")
    writer.write("gallery/cat.jpg", b"overwritten")
    with pytest.raises(OutputError, match="symlink"):
        writer.commit()
    writer.abort()
    assert (sibling / "cat.jpg").read_bytes() == SECRET
    assert sorted(p.name for p in sibling.iterdir()) == ["cat.jpg"]


# --- the site's folders: output, publish target --------------------------------------------


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    scratch.add("2026-11-18-ferry.md", title="Ferry timetable", topics=("Transport",))
    return scratch


@pytest.mark.parametrize(
    "name", ["content-old", "contents", "templates-backup", "static2", "data.bak"]
)
def test_an_output_beside_a_protected_folder_with_its_prefix_is_allowed(
    site: Scratch, name: str
) -> None:
    """A string-prefix check would refuse these; they share only the start of a name."""
    for folder in ("templates", "static", "data"):
        (site.root / folder).mkdir(exist_ok=True)
    check_folders(site.root, site.content, site.root / name)


@pytest.mark.parametrize("where", ["content/out", "templates/out", "static", ".git/out", "data/x"])
def test_an_output_inside_a_protected_folder_is_refused(site: Scratch, where: str) -> None:
    with pytest.raises(ConfigError, match="refusing"):
        check_folders(site.root, site.content, site.root / where)


@pytest.mark.parametrize("where", ["content", "templates"])
def test_an_output_that_is_a_symlink_into_a_protected_folder_is_refused(
    site: Scratch, tmp_path: Path, where: str
) -> None:
    (site.root / where).mkdir(exist_ok=True)
    link = tmp_path / "elsewhere"
    link.symlink_to(site.root / where, target_is_directory=True)
    with pytest.raises(ConfigError, match="refusing"):
        check_folders(site.root, site.content, link / "out")


def test_publish_to_a_sibling_of_the_output_with_its_prefix_works(
    site: Scratch, tmp_path: Path
) -> None:
    target = site.root / "public-deploy"  # beside public/, starts with its name
    assert sync(site, target) == 0
    assert (target / "index.html").is_file()
    assert not (site.output / "public-deploy").exists()


@pytest.mark.parametrize("shape", ["inside", "symlink-to-output", "symlink-inside"])
def test_publish_into_the_output_by_any_path_is_refused(
    site: Scratch, tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: str
) -> None:
    site.build()
    if shape == "inside":
        target = site.output / "deploy"
    elif shape == "symlink-to-output":
        target = tmp_path / "www"
        target.symlink_to(site.output, target_is_directory=True)
    else:
        (tmp_path / "www").symlink_to(site.output, target_is_directory=True)
        target = tmp_path / "www" / "deploy"
    before = sorted(p.relative_to(site.output) for p in site.output.rglob("*"))
    assert sync(site, target) == 1
    assert "overlaps the output folder" in capsys.readouterr().err
    assert sorted(p.relative_to(site.output) for p in site.output.rglob("*")) == before


# --- the build cache -----------------------------------------------------------------------


def _draft_site(site: Scratch) -> Scratch:
    site.add("2026-11-19-embargo.md", title="Embargoed merger story", published=False)
    return site


@pytest.mark.parametrize(
    "where", ["public/cache", "public", "{tmp}/www-link/cache", "content/.cache", "templates/c"]
)
def test_a_cache_folder_in_the_output_or_the_users_folders_is_refused(
    site: Scratch, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """The cache holds every record, drafts too: inside the output it would be published."""
    _draft_site(site)
    site.output.mkdir()
    (tmp_path / "www-link").symlink_to(site.output, target_is_directory=True)
    cache = site.root / where.format(tmp=tmp_path)
    code = main(["build", "--site", str(site.root), "--cache-dir", str(cache), "--no-search"])
    assert code == 1
    assert "refusing cache folder" in capsys.readouterr().err
    assert not cache.exists() or not any(cache.iterdir())
    assert list(site.output.iterdir()) == []


@pytest.mark.parametrize("where", [".masthead-cache", "public-cache", "../elsewhere/cache"])
def test_a_cache_folder_beside_the_output_is_used(site: Scratch, where: str) -> None:
    _draft_site(site)
    cache = site.root / where
    code = main(["build", "--site", str(site.root), "--cache-dir", str(cache), "--no-search"])
    assert code == 0
    assert any(cache.iterdir())
    published = b"".join(p.read_bytes() for p in site.output.rglob("*") if p.is_file())
    assert b"Embargoed" not in published
