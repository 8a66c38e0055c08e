"""`masthead serve` in a real browser: edits on disk show up in open pages by themselves."""

from __future__ import annotations

import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import pytest

from tests.browser import Page, chromium, expect
from tests.conftest import MASTHEAD, Scratch

TIMEOUT_MS = 15_000


class Serve:
    """`masthead serve --port 0` as a subprocess, the way a user starts it; its output is
    read as it comes, so that a test can wait for a line. `inside`: the installed command
    run from inside the site folder, without --site."""

    def __init__(self, site: Path, inside: bool = False) -> None:
        self.proc = subprocess.Popen(
            [MASTHEAD, "serve", "--port", "0"]
            if inside
            else [sys.executable, "-m", "masthead", "serve", "--site", str(site), "--port", "0"],
            cwd=site if inside else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.url = self.wait_for(r"http://127\.0\.0\.1:\d+/").group(0)

    def _read(self, stream: IO[str], is_stdout: bool) -> None:
        for line in stream:
            (self.stdout if is_stdout else self.stderr).append(line)
            if is_stdout:
                self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """The first stdout line from now on that matches `pattern`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no {pattern!r} in {self.stdout!r}; stderr: {self.stderr!r}")

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        return self.finish()

    def finish(self, timeout: float = 15) -> tuple[int, str]:
        """The exit code and stderr once the process ends by itself (or after stop)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        for reader in self._readers:
            reader.join(timeout=5)
        return self.proc.returncode, "".join(self.stderr)


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    scratch.config('title = "Preview test"\n')
    scratch.add("2026-11-18-harbour-wall.md", title="Harbour wall approved", topics=("Climate",))
    scratch.add(
        "2026-11-17-tide-gauge.md",
        title="Tide gauge replaced",
        topics=("Climate",),
        when="2026-11-17T08:00:00Z",
    )
    scratch.add(
        "2026-11-16-bus-lane.md",
        title="Bus lane opens",
        topics=("Transport",),
        when="2026-11-16T08:00:00Z",
    )
    return scratch


@pytest.fixture
def served(site: Scratch) -> Iterator[Serve]:
    server = Serve(site.root)
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def page(served: Serve) -> Iterator[Page]:
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield page


def test_title_edit_reloads_the_open_article(site: Scratch, served: Serve, page) -> None:
    page.goto(served.url + "news/2026/11/18/harbour-wall/")
    assert page.locator("h1").inner_text() == "Harbour wall approved"
    page.evaluate("window.__untouched = true")
    time.sleep(0.2)  # let the page's event stream connect
    site.add(
        "2026-11-18-harbour-wall.md",
        title="Harbour wall approved after long debate",
        topics=("Climate",),
    )
    expect(page.locator("h1")).to_have_text(
        "Harbour wall approved after long debate", timeout=TIMEOUT_MS
    )
    assert page.evaluate("window.__untouched === undefined"), "the page should have reloaded"


def test_deleted_record_leaves_its_topic_page(site: Scratch, served: Serve, page) -> None:
    page.goto(served.url + "topics/climate/")
    titles = page.locator(".card-title")
    expect(titles).to_have_count(2)
    time.sleep(0.2)
    (site.content / "2026-11-17-tide-gauge.md").unlink()
    expect(titles).to_have_count(1, timeout=TIMEOUT_MS)
    assert titles.first.inner_text() == "Harbour wall approved"


def test_broken_record_shows_overlay_until_fixed(site: Scratch, served: Serve, page) -> None:
    page.goto(served.url + "news/2026/11/16/bus-lane/")
    time.sleep(0.2)
    good = (site.content / "2026-11-16-bus-lane.md").read_text()
    (site.content / "2026-11-16-bus-lane.md").write_text(
        good.replace('title: "Bus lane opens"', "title: [unclosed")
    )
    overlay = page.locator("#masthead-error-overlay")
    expect(overlay).to_be_visible(timeout=TIMEOUT_MS)
    assert "2026-11-16-bus-lane.md:" in overlay.inner_text()
    # The last good version stays on show underneath.
    assert page.locator("h1").inner_text() == "Bus lane opens"
    (site.content / "2026-11-16-bus-lane.md").write_text(
        good.replace("Bus lane opens", "Bus lane reopens")
    )
    expect(page.locator("h1")).to_have_text("Bus lane reopens", timeout=TIMEOUT_MS)
    expect(overlay).to_have_count(0)


def test_the_overlay_can_be_dismissed_until_the_errors_change(
    site: Scratch, served: Serve, page
) -> None:
    """One broken record should not make the rest of the preview unusable: dismissed,
    the overlay stays away in that tab (reloads too) until the errors change."""
    page.goto(served.url)
    time.sleep(0.2)
    record = site.content / "2026-11-16-bus-lane.md"
    good = record.read_text()
    record.write_text(good.replace('title: "Bus lane opens"', "title: [unclosed"))
    overlay = page.locator("#masthead-error-overlay")
    expect(overlay).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Dismiss (Esc)").click()
    expect(overlay).to_have_count(0)
    page.locator(".card-title a").first.click()  # the site underneath answers
    page.wait_for_url("**/news/**")
    time.sleep(0.5)  # the new page's event stream has told it the errors again
    expect(overlay).to_have_count(0)
    record.write_text(good.replace("quality: 50", "quality: lots"))  # another error
    expect(overlay).to_be_visible(timeout=TIMEOUT_MS)
    assert "quality is a string 'lots'" in overlay.inner_text()
    page.keyboard.press("Escape")
    expect(overlay).to_have_count(0)
    record.write_text(good)  # fixed, then broken the same way again: shown again
    page.wait_for_function("() => sessionStorage.getItem('masthead-dismissed-errors') === null")
    record.write_text(good.replace("quality: 50", "quality: lots"))
    expect(overlay).to_be_visible(timeout=TIMEOUT_MS)
    record.write_text(good)


def test_a_record_broken_twice_is_named_as_build_and_check_name_it(site: Scratch) -> None:
    """Run from inside the site folder, as people run it: the terminal names the file
    from there (content/...) in one line with the count of its other problems, as
    `masthead build` does, and the overlay lists every problem, each with its line."""
    served = Serve(site.root, inside=True)
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(served.url + "news/2026/11/16/bus-lane/")
            time.sleep(0.2)  # let the page's event stream connect
            record = site.content / "2026-11-16-bus-lane.md"
            broken = record.read_text().replace('title: "Bus lane opens"', "title: 123")
            record.write_text(broken.replace("quality: 50", "quality: lots"))
            overlay = page.locator("#masthead-error-overlay")
            expect(overlay).to_be_visible(timeout=TIMEOUT_MS)
            assert overlay.locator(".masthead-error").all_inner_texts() == [
                "content/2026-11-16-bus-lane.md:3: title is an integer (expected a string)",
                "content/2026-11-16-bus-lane.md:9: quality is a string 'lots' (expected an integer)",
            ]
            served.wait_for(r"Built: .*\(1 skipped\)")
    finally:
        served.stop()
    # The output folder too, as `masthead build` names it ("-> public").
    assert any(line.startswith("Serving public at http://127.0.0.1:") for line in served.stdout)
    said = [line for line in served.stderr if "bus-lane.md" in line]
    assert said == [
        "content/2026-11-16-bus-lane.md:3: title is an integer (expected a string)"
        " (and 1 more problem: masthead check lists them)\n"
    ]


def test_broken_template_keeps_last_site_and_shows_overlay(
    site: Scratch, served: Serve, page
) -> None:
    page.goto(served.url)
    time.sleep(0.2)
    site.template(
        "index.html", "{% extends 'base.html' %}{% block main %}{{ broken( }}{% endblock %}"
    )
    overlay = page.locator("#masthead-error-overlay")
    expect(overlay).to_be_visible(timeout=TIMEOUT_MS)
    assert "index.html" in overlay.inner_text()
    (site.root / "templates" / "index.html").unlink()
    expect(overlay).to_have_count(0, timeout=TIMEOUT_MS)
    assert page.locator("main .card-title").count() == 3  # the theme's front page, each story once


def test_stylesheet_change_swaps_without_reload(site: Scratch, served: Serve, page) -> None:
    page.goto(served.url)
    page.evaluate("window.__untouched = true")
    time.sleep(0.2)
    css = site.root / "static" / "assets" / "style.css"
    css.parent.mkdir(parents=True)
    css.write_text("body { background: rgb(1, 2, 3); }\n")
    page.wait_for_function(
        "getComputedStyle(document.body).backgroundColor === 'rgb(1, 2, 3)'", timeout=TIMEOUT_MS
    )
    assert page.evaluate("window.__untouched === true"), (
        "a stylesheet change must not reload the page"
    )


def test_summary_after_the_first_build_and_each_rebuild(site: Scratch, served: Serve) -> None:
    assert any(line.startswith("Built: read 3 records") for line in served.stdout)
    site.add("2026-11-19-ferry.md", title="Ferry timetable changes", topics=("Transport",))
    line = served.wait_for(r"^Built: read 4 records .* -> ").string
    assert str(site.root / "public") in line


@pytest.mark.parametrize("how", ["deleted", "moved"])
def test_stops_when_the_site_folder_goes(site: Scratch, served: Serve, how: str) -> None:
    moved = site.root.with_name(site.root.name + "-moved")
    if how == "deleted":
        shutil.rmtree(site.root)
    else:
        site.root.rename(moved)
    code, err = served.finish()
    assert code == 1
    assert f"site folder {site.root} was deleted or moved away" in err
    assert "Traceback" not in err
    assert not site.root.exists(), "nothing may be re-created where the site was"
    if how == "moved":
        shutil.rmtree(moved)


def test_ctrl_c_stops_cleanly(served: Serve) -> None:
    code, err = served.stop()
    assert code == 0
    assert "Traceback" not in err


def test_serves_site_files_only(site: Scratch, served: Serve) -> None:
    import urllib.error
    import urllib.request

    secret = site.root.parent / "secret.txt"
    secret.write_text("do not serve")
    (site.output / "leak").symlink_to(secret)
    for path in (
        "../secret.txt",
        "%2e%2e/secret.txt",
        "%252e%252e/secret.txt",
        "leak",
        ".masthead-manifest.json",
    ):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(served.url + path)
        assert info.value.code == 404, path
        assert b"do not serve" not in info.value.read()
    with urllib.request.urlopen(served.url + "news/2026/11/18/harbour-wall/") as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"


def test_a_rebound_name_is_refused_in_the_browser(served: Serve) -> None:
    """A DNS-rebinding page: the browser resolves a foreign name to the preview's address."""
    port = urlsplit(served.url).port
    with chromium("--host-resolver-rules=MAP rebind.test 127.0.0.1") as browser:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        for path in ("api/news/index.json", "", "__masthead/events"):
            response = page.goto(f"http://rebind.test:{port}/{path}")
            assert response is not None and response.status == 421, path
            assert "Harbour" not in page.content()
        response = page.goto(f"http://localhost:{port}/news/2026/11/18/harbour-wall/")
        assert response is not None and response.status == 200
        opened = page.evaluate(
            """new Promise((done) => {
                const source = new EventSource("/__masthead/events");
                source.onopen = () => { source.close(); done(true); };
                source.onerror = () => done(false);
            })"""
        )
        assert opened, "the page's own live-reload stream must open under localhost"
