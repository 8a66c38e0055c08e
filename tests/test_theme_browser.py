"""The default theme as a reader meets it: the example site in Chromium (Playwright).

The example site (the repository's content/ and static/, made-up stories with local
pictures) is built under a sub-path and served by a threaded http.server; every request
that would leave 127.0.0.1 is refused. axe-core comes from npm (MASTHEAD_AXE_JS names an
axe.min.js; otherwise it is installed once under ~/.cache/masthead-tests).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from masthead.building.build import BuildOptions, build
from tests.browser import Browser, Page, Route, chromium
from tests.crawl import serve_under
from tests.htmlcheck import parse

ROOT = Path(__file__).resolve().parents[1]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class Served:
    def __init__(self, url: str, output: Path) -> None:
        self.url = url
        self.output = output

    def first(self, folder: str, marker: str = "") -> str:
        """The site path of the first page under `folder` whose HTML contains `marker`."""
        for page in sorted((self.output / folder).rglob("index.html")):
            if marker in page.read_text(encoding="utf-8"):
                return page.parent.relative_to(self.output).as_posix() + "/"
        raise AssertionError(f"no page under {folder} with {marker!r}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("theme")
    site = root / "site"
    site.mkdir()
    shutil.copy(ROOT / "site.toml", site / "site.toml")
    for folder in ("content", "static"):
        shutil.copytree(ROOT / folder, site / folder)
    with serve_under(root, "/") as served:
        url = served + "digest/"
        options = BuildOptions(site, output_dir=root / "digest", base_url=url, use_cache=False)
        report = build(options)
        assert not report.failed, report.diagnostics
        yield Served(url, root / "digest")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _page(
    browser: Browser,
    viewport: dict[str, int],
    scheme: str = "light",
    failing: tuple[str, ...] = (),
    refused: list[str] | None = None,
) -> Page:
    """A page that reaches 127.0.0.1 only, less the URLs holding one of `failing`; the
    URLs refused are added to `refused`."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]

    def answer(route: Route) -> None:
        url = route.request.url
        if url.startswith("http://127.0.0.1:") and not any(f in url for f in failing):
            route.continue_()
        else:
            if refused is not None:
                refused.append(url)
            route.abort()

    context.route("**/*", answer)
    return context.new_page()


@pytest.fixture(scope="module")
def page_kinds(served: Served) -> dict[str, str]:
    """One page of every kind the theme renders, by site path."""
    return {
        "home": "",
        "home page 2": "page/2/",
        "article": served.first("news", 'class="story-image"'),
        "video": served.first("news", 'class="video-play"'),
        "related": served.first("news", "Related coverage"),
        "topics": "topics/",
        "topic": served.first("topics"),
        "providers": "providers/",
        "provider": served.first("providers"),
        "editions": "editions/",
        "edition": served.first("editions"),
        "archive": "archive/",
        "year": served.first("archive/2026"),
        "month": served.first("archive/2026/11"),
        "search": "search/?q=harbour",
        "404": "404.html",
    }


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if "search/" in url:
        page.wait_for_selector(".pagefind-ui__result")


HEADLINES_IN_VIEW = """() => {
  const seen = new Set();
  for (const a of document.querySelectorAll('.card-title a')) {
    const box = a.getBoundingClientRect();
    if (box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight) seen.add(a.href);
  }
  return seen.size;
}"""


@pytest.mark.parametrize(("viewport", "least"), [(DESKTOP, 12), (PHONE, 5)])
def test_the_first_screen_of_the_front_page_is_dense(
    served: Served, browser: Browser, viewport: dict[str, int], least: int
) -> None:
    page = _page(browser, viewport)
    _open(page, served.url)
    assert page.evaluate(HEADLINES_IN_VIEW) >= least
    lead = page.locator(".top-lead .card-title a").bounding_box()
    assert lead is not None and lead["y"] + lead["height"] <= viewport["height"]
    page.context.close()


@pytest.mark.parametrize("width", [320, 390])
def test_no_page_is_wider_than_a_phone(
    served: Served, browser: Browser, page_kinds: dict[str, str], width: int
) -> None:
    page = _page(browser, {"width": width, "height": 800})
    wide = {}
    for kind, path in page_kinds.items():
        _open(page, served.url + path)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            wide[kind] = scroll
    page.context.close()
    assert wide == {}


@pytest.fixture(scope="module")
def axe_js() -> str:
    """axe-core's browser build, from npm."""
    named = os.environ.get("MASTHEAD_AXE_JS")
    if named:
        return Path(named).read_text(encoding="utf-8")
    prefix = Path.home() / ".cache" / "masthead-tests"
    script = prefix / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI"):
                raise RuntimeError("npm is missing: .ci/run installs it with apt-get")
            pytest.skip("npm is not installed")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix),
             "axe-core@4"],
            check=True, timeout=600,
        )  # fmt: skip
    return script.read_text(encoding="utf-8")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_kind_passes_axe(
    served: Served, browser: Browser, page_kinds: dict[str, str], axe_js: str, scheme: str
) -> None:
    page = _page(browser, DESKTOP, scheme)
    found = {}
    for kind, path in page_kinds.items():
        _open(page, served.url + path)
        page.add_script_tag(content=axe_js)
        violations = page.evaluate(
            "axe.run().then(r => r.violations.map(v => v.id + ': ' +"
            " v.nodes.map(n => n.target.join(' ')).join(', ')))"
        )
        if violations:
            found[kind] = violations
    page.context.close()
    assert found == {}


def test_a_video_plays_only_when_asked(
    served: Served, browser: Browser, page_kinds: dict[str, str]
) -> None:
    page = _page(browser, DESKTOP)
    _open(page, served.url + page_kinds["video"])
    title = page.locator("h1").inner_text()
    assert page.locator("iframe").count() == 0  # the player waits in an inert template
    assert page.locator(".read-original a").inner_text().startswith("Watch on ")
    page.locator(".video-play").click()
    frame = page.locator(".video iframe")
    assert frame.get_attribute("title") == title
    assert "autoplay=1" in (frame.get_attribute("src") or "")
    page.context.close()


def test_search_is_labelled_and_lists_no_empty_filters(
    served: Served, browser: Browser, page_kinds: dict[str, str]
) -> None:
    page = _page(browser, DESKTOP, "dark")
    _open(page, served.url + page_kinds["search"])
    box = page.locator(".pagefind-ui__search-input")
    assert box.get_attribute("aria-labelledby") == "search-label"
    assert page.locator("#search-label").is_visible()
    page.wait_for_timeout(300)  # the filters' counts follow the results
    shown = page.locator(".pagefind-ui__filter-value:visible .pagefind-ui__filter-label")
    labels = shown.all_inner_texts()
    assert labels and not [text for text in labels if text.rstrip().endswith("(0)")]
    for image in page.locator("img.pagefind-ui__result-image").all():
        assert image.get_attribute("width") and image.get_attribute("height")
    # Typed text is readable in the dark: not the colour of the box behind it.
    colours = box.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    assert colours[0] != colours[1]
    page.context.close()


# The built pages themselves ----------------------------------------------------------

HEADLINE_LINKS = ".card-title a, .coverage a, .edition-top a"


def test_no_story_is_a_headline_twice_on_a_list_page(served: Served) -> None:
    lists = [
        p
        for p in served.output.rglob("index.html")
        if not p.relative_to(served.output).as_posix().startswith(("news/", "search/"))
    ]
    assert len(lists) > 20
    for page in lists:
        hrefs = [a["href"] for a in parse(page).select(HEADLINE_LINKS)]
        assert len(hrefs) == len(set(hrefs)), page


def test_the_lead_and_hero_pictures_load_first_and_the_rest_lazily(
    served: Served, page_kinds: dict[str, str]
) -> None:
    home = parse(served.output / "index.html")
    lead = home.select_one(".top-lead img.top-image")
    assert lead is not None and lead.get("fetchpriority") == "high" and not lead.get("loading")
    others = [img for img in home.select("main img") if img is not lead]
    assert others and all(img.get("loading") == "lazy" for img in others)
    article = parse(served.output / page_kinds["article"] / "index.html")
    hero = article.select_one(".story-image img")
    assert hero.get("fetchpriority") == "high" and not hero.get("loading")
    assert hero["alt"] != article.h1.get_text()


def test_every_page_has_icons_and_theme_colours_and_404_is_not_indexed(served: Served) -> None:
    for path in [served.output / "index.html", served.output / "404.html"]:
        soup = parse(path)
        assert soup.select_one("link[rel=icon]")["href"].endswith(".svg")
        assert soup.select_one("link[rel=apple-touch-icon]")["href"].endswith(".png")
        media = {m.get("media") for m in soup.select("meta[name=theme-color]")}
        assert media == {"(prefers-color-scheme: light)", "(prefers-color-scheme: dark)"}
    missing = parse(served.output / "404.html")
    assert missing.select_one("meta[name=robots]")["content"] == "noindex"
    assert missing.select("link[rel=canonical]") == []
    bundle = {p.name for p in (served.output / "pagefind").iterdir() if p.is_file()}
    assert {"pagefind-ui.js", "pagefind-ui.css"} <= bundle
    assert not [n for n in bundle if n.startswith(("pagefind-component", "pagefind-modular"))]


def test_an_article_page_shows_the_stories_around_it(
    served: Served, page_kinds: dict[str, str]
) -> None:
    soup = parse(served.output / page_kinds["article"] / "index.html")
    when = soup.select_one(".story-header time").get_text()
    assert when.endswith(("GMT", "BST")), when  # Europe/London, with its zone
    nav = soup.select(".story-nav a")
    assert nav, "earlier or later story"
    headlines = [a["href"] for a in soup.select(".story-aside .card-title a")] + [
        a["href"] for a in nav
    ]
    assert soup.select(".story-aside .more-from") and len(headlines) == len(set(headlines))


# Pictures that fail to load ------------------------------------------------------------

FAILING = ("/images/stories/harbour", "/images/stories/clinic", "/images/providers/pulse")

PICTURES_SHOWN = """() => Array.from(document.images).map(img => ({
  src: img.getAttribute('src'), broken: img.complete && img.naturalWidth === 0,
  loaded: img.complete && img.naturalWidth > 0, framed: !!img.closest('.thumb, figure'),
}))"""

EMPTY_FRAMES = "() => Array.from(document.querySelectorAll('.thumb, figure')).filter(f => !f.querySelector('img, iframe')).length"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE])
def test_a_picture_that_fails_to_load_leaves_no_broken_frame(
    served: Served, browser: Browser, viewport: dict[str, int]
) -> None:
    """Remote pictures fail (gone, or refused to other sites): the story then reads as one
    without a picture, not as a grey box holding the browser's broken-image icon."""
    hero = next(
        p
        for p in sorted((served.output / "news").rglob("index.html"))
        if any(f in str(parse(p).select_one(".story-image img")) for f in FAILING)
    )
    refused: list[str] = []
    page = _page(browser, viewport, failing=FAILING, refused=refused)
    for url in (served.url, served.url + hero.parent.relative_to(served.output).as_posix() + "/"):
        _open(page, url)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the lazy ones too
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(200)
        shown = page.evaluate(PICTURES_SHOWN)
        assert [p["src"] for p in shown if p["broken"]] == [], url
        assert not [p for p in shown if any(f in p["src"] for f in FAILING)], url
        assert [p for p in shown if p["loaded"] and p["framed"]], url  # the others stay
        assert page.evaluate(EMPTY_FRAMES) == 0, url
    assert page.locator("figure.story-image").count() == 0  # the hero's frame went too
    assert any("/images/stories/" in url for url in refused)
    page.context.close()


# A phone's narrow screen ---------------------------------------------------------------

OVERLAPS = """() => Array.from(document.querySelectorAll('.edition-days li')).filter(row => {
  const day = row.querySelector('.edition-day time').getBoundingClientRect();
  const top = row.querySelector('.edition-top').getBoundingClientRect();
  return top.width > 0 && day.right > top.left;
}).length"""

SPLIT_NAMES = """() => Array.from(document.querySelectorAll('.meta a, .meta time'))
  .filter(e => e.getClientRects().length > 1).map(e => e.textContent)"""


def test_on_a_phone_nothing_runs_into_its_neighbour(
    served: Served, browser: Browser, page_kinds: dict[str, str]
) -> None:
    page = _page(browser, {"width": 320, "height": 700})
    _open(page, served.url + page_kinds["editions"])
    assert page.locator(".edition-days li").count() > 5
    assert page.evaluate(OVERLAPS) == 0  # a day's date beside its lead story, not under it
    page.evaluate(
        "document.querySelectorAll('.edition-day time').forEach(t => { t.textContent = 'Wed 28 May'; })"
    )
    assert page.evaluate(OVERLAPS) == 0  # the widest a date can be
    for kind in ("home", "topic", "article"):
        _open(page, served.url + page_kinds[kind])
        assert page.evaluate(SPLIT_NAMES) == [], kind  # a provider or topic on one line
    page.context.close()


def test_on_a_phone_a_tile_answers_a_tap_anywhere_and_search_results_come_first(
    served: Served, browser: Browser, page_kinds: dict[str, str]
) -> None:
    page = _page(browser, PHONE)
    _open(page, served.url + page_kinds["topics"])
    tile = page.locator(".term-list li").first
    href = tile.locator("a").get_attribute("href")
    box = tile.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)  # its count
    page.wait_for_url(f"**{href}")
    _open(page, served.url + page_kinds["search"])
    first = page.locator(".pagefind-ui__result").first.bounding_box()
    assert first is not None and first["y"] < PHONE["height"]  # filters folded away
    page.context.close()
    page = _page(browser, DESKTOP)
    _open(page, served.url + page_kinds["search"])
    assert page.locator("details.pagefind-ui__filter-block[open]").count() > 0
    page.context.close()
