"""`masthead publish --to DIR`: sync the output into a folder shared with other files."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.commands.cli import main
from tests.conftest import Scratch

OWN = (".masthead-manifest.json", ".masthead-staging")
SITE = "https://news.example/"


def sync(site: Scratch, target: Path, *extra: str) -> int:
    return main(
        ["publish", "--site", str(site.root), "--to", str(target), "--base-url", SITE, *extra]
    )


def published(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(OWN)
    }


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    scratch.add("2026-11-18-ferry.md", title="Ferry timetable", topics=("Transport",))
    scratch.add("2026-11-19-wall.md", title="Harbour wall", topics=("Climate",))
    scratch.add("2026-11-20-market.md", title="Market day", topics=("Economy",), provider="Bay")
    return scratch


@pytest.fixture
def webroot(tmp_path: Path) -> Path:
    """A web root that already serves other things."""
    root = tmp_path / "www"
    (root / "downloads").mkdir(parents=True)
    (root / "downloads" / "report.pdf").write_bytes(b"%PDF- not ours")
    (root / "robots-old.txt").write_text("User-agent: *\n", encoding="utf-8")
    return root


def test_sync_copies_the_output_and_keeps_foreign_files(site: Scratch, webroot: Path) -> None:
    foreign = published(webroot)
    assert sync(site, webroot) == 0
    output = published(site.output)
    assert len(output) > 5
    assert published(webroot) == {**foreign, **output}
    assert not (webroot / ".masthead-staging").exists()


def test_resync_copies_changed_files_and_deletes_removed_ones(site: Scratch, webroot: Path) -> None:
    foreign = published(webroot)
    assert sync(site, webroot) == 0
    before = published(site.output)
    inodes = {rel: (webroot / rel).stat().st_ino for rel in before}

    site.add("2026-11-19-wall.md", title="Harbour wall repairs finished", topics=("Climate",))
    (site.content / "2026-11-20-market.md").unlink()
    assert sync(site, webroot) == 0
    after = published(site.output)

    assert published(webroot) == {**foreign, **after}
    gone = before.keys() - after.keys()
    assert any("/market/" in rel for rel in gone)
    assert not any((webroot / rel).exists() for rel in gone)
    assert not (webroot / "news" / "2026" / "11" / "20").exists()  # emptied folders pruned
    unchanged = {rel for rel in before.keys() & after.keys() if before[rel] == after[rel]}
    changed = {rel for rel in before.keys() & after.keys() if before[rel] != after[rel]}
    assert unchanged and changed
    # Unchanged files were left alone; changed ones were replaced (a new file, not rewritten).
    assert all((webroot / rel).stat().st_ino == inodes[rel] for rel in unchanged)
    assert all((webroot / rel).stat().st_ino != inodes[rel] for rel in changed)


def test_a_file_edited_in_the_target_is_not_deleted(site: Scratch, webroot: Path) -> None:
    assert sync(site, webroot) == 0
    page = next(p for p in webroot.rglob("index.html") if "/market/" in p.as_posix())
    page.write_text("edited on the server", encoding="utf-8")
    (site.content / "2026-11-20-market.md").unlink()
    assert sync(site, webroot) == 0
    assert page.read_text(encoding="utf-8") == "edited on the server"


@pytest.mark.parametrize(
    "target",
    [
        "{site}",
        "{site}/content",
        "{site}/templates",
        "{site}/static/deploy",
        "{site}/.git",
        "{site}/public",
        "{site}/public/deploy",
        "{tmp}",
        "{home}",
        "/",
    ],
)
def test_dangerous_targets_are_refused_before_anything_is_written(
    site: Scratch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    path = Path(target.format(site=site.root, tmp=tmp_path, home=home))
    assert sync(site, path) == 1
    assert "refusing" in capsys.readouterr().err
    assert not site.output.exists()  # refused before the build
    assert not (path / ".masthead-manifest.json").exists()


def test_a_target_that_is_a_file_is_refused(
    site: Scratch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "www"
    target.write_text("a file", encoding="utf-8")
    assert sync(site, target) == 1
    assert "not a folder" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "a file"


# Files the user put in the target by hand, at names the site also has: every kind of
# output (pages, the 404 page, robots.txt, feeds, sitemap, API, search bundle, assets).
USER_FILES = [
    "index.html",
    "404.html",
    "robots.txt",
    "sitemap.xml",
    "feed.xml",
    "topics/transport/index.html",
    "api/news/index.json",
    "pagefind/pagefind-ui.js",
    "search/index.html",
]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def cache_manifests(site: Scratch) -> list[Path]:
    return sorted((site.root / ".masthead-cache" / "published").glob("*.json"))


@pytest.mark.parametrize("name", USER_FILES)
def test_a_file_of_the_users_stops_the_publish_and_is_left_alone(
    site: Scratch, webroot: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    (webroot / name).parent.mkdir(parents=True, exist_ok=True)
    (webroot / name).write_bytes(b"placed here by hand")
    before = tree(webroot)
    assert sync(site, webroot) == 1
    err = capsys.readouterr().err
    assert name in err and "did not write" in err and "--overwrite" in err
    assert tree(webroot) == before  # nothing written, nothing deleted
    assert cache_manifests(site) == []


def test_with_overwrite_the_users_files_are_replaced_and_become_masthead_s(
    site: Scratch, webroot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in USER_FILES:
        (webroot / name).parent.mkdir(parents=True, exist_ok=True)
        (webroot / name).write_bytes(b"placed here by hand")
    assert sync(site, webroot, "--overwrite") == 0
    assert f"{len(USER_FILES)} of others replaced" in capsys.readouterr().out
    output = published(site.output)
    assert all((webroot / name).read_bytes() == output[name] for name in USER_FILES)


def test_a_file_placed_after_a_publish_at_a_name_the_site_later_takes(
    site: Scratch, webroot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync(site, webroot) == 0
    page = webroot / "topics" / "fishing" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text("my own fishing page", encoding="utf-8")
    site.add("2026-11-21-nets.md", title="Nets", topics=("Fishing",))
    assert sync(site, webroot) == 1
    assert "topics/fishing/index.html" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == "my own fishing page"
    assert not any("/nets/" in rel for rel in tree(webroot))  # nothing of it published


def test_a_page_edited_in_the_target_is_not_overwritten(
    site: Scratch, webroot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sync(site, webroot) == 0
    (webroot / "robots.txt").write_text("User-agent: *\nDisallow: /\n", encoding="utf-8")
    site.add("2026-11-21-nets.md", title="Nets", topics=("Fishing",))  # changes index.html
    (webroot / "index.html").write_text("edited on the server", encoding="utf-8")
    assert sync(site, webroot) == 1
    assert "index.html" in capsys.readouterr().err
    assert (webroot / "index.html").read_text(encoding="utf-8") == "edited on the server"


@pytest.mark.parametrize("kind", ["folder", "symlink", "file as folder"])
def test_a_folder_or_link_in_the_way_is_never_replaced(
    site: Scratch, webroot: Path, tmp_path: Path, kind: str
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not the site's", encoding="utf-8")
    if kind == "folder":
        (webroot / "robots.txt").mkdir()
    elif kind == "symlink":
        (webroot / "robots.txt").symlink_to(outside)
    else:
        (webroot / "topics").write_text("a file named topics", encoding="utf-8")
    before = tree(webroot)
    assert sync(site, webroot, "--overwrite") == 1
    assert tree(webroot) == before
    assert outside.read_text(encoding="utf-8") == "not the site's"


def test_no_bookkeeping_lands_in_the_target(site: Scratch, webroot: Path) -> None:
    assert sync(site, webroot) == 0
    assert not [p for p in webroot.rglob("*") if p.name.startswith(".masthead")]
    assert len(cache_manifests(site)) == 1  # in the site's cache, keyed by the target


def test_a_legacy_manifest_in_the_target_is_taken_over_and_removed(
    site: Scratch, webroot: Path
) -> None:
    """Earlier versions kept the manifest in the target: its files stay masthead's."""
    assert sync(site, webroot) == 0
    manifest = cache_manifests(site)[0]
    (webroot / ".masthead-manifest.json").write_bytes(manifest.read_bytes())
    manifest.unlink()
    (site.content / "2026-11-20-market.md").unlink()
    assert sync(site, webroot) == 0
    assert not (webroot / ".masthead-manifest.json").exists()
    assert not any("/market/" in rel for rel in tree(webroot))  # deleted as masthead's


def test_without_its_manifest_masthead_keeps_what_it_cannot_tell_apart(
    site: Scratch, webroot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cache was deleted: files already holding the site's bytes are taken as its own;
    a file that differs stops the publish; files that left the site are not deleted."""
    assert sync(site, webroot) == 0
    cache_manifests(site)[0].unlink()
    assert sync(site, webroot) == 0  # nothing changed: every file holds the site's bytes
    market = [rel for rel in tree(webroot) if "/market/" in rel]
    cache_manifests(site)[0].unlink()
    (site.content / "2026-11-20-market.md").unlink()
    site.add("2026-11-19-wall.md", title="Harbour wall repairs finished", topics=("Climate",))
    assert sync(site, webroot) == 1
    assert "index.html" in capsys.readouterr().err
    assert sync(site, webroot, "--overwrite") == 0
    assert all((webroot / rel).exists() for rel in market)  # not known as masthead's


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8000/", "http://127.0.0.1/", "http://[::1]:8080/x/", "http://a.localhost/"],
)
@pytest.mark.parametrize("to", ["folder", "gh-pages"])
def test_a_site_addressed_on_this_machine_is_not_published(
    site: Scratch, tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, to: str
) -> None:
    target = str(tmp_path / "www") if to == "folder" else "gh-pages"
    code = main(["publish", "--site", str(site.root), "--to", target, "--base-url", url])
    assert code == 1
    err = capsys.readouterr().err
    assert "base_url" in err and "--base-url" in err and url in err
    assert not site.output.exists() and not (tmp_path / "www").exists()


def test_the_default_base_url_of_a_new_site_is_refused(
    site: Scratch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["publish", "--site", str(site.root), "--to", str(tmp_path / "www")]) == 1
    assert "http://localhost:8000/" in capsys.readouterr().err
