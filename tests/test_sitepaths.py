"""Site paths that records and data files give for images and links (issue 21): each one
that leads nowhere is a warning naming the file, its line and how many files use it;
`check` and `build --strict` fail on it; no built page shows a broken image for it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from masthead.building.build import Builder, BuildOptions, Mode, build
from masthead.config import base_path_of
from tests.conftest import masthead, snapshot
from tests.htmlcheck import html_files, parse

PRESENT_LOGO = "/assets/images/organizations/cnn.com-50x50.jpg"
MISSING_LOGO = "/assets/images/organizations/gone.example-50x50.jpg"
MISSING_IMAGE = "/images/missing%20story.jpg"
MISSING_BODY = "/images/missing-body.png"
MISSING_DATA = "/assets/images/organizations/data-only.png"
PRESENT_TOPIC = "/assets/images/topics/climate.png"
GONE_PAGE = "/news/2020/01/01/gone/"
STATIC = ("assets/images/organizations/cnn.com-50x50.jpg", "assets/images/topics/climate.png")


def _record(title: str, day: int, provider: str, logo: str, image: str, more: str = "") -> str:
    return (
        "---\n"
        f'title: "{title}"\n'  # line 2
        f"publishedDateTime: 2026-11-{day:02d}T09:00:00Z\n"
        f'webUrl: "https://news.example/{day}"\n'
        "provider:\n"  # line 5
        f"  name: {provider}\n"
        "  images:\n"
        f'    - url: "{logo}"\n'  # line 8: the provider logo
        "topics:\n"
        "  - Climate\n"
        "images:\n"
        f'    - url: "{image}"\n'  # line 12: the story image
        f"{more}---\n"
    )


RECORDS = {
    "2026-11-10-present.md": _record(
        "Present", 10, "CNN", PRESENT_LOGO, "/assets/images/topics/climate.png",
        more="",
    ) + "Body with ![a present image](/assets/images/topics/climate.png).\n",
    "2026-11-11-missing.md": _record(
        "Missing", 11, "Gone Example", MISSING_LOGO, MISSING_IMAGE,
    ) + (
        "Intro.\n\n"
        f"![gone]({MISSING_BODY}) and ![here](/assets/images/topics/climate.png)\n\n"
        "See [the topic](/topics/climate/).\n"
    ),
    "2026-11-12-related.md": _record(
        "Related", 12, "Gone Example", MISSING_LOGO, "https://images.example/ok.jpg",
        more=(
            "related:\n"  # line 13
            "  - title: Gone\n"
            f"    webUrl: {GONE_PAGE}\n"  # line 15
            "    images:\n"
            f"      - url: {MISSING_IMAGE}\n"
        ),
    ),
}  # fmt: skip
DATA = {
    "data/providers/data-only.yaml": (
        f"name: Data Only\ndomain: dataonly.example\nimages:\n  - url: {MISSING_DATA}\n"
    ),
    "data/topics/climate.yaml": f"name: Climate\nimages:\n  - url: {PRESENT_TOPIC}\n",
}
EXPECTED = [  # (file, line, what, path, users), by path
    ("data/providers/data-only.yaml", 4, "provider logo is", MISSING_DATA, "1 data file"),
    ("2026-11-11-missing.md", 8, "provider logo is", MISSING_LOGO, "2 records"),
    ("2026-11-11-missing.md", 12, "image is", MISSING_IMAGE, "2 records"),
    ("2026-11-11-missing.md", 16, "image in the body is", MISSING_BODY, "1 record"),
    ("2026-11-12-related.md", 15, "related story 'Gone' links to", GONE_PAGE, "1 record"),
]


def make_site(root: Path, base_url: str, *, static: bool = True) -> Path:
    for name, text in RECORDS.items():
        (root / "content" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "content" / name).write_text(text)
    for name, text in DATA.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if static:
        for rel in STATIC:
            (root / "static" / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / "static" / rel).write_bytes(b"\xff\xd8 made-up image bytes")
    (root / "site.toml").write_text(f'title = "Paths"\nbase_url = "{base_url}"\n')
    return root


BASES = ["https://example.org/", "https://example.org/digest/"]


def missing_images(output: Path, base_url: str) -> list[str]:
    """Every <img> on every built page whose target is no file of the output."""
    base_path = base_path_of(base_url)
    found = []
    for page in html_files(output):
        rel = page.relative_to(output).as_posix()
        page_url = urljoin(base_url, rel.removesuffix("index.html"))
        for img in parse(page).find_all("img"):
            parts = urlsplit(urljoin(page_url, img["src"]))
            if parts.netloc != urlsplit(base_url).netloc:
                continue  # another site's image: not ours to check
            path = unquote(parts.path)
            assert path.startswith(base_path), (rel, img["src"])
            if not (output / path[len(base_path) :]).is_file():
                found.append(f"{rel}: {img['src']}")
    return found


@pytest.mark.parametrize("base_url", BASES)
def test_each_missing_path_is_one_warning_with_file_line_and_count(
    tmp_path: Path, base_url: str
) -> None:
    site = make_site(tmp_path / "site", base_url)
    report = build(BuildOptions(site_dir=site, use_cache=False, jobs=1, search=False))
    assert not report.failed
    warned = [d for d in report.diagnostics if d.strict]
    assert all(d.severity == "warning" for d in warned)
    got = [(d.path, d.line, d.message) for d in warned]
    assert len(got) == len(EXPECTED), got
    for (path, line, message), (e_path, e_line, what, url, users) in zip(
        got, EXPECTED, strict=True
    ):
        assert (path, line) == (e_path, e_line), message
        assert message.startswith(f"{what} {url}, which is no page or file"), message
        assert message.endswith(f"(used by {users})")
    # Paths that lead somewhere, under the base path or not, are never named.
    text = "\n".join(map(str, report.diagnostics))
    for fine in (PRESENT_LOGO, PRESENT_TOPIC, "/topics/climate/"):
        assert fine not in text


@pytest.mark.parametrize("base_url", BASES)
def test_no_built_page_shows_a_missing_image(tmp_path: Path, base_url: str) -> None:
    site = make_site(tmp_path / "site", base_url)
    run = masthead("build", "--site", site, "--no-search")
    assert run.returncode == 0, run.stderr
    output = site / "public"
    assert missing_images(output, base_url) == []
    base_path = base_path_of(base_url)
    # The present ones are shown, under the base path.
    present = parse(output / "news/2026/11/10/present/index.html")
    assert present.select_one(".provider img")["src"] == base_path + PRESENT_LOGO[1:]
    assert present.select_one(".story-image img")["src"] == base_path + PRESENT_TOPIC[1:]
    assert present.select_one(".body img")["src"] == base_path + PRESENT_TOPIC[1:]
    # The missing ones are left out; the rest of the body stays, links included.
    missing = parse(output / "news/2026/11/11/missing/index.html")
    assert missing.select_one(".story-image") is None
    assert [i["src"] for i in missing.select(".body img")] == [base_path + PRESENT_TOPIC[1:]]
    assert missing.select_one(".body a")["href"] == base_path + "topics/climate/"
    assert "Intro." in missing.select_one(".body").get_text()
    # The warnings are on the terminal, with file and line.
    assert f"2026-11-11-missing.md:8: warning: provider logo is {MISSING_LOGO}" in run.stderr
    assert "data/providers/data-only.yaml:4: warning: provider logo is" in run.stderr


@pytest.mark.parametrize("base_url", BASES)
def test_a_missing_logo_falls_back_to_the_initials_badge(tmp_path: Path, base_url: str) -> None:
    site = make_site(tmp_path / "site", base_url)
    build(BuildOptions(site_dir=site, use_cache=False, jobs=1, search=False))
    output = site / "public"
    story = parse(output / "news/2026/11/11/missing/index.html").select_one(".provider")
    assert story.find("img") is None
    assert story.select_one(".initials").get_text() == "GE"
    present = parse(output / "news/2026/11/10/present/index.html").select_one(".provider")
    assert present.find("img") is not None and present.select_one(".initials") is None
    providers = parse(output / "providers/index.html")
    by_name = {
        li.select_one(".term-name").get_text(): li for li in providers.select(".term-list li")
    }
    assert by_name["Gone Example"].find("img") is None
    assert by_name["Gone Example"].select_one(".initials").get_text() == "GE"
    assert by_name["CNN"].find("img") is not None
    page = parse(output / "providers/gone-example/index.html").select_one(".term-header")
    assert page.find("img") is None and page.select_one(".initials").get_text() == "GE"
    # A topic logo from data/ that is there is shown.
    topic = parse(output / "topics/climate/index.html").select_one(".term-header img")
    assert topic["src"].endswith(PRESENT_TOPIC)


@pytest.mark.parametrize("base_url", BASES)
def test_check_and_strict_fail_exactly_while_a_path_leads_nowhere(
    tmp_path: Path, base_url: str
) -> None:
    site = make_site(tmp_path / "site", base_url)
    check = masthead("check", "--site", site)
    assert check.returncode == 1
    for path, line, what, url, _ in EXPECTED:
        assert f"{path}:{line}: {what} {url}, which is no page or file" in check.stderr
    strict = masthead("build", "--site", site, "--strict", "--no-search")
    assert strict.returncode == 1 and "Build failed" in strict.stderr
    assert not (site / "public").exists()
    # Every path made to lead somewhere: both pass, and the build writes.
    for _, _, _, url, _ in EXPECTED:
        target = site / "static" / unquote(url).lstrip("/")
        if url.endswith("/"):
            continue  # a page: the related story is made external instead
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"made-up")
    related = site / "content/2026-11-12-related.md"
    related.write_text(related.read_text().replace(GONE_PAGE, "https://news.example/gone"))
    assert masthead("check", "--site", site).returncode == 0
    strict = masthead("build", "--site", site, "--strict", "--no-search")
    assert strict.returncode == 0, strict.stderr
    assert "warning" not in strict.stderr


def test_a_strict_build_that_finds_nothing_changed_still_fails(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", BASES[0])
    assert masthead("build", "--site", site, "--no-search").returncode == 0
    again = masthead("build", "--site", site, "--strict", "--no-search")
    assert again.returncode == 1 and MISSING_LOGO in again.stderr


@pytest.mark.parametrize("base_url", BASES)
def test_adding_the_missing_file_shows_the_image_in_the_next_build(
    tmp_path: Path, base_url: str
) -> None:
    """Outside static/assets/ (whose names are in every page's fingerprint already)."""
    site = make_site(tmp_path / "site", base_url)
    options = BuildOptions(site_dir=site, jobs=1, search=False)
    builder = Builder(BuildOptions(site_dir=site, jobs=1, search=False, mode=Mode.WATCH))
    builder.build()
    page = site / "public/news/2026/11/11/missing/index.html"
    assert parse(page).select_one(".story-image img") is None
    image = site / "static" / unquote(MISSING_IMAGE).lstrip("/")
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(b"made-up")
    report = builder.build([image])  # as the preview's watcher would say it
    shown = base_path_of(base_url) + MISSING_IMAGE[1:]
    assert [i["src"] for i in parse(page).select(".story-image img")] == [shown]
    assert MISSING_IMAGE not in "\n".join(map(str, report.diagnostics))
    related = parse(site / "public/news/2026/11/12/related/index.html")
    assert [i["src"] for i in related.select(".related-item img")] == [shown]
    # A fresh process, from the cache: it is gone again, and back.
    image.unlink()
    build(options)
    assert parse(page).select_one(".story-image img") is None
    image.write_bytes(b"made-up")
    build(options)
    assert parse(page).select_one(".story-image img") is not None
    # Exactly what a clean build writes.
    clean = tmp_path / "clean"
    build(BuildOptions(site_dir=site, output_dir=clean, use_cache=False, jobs=1, search=False))
    assert _bytes(site / "public") == _bytes(clean)


def _bytes(root: Path) -> dict[str, bytes]:
    return {rel: data for rel, (data, _) in snapshot(root).items() if ".masthead" not in rel}


def test_an_edit_that_names_a_missing_path_is_seen_by_the_preview(tmp_path: Path) -> None:
    """An edit to a story image keeps the story's shape, the preview's fast path for
    edits; it must not show a broken image, nor miss the warning."""
    site = make_site(tmp_path / "site", BASES[1])
    builder = Builder(BuildOptions(site_dir=site, jobs=1, search=False, mode=Mode.WATCH))
    builder.build()
    record = site / "content/2026-11-10-present.md"
    text = record.read_text()
    image_line = f'    - url: "{PRESENT_TOPIC}"\n'
    assert text.count(image_line) == 1
    record.write_text(text.replace(image_line, '    - url: "/images/new.jpg"\n'))
    report = builder.build([record])
    page = parse(site / "public/news/2026/11/10/present/index.html")
    assert page.select_one(".story-image") is None
    assert "2026-11-10-present.md:12: warning: image is /images/new.jpg" in "\n".join(
        map(str, report.diagnostics)
    )
    assert missing_images(site / "public", BASES[1]) == []
