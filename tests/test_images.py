"""The image stage (images.py): remote images fetched from a loopback server, kept in the
build cache, resized into the output; hostile hosts and files refused, the build intact."""

from __future__ import annotations

import io
import logging
import shutil
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image, features

from masthead.config import ImagesConfig
from masthead.outputs import images
from masthead.outputs.assets import Assets
from masthead.records.safefetch import Fetcher, FetchLimits
from tests.conftest import Scratch, record_text, tree
from tests.feedserver import FeedServer, redirect, respond, serving, stream
from tests.htmlcheck import parse

AVIF = features.check("avif")


def picture(size: tuple[int, int], fmt: str, mode: str = "RGB", frames: int = 1) -> bytes:
    """A real image made with Pillow: a gradient, so that encoders have work to do."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    out = io.BytesIO()
    if frames > 1:
        others = [Image.new(mode, size, (i * 40) % 255) for i in range(1, frames)]
        image.save(out, fmt, save_all=True, append_images=others, duration=100, loop=0)
    else:
        image.save(out, fmt)
    return out.getvalue()


GOOD = {
    "/photo.jpg": (picture((1600, 900), "JPEG"), "image/jpeg"),
    "/chart.png": (picture((300, 200), "PNG", "P"), "image/png"),
    "/anim.gif": (picture((200, 100), "GIF", "L", frames=3), "image/gif"),
    "/still.webp": (picture((800, 600), "WEBP"), "image/webp"),
    "/print.jpg": (picture((640, 480), "JPEG", "CMYK"), "image/jpeg"),
    "/logo.png": (picture((50, 50), "PNG", "LA"), "image/png"),
}
"""Path -> (body, Content-Type): each is resized."""

BAD = {
    "/missing.jpg": "HTTP 404",
    "/drip.jpg": "timed out",
    "/declared-big.jpg": "over the limit",
    "/endless.jpg": "over the limit",
    "/to-loopback.jpg": "loopback address",
    "/to-metadata.jpg": "link-local address",
    "/bomb.png": "pixel bomb",
    "/page.jpg": "not an image of an allowed format",
    "/loop.jpg": "more than 5 redirects",
}
"""Path -> what the warning says of it: each stays a remote link, the build completes."""

MAX_BYTES = 2_000_000


def routes(server: FeedServer, internal: FeedServer) -> None:
    for path, (body, kind) in GOOD.items():
        server.routes[path] = respond(body, kind)
    server.routes["/drip.jpg"] = stream(lambda: iter([b"\xff"] * 100), delay=0.1)
    server.routes["/declared-big.jpg"] = respond(b"\xff" * (MAX_BYTES + 1), "image/jpeg")
    # 50 MB of unknown length: cut off at the limit, long before the end.
    server.routes["/endless.jpg"] = stream(lambda: iter([b"\0" * 65536] * 800))
    server.routes["/to-loopback.jpg"] = redirect(internal.url("/secret.jpg"))
    server.routes["/to-metadata.jpg"] = redirect("http://169.254.169.254/latest/meta-data/")
    server.routes["/loop.jpg"] = redirect("/loop.jpg")
    bomb = Image.new("1", (4000, 3000))  # 12 megapixels in a few kilobytes
    out = io.BytesIO()
    bomb.save(out, "PNG")
    server.routes["/bomb.png"] = respond(out.getvalue(), "image/png")
    html = b"<!doctype html><title>Not found</title><p>" + b"x" * 2000
    server.routes["/page.jpg"] = respond(html, "image/jpeg")
    internal.routes["/secret.jpg"] = respond(GOOD["/photo.jpg"][0], "image/jpeg")


@contextmanager
def image_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FeedServer, FeedServer]]:
    """The image host (reachable: exempt) and another loopback service (not), until the
    block ends; `img.test` names the host (HTTP/1.1: connections kept alive), `private.test`
    resolves to 10.0.0.7."""
    with serving(protocol="HTTP/1.1") as server, serving() as internal:
        routes(server, internal)

        def fetcher(config: ImagesConfig) -> Fetcher:
            limits = FetchLimits(
                total_timeout=config.timeout, max_bytes=config.max_bytes, max_redirects=5
            )

            def resolve(host: str, port: int) -> list[str]:
                addresses = {"private.test": ["10.0.0.7"], "img.test": ["127.0.0.1"]}
                return addresses.get(host) or [
                    info[4][0] for info in socket.getaddrinfo(host, port)
                ]

            return Fetcher(limits, resolve=resolve, exempt=frozenset({("127.0.0.1", server.port)}))

        monkeypatch.setattr(images, "fetcher_for", fetcher)
        yield server, internal


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FeedServer, FeedServer]]:
    with image_servers(monkeypatch) as both:
        yield both


def image_site(scratch: Scratch, server: FeedServer, fetch: bool = True) -> None:
    scratch.config(
        f"""\
        base_url = "https://site.test/"
        search = false
        [images]
        fetch = {"true" if fetch else "false"}
        widths = [160, 320, 640]
        max_bytes = {MAX_BYTES}
        timeout = 1
        max_pixels = 10000000
        concurrency = 4
        """
    )
    urls = [server.url(p, host="img.test") for p in [*GOOD, *BAD]]
    urls += [f"http://private.test:{server.port}/photo.jpg", server.url("/logo.svg", "img.test")]
    urls += ["/pics/local.png"]
    for i, url in enumerate(urls):
        logo = server.url("/logo.png", host="img.test")
        extra = f"images:\n  - url: {url}\n    width: 10\n    height: 10\n"
        text = record_text(title=f"Story {i}", when=f"2026-11-{10 + i:02d}T09:00:00Z", extra=extra)
        text = text.replace("  domain:", f"  images:\n    - url: {logo}\n  domain:", 1)
        scratch.add(f"s{i:02d}.md", text)
    (scratch.root / "static" / "pics").mkdir(parents=True)
    (scratch.root / "static" / "pics" / "local.png").write_bytes(picture((700, 350), "PNG", "RGBA"))


def story_images(root: Path) -> dict[str, dict[str, str]]:
    """Each story page's main image element's attributes, by the story's title."""
    found = {}
    for page in sorted((root / "news").rglob("index.html")):
        soup = parse(page)
        img = soup.select_one(".story-image img")
        if img is not None:
            attrs = {k: " ".join(v) if isinstance(v, list) else v for k, v in img.attrs.items()}
            source = soup.select_one(".story-image picture source")
            if source is not None:
                attrs["avif"] = f"{source['type']} {source['srcset']} ({source['sizes']})"
            found[soup.h1.get_text()] = attrs
    return found


def by_url(root: Path, server: FeedServer) -> dict[str, dict[str, str]]:
    """The story image of the record whose image was `path`, by path (the title's number)."""
    paths = [*GOOD, *BAD, "private", "/logo.svg", "/pics/local.png"]
    shown = story_images(root)
    return {path: shown[f"Story {i}"] for i, path in enumerate(paths)}


def test_remote_images_are_fetched_once_resized_and_survive_the_host(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with image_servers(monkeypatch) as (server, internal):
        image_site(scratch, server)
        caplog.set_level(logging.WARNING)
        report = scratch.build()
    # The servers are stopped from here on.
    assert not report.failed
    shown = by_url(scratch.output, server)
    for path in [*GOOD, "/pics/local.png"]:
        img = shown[path]
        if "srcset" in img:
            srcset = [part.split() for part in img["srcset"].split(", ")]
            assert img["sizes"], path
        else:  # one copy (the 50 px logo): nothing for the browser to choose from
            srcset = [[img["src"], f"{img['width']}w"]]
            assert path == "/logo.png"
        assert img["width"] and img["height"], path
        assert img["style"].startswith("background-color:#")
        for url, width in srcset:
            assert url.startswith("/images/") and url.endswith(f"-{width[:-1]}.webp")
            assert (scratch.output / url.lstrip("/")).is_file()
            with Image.open(scratch.output / url.lstrip("/")) as copy:
                assert f"{copy.width}w" == width and copy.format == "WEBP"
        assert [w for _, w in srcset][-1] == f"{min(640, int(img['width']))}w"
    assert shown["/photo.jpg"]["width"] == "1600" and shown["/photo.jpg"]["height"] == "900"
    assert [w for _, w in (p.split() for p in shown["/photo.jpg"]["srcset"].split(", "))] == [
        "160w",
        "320w",
        "640w",
    ]
    assert shown["/chart.png"]["srcset"].endswith(" 300w")  # never wider than the original
    if AVIF:
        avif = shown["/photo.jpg"]["avif"]
        assert avif.startswith("image/avif /images/") and avif.endswith(
            ".avif 640w (" + shown["/photo.jpg"]["sizes"] + ")"
        )
    # Hostile or broken: linked where it is, no srcset, and the build went on.
    for path in [*BAD, "private", "/logo.svg"]:
        assert "srcset" not in shown[path], path
        assert shown[path]["src"].startswith("http://"), path
    assert internal.requests == []
    assert "/logo.svg" not in server.paths()  # remote SVG: never fetched, never rasterised
    assert server.paths().count("/logo.png") == 1  # the logo of every story, fetched once
    # Kept alive: a connection per fetching thread (4), and one more for each of the four
    # answers that close theirs (404, drip, declared-big, endless).
    assert server.connections <= 4 + 4 < len(server.requests)
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("images from")]
    assert len(warnings) == 2, warnings  # one per host: img.test and private.test
    img_test = next(w for w in warnings if "img.test" in w)
    assert f"{len(BAD)} not fetched" in img_test
    assert any("private.test" in w and "10.0.0.7, a private address" in w for w in warnings)
    # The logo, resized, in the byline of the list pages: drawn at 16 px, so its one copy
    # (50 px, its original's width) is all a screen can use, without srcset or <picture>.
    logo = parse(scratch.output / "index.html").select_one(".source img")
    assert logo["src"].endswith("-50.webp") and logo["width"] == "16"
    assert "srcset" not in logo.attrs and logo.parent.name != "picture"
    # A card's 88 px thumbnail: the copies up to 3 device pixels per CSS pixel, no more.
    home = parse(scratch.output / "index.html")
    thumbs = [img for img in home.select("img.card-image") if "srcset" in img.attrs]
    assert thumbs and all(img["sizes"] == "88px" for img in thumbs)
    widths = {tuple(p.split()[1] for p in img["srcset"].split(", ")) for img in thumbs}
    assert ("160w", "320w") in widths and all(w[-1] in ("200w", "300w", "320w") for w in widths)
    for source in home.select("picture source"):  # AVIF, where Pillow writes it: the same
        assert source["srcset"].count(" ") <= 3 or source["sizes"] != "88px"

    # Host gone, output and build state gone: the same site from the image cache alone.
    first = tree(scratch.output)
    requests = len(server.requests)
    shutil.rmtree(scratch.output)
    for state in (scratch.root / ".masthead-cache").iterdir():
        if state.name != "images":
            shutil.rmtree(state) if state.is_dir() else state.unlink()
    assert not scratch.build().failed
    assert tree(scratch.output) == first
    assert len(server.requests) == requests


@pytest.mark.parametrize("path", sorted(BAD))
def test_each_hostile_case_has_its_documented_outcome(
    tmp_path: Path,
    servers: tuple[FeedServer, FeedServer],
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    """The stage alone, one URL at a time (the build with all of them is above): no
    picture, so pages link the URL where it is, and the warning says why."""
    server, _ = servers
    config = ImagesConfig(fetch=True, max_bytes=MAX_BYTES, timeout=1, max_pixels=10_000_000)
    caplog.set_level(logging.WARNING)
    url = server.url(path, host="img.test")
    made = images.run_image_stage(config, tmp_path, Assets({}, {}), {"": [url]}, jobs=1)
    assert made.pictures == {} and made.files == {}
    assert BAD[path] in caplog.text


def test_without_fetching_remote_images_are_linked_as_before(
    scratch: Scratch, servers: tuple[FeedServer, FeedServer]
) -> None:
    server, _ = servers
    image_site(scratch, server, fetch=False)
    assert not scratch.build().failed
    assert server.requests == []
    shown = by_url(scratch.output, server)
    photo = shown["/photo.jpg"]
    assert photo["src"] == server.url("/photo.jpg", "img.test") and "srcset" not in photo
    assert (photo["width"], photo["height"]) == ("10", "10")  # the record's, as before
    assert "srcset" in shown["/pics/local.png"]  # static/ images are resized all the same


@pytest.mark.parametrize(
    ("mode", "fmt", "frames"),
    [("CMYK", "JPEG", 1), ("P", "GIF", 3), ("PA", "PNG", 1), ("I;16", "PNG", 1), ("LA", "PNG", 1)],
)
def test_odd_modes_and_animations_convert_cleanly(
    tmp_path: Path, mode: str, fmt: str, frames: int
) -> None:
    from masthead.outputs.imagework import Job, run_jobs

    source = tmp_path / "original"
    if mode == "PA":
        out = io.BytesIO()
        Image.new("P", (120, 80)).save(out, "PNG", transparency=0)
        source.write_bytes(out.getvalue())
    elif mode == "I;16":
        out = io.BytesIO()
        Image.new("I;16", (120, 80), 40000).save(out, "PNG")
        source.write_bytes(out.getvalue())
    else:
        source.write_bytes(picture((120, 80), fmt, mode, frames))
    [made] = run_jobs([Job(source, "k", (64, 320), ("webp",), tmp_path, 70, 10**6)])
    assert not isinstance(made, str), made
    original, copies = made
    assert (original.width, original.height) == (120, 80)
    assert [name for name, _, _ in copies] == ["k-64.webp", "k-120.webp"]
    with Image.open(tmp_path / "k-64.webp") as copy:
        assert copy.size == (64, 43) and copy.mode in ("RGB", "RGBA")
        assert getattr(copy, "n_frames", 1) == 1


def test_a_changed_static_image_gets_new_copies_and_the_old_ones_go(scratch: Scratch) -> None:
    """The copies' names come from the original's bytes: an edited image under static/
    is a new name on every page showing it (no stale copy served from a year-long cache),
    and the old copies leave the output."""
    scratch.config("[images]\nwidths = [100, 200]\nformats = ['webp']\n")
    scratch.add("a.md", record_text(extra="images:\n  - url: /pics/a.png\n"))
    static = scratch.root / "static" / "pics" / "a.png"
    static.parent.mkdir(parents=True)
    static.write_bytes(picture((300, 150), "PNG"))
    scratch.build()
    page = next(scratch.output.glob("news/**/index.html"))
    before = parse(page).select_one(".story-image img")["srcset"]
    static.write_bytes(picture((400, 100), "PNG", "RGBA"))
    scratch.build()
    img = parse(page).select_one(".story-image img")
    assert img["srcset"] != before and (img["width"], img["height"]) == ("400", "100")
    for part in img["srcset"].split(", "):
        assert (scratch.output / part.split()[0].lstrip("/")).is_file()
    assert not (scratch.output / before.split()[0].lstrip("/")).exists()
    assert sorted(p.name for p in (scratch.output / "images").iterdir()) == sorted(
        part.split()[0].rsplit("/", 1)[1] for part in img["srcset"].split(", ")
    )


def test_a_template_s_own_picture_is_linked_as_written_and_never_goes_stale(
    scratch: Scratch,
) -> None:
    """A URL a template passes to img() as text is not a record's image: no page's
    fingerprint follows its copies. Linked as written, it still leads to a file after
    the copies of the record showing the same picture changed and the old ones left."""
    scratch.config("[images]\nwidths = [100, 200]\nformats = ['webp']\n")
    scratch.add("a.md", record_text(extra="images:\n  - url: /pics/a.png\n"))
    static = scratch.root / "static" / "pics" / "a.png"
    static.parent.mkdir(parents=True)
    static.write_bytes(picture((300, 150), "PNG"))
    scratch.template(
        "404.html", "<!doctype html><title>Lost</title>{{ img('/pics/a.png', '100px') }}"
    )
    scratch.build()
    static.write_bytes(picture((400, 100), "PNG", "RGBA"))
    scratch.build()
    (img,) = parse(scratch.output / "404.html").select("img")
    shown = [img["src"], *(part.split()[0] for part in img.get("srcset", "").split(", ") if part)]
    assert [url for url in shown if not (scratch.output / url.lstrip("/")).is_file()] == []
    assert shown == ["/pics/a.png"]
    story = parse(next(scratch.output.glob("news/**/index.html"))).select_one(".story-image img")
    assert "srcset" in story.attrs  # the record's own image still has its copies


def test_a_build_that_patched_one_story_fetches_no_image_that_other_pages_show(
    scratch: Scratch, servers: tuple[FeedServer, FeedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image that failed is tried again by a full build only: a build that patched
    another story keeps the other pages as they are, so making that image local there
    would leave its pages linking it remotely beside copies no page shows (and make the
    output depend on the clock: the failure is remembered for a day)."""
    server, _ = servers
    scratch.config(
        'base_url = "https://site.test/"\nsearch = false\n'
        '[images]\nfetch = true\nwidths = [160]\nformats = ["webp"]\ntimeout = 2\n'
    )
    late = server.url("/late.jpg", host="img.test")  # no route yet: HTTP 404
    scratch.add("s.md", record_text(title="Sealed", extra=f"images:\n  - url: {late}\n"))
    tidal = {"when": "2026-11-17T09:00:00Z", "url": "https://news.example/tidal"}
    scratch.add("t.md", record_text(title="Tidal", **tidal))
    assert not scratch.build().failed
    server.routes["/late.jpg"] = respond(GOOD["/photo.jpg"][0], "image/jpeg")
    monkeypatch.setattr(images, "RETRY_AFTER", 0)  # a day later
    scratch.add("t.md", record_text(title="Tidal bore", **tidal))
    report = scratch.build()
    assert not report.failed and "model" not in report.timings, report.timings  # patched
    remote, local = set(), set()  # the pages showing the image where it is, or copies
    for page in scratch.output.rglob("*.html"):
        for img in parse(page).select("img"):
            if img["src"] == late:
                remote.add(page.relative_to(scratch.output).as_posix())
            elif img.get("srcset"):
                local.add(page.relative_to(scratch.output).as_posix())
    assert remote and not local, local  # as the full build left them
    assert not (scratch.output / "images").exists()
    assert "/late.jpg" not in server.paths()[1:]


def test_a_build_that_patched_a_story_s_image_leaves_no_copy_of_the_old_one(
    scratch: Scratch, servers: tuple[FeedServer, FeedServer]
) -> None:
    """A story's image changed on the fast path (the stored model patched): the output's
    copies are those its pages show, as after a full build."""
    server, _ = servers
    scratch.config('search = false\n[images]\nfetch = true\nwidths = [100]\nformats = ["webp"]\n')
    story = {"title": "Sealed", "url": "https://news.example/sealed"}
    for path in ("/photo.jpg", "/still.webp"):
        image = f"images:\n  - url: {server.url(path, host='img.test')}\n"
        scratch.add("s.md", record_text(**story, extra=image))
        report = scratch.build()
    assert not report.failed and "model" not in report.timings, report.timings  # patched
    shown = set()
    for page in scratch.output.rglob("*.html"):
        for img in parse(page).select("img"):  # one width: a copy is its src, no srcset
            assert "srcset" not in img.attrs
            if img["src"].startswith("/images/"):
                shown.add(img["src"].lstrip("/"))
    made = {p.relative_to(scratch.output).as_posix() for p in scratch.output.glob("images/*")}
    assert len(shown) == 1 and made == shown


def test_one_file_written_from_several_threads_at_once_is_whole(tmp_path: Path) -> None:
    """The fetch pool's threads keep originals: two URLs with the same bytes (a logo under
    two addresses) write one file at once. Neither may fail, nor leave it torn."""
    from masthead.outputs.imagework import write_atomically

    data = picture((400, 300), "PNG")
    start, errors = threading.Barrier(6), []

    def write() -> None:
        start.wait()
        for _ in range(20):
            try:
                write_atomically(tmp_path / "original", data)
            except OSError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (tmp_path / "original").read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["original"]


def test_a_decoder_that_breaks_on_an_image_does_not_stop_the_build(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Hostile bytes can make a decoder raise what it should not (struct.error,
    IndexError...): that image is linked as it is, as when fetching it failed."""
    from masthead.outputs import imagework

    def broken(*args: object) -> bytes:
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(imagework, "encode", broken)
    scratch.config("search = false\n[images]\nwidths = [100]\nformats = ['webp']\n")
    scratch.add("a.md", record_text(extra="images:\n  - url: /pics/a.png\n"))
    static = scratch.root / "static" / "pics" / "a.png"
    static.parent.mkdir(parents=True)
    static.write_bytes(picture((300, 150), "PNG"))
    caplog.set_level(logging.WARNING)
    assert not scratch.build().failed
    img = parse(next(scratch.output.glob("news/**/index.html"))).select_one(".story-image img")
    assert img["src"] == "/pics/a.png" and "srcset" not in img.attrs
    assert "unpack requires a buffer of 4 bytes; linked where it is" in caplog.text


def test_a_new_story_s_image_renders_again_only_the_pages_that_show_it(
    scratch: Scratch, servers: tuple[FeedServer, FeedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page fingerprints take the copies of the images of the stories each page shows,
    not the whole image map: a story added with an image of its own renders again the
    pages that list it, not its topic's neighbours, the other days or the 404 page."""
    from masthead.building import rendering

    server, _ = servers
    scratch.config(
        'base_url = "https://site.test/"\nsearch = false\n'
        '[images]\nfetch = true\nwidths = [160, 320]\nformats = ["webp"]\n'
    )
    photo = f"images:\n  - url: {server.url('/photo.jpg', host='img.test')}\n"
    for i, topic in enumerate(["Climate", "Transport", "Climate", "Health"]):
        when = f"2026-11-{10 + i:02d}T09:00:00Z"
        text = record_text(title=f"Story {i}", when=when, topics=(topic,), extra=photo)
        scratch.add(f"s{i}.md", text)
    assert not scratch.build().failed
    rendered: list[str] = []
    render_output = rendering.render_output
    monkeypatch.setattr(
        rendering,
        "render_output",
        lambda env, spec, *args: rendered.append(spec.url) or render_output(env, spec, *args),
    )
    still = f"images:\n  - url: {server.url('/still.webp', host='img.test')}\n"
    when = "2026-11-20T09:00:00Z"
    scratch.add(
        "newcomer.md", record_text(title="Newcomer", when=when, topics=("Transport",), extra=still)
    )
    report = scratch.build()
    assert not report.failed and "model" in report.timings  # every page fingerprinted
    assert {"/", "/topics/transport/", "/news/2026/11/20/newcomer/"} <= set(rendered)
    for url in ["/topics/climate/", "/topics/health/", "/editions/2026-11-10/", "/404.html"]:
        assert url not in rendered, url
    img = parse(scratch.output / "news/2026/11/20/newcomer/index.html").select_one(
        ".story-image img"
    )
    srcset = [part.split() for part in img["srcset"].split(", ")]
    assert [w for _, w in srcset] == ["160w", "320w"] and (img["width"], img["height"]) == (
        "800",
        "600",
    )
    assert all((scratch.output / u.lstrip("/")).is_file() for u, _ in srcset)
    # Nothing a page shows was left behind: the same as a build from nothing.
    assert tree(scratch.output) == tree(
        scratch.build(output_dir=scratch.root / "fresh", use_cache=False).output_dir
    )


def test_prune_drops_only_the_originals_no_record_shows(
    scratch: Scratch, servers: tuple[FeedServer, FeedServer]
) -> None:
    """The image cache keeps every image it fetched (a provider's link may die), unless
    `prune` is on: then a full build drops the originals and copies of images no record
    shows, and keeps every one a record still shows."""
    from masthead.hashing import bytes_digest

    server, _ = servers
    config = 'search = false\n[images]\nfetch = true\nwidths = [100]\nformats = ["webp"]\n'
    scratch.config(config)
    image = "images:\n  - url: {}\n".format
    scratch.add(
        "a.md", record_text(title="Kept", extra=image(server.url("/photo.jpg", "img.test")))
    )
    scratch.add(
        "b.md", record_text(title="Swapped", extra=image(server.url("/still.webp", "img.test")))
    )
    assert not scratch.build().failed
    scratch.add(
        "b.md", record_text(title="Swapped", extra=image(server.url("/chart.png", "img.test")))
    )
    cache = scratch.root / ".masthead-cache" / "images"

    def originals() -> set[str]:
        return {p.name for p in (cache / "originals").glob("*/*")}

    sha = {
        path: bytes_digest(GOOD[path][0]) for path in ("/photo.jpg", "/still.webp", "/chart.png")
    }
    assert not scratch.build(use_cache=False).failed  # a full build, prune off: all kept
    assert originals() == set(sha.values())
    scratch.config(config + "prune = true\n")
    assert not scratch.build(use_cache=False).failed
    assert originals() == {sha["/photo.jpg"], sha["/chart.png"]}
    shown = set()
    for page in scratch.output.rglob("*.html"):
        shown |= {
            img["src"].rsplit("/", 1)[1] for img in parse(page).select("img[src^='/images/']")
        }
    assert {p.name for p in (cache / "copies").iterdir()} == shown and len(shown) == 2
    index = (cache / "index.json").read_text()
    assert "/still.webp" not in index and "/photo.jpg" in index
    requests = len(server.requests)  # what is still shown comes from the cache alone
    assert not scratch.build(output_dir=scratch.root / "again", use_cache=False).failed
    assert len(server.requests) == requests
