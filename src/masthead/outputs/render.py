"""Jinja environment and page rendering; templates receive plain views, never the builder."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from masthead.config import SiteConfig
from masthead.diagnostics import MastheadError, shown_path
from masthead.model.site import TAXONOMIES
from masthead.model.sitepaths import site_key
from masthead.outputs import jsonld
from masthead.outputs.images import MEDIA_TYPE, ImageMap, Picture
from masthead.outputs.memo import IdentityMemo, Memos
from masthead.outputs.plan import PageSpec
from masthead.outputs.wordwrap import wordwrap
from masthead.upstream import COMPILED_TEMPLATE_PATTERN, EscapeTextCodeGenerator, escape_text
from masthead.urls import absolute_link, absolute_url, feed_url, under_base, under_base_path


class TemplateError(MastheadError):
    """A template is missing, does not parse or fails while rendering."""


def theme_dir() -> Path:
    """The built-in theme: inside the installed package, or the repository's templates/."""
    packaged = resources.files("masthead") / "theme"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "templates"  # a source checkout


def make_env(
    config: SiteConfig,
    site_templates: Path | None,
    cache_dir: Path | None = None,
    assets: Mapping[str, str] | None = None,
) -> jinja2.Environment:
    """An autoescaping environment where the site's templates override the theme's by name.

    With `cache_dir`, compiled templates are kept there (Jinja's bytecode cache), so a
    build does not recompile templates that did not change. `assets` maps a name under
    assets/ to the URL of its (content-hashed) output file.
    """
    theme = theme_dir().resolve()
    search = [theme]
    if site_templates is not None and site_templates.is_dir() and site_templates.resolve() != theme:
        search.insert(0, site_templates)
    env = _Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # one environment per build: templates cannot change under it
        cache_size=-1,  # a plain dict of the few templates, without LRUCache's lock per lookup
        bytecode_cache=_bytecode_cache(cache_dir),
    )
    base_path = config.base_path

    def url(path: str) -> str:
        """Site-relative path (`/news/...`) to a link that works under base_url's sub-path."""
        return under_base(base_path, path)

    def link(target: str) -> str:
        """A record's URL: site-relative ones get the base path, http(s) ones stay as they are."""
        return url(target) if target.startswith("/") else target

    def asset(name: str) -> str:
        """Link to `assets/<name>` under the name the build gave it (content-hashed for css/js)."""
        if assets is None or name not in assets:
            raise jinja2.TemplateRuntimeError(f"asset({name!r}): no such file in assets/")
        return url(assets[name])

    nav = tuple((spec.title, getattr(config.urls, spec.name)) for spec in TAXONOMIES)
    # The link makers are filters too (`{{ article.url | url }}`): Jinja calls a filter
    # directly, a global through Context.call, which costs more than the call itself and
    # adds up over the tens of links on every page. The theme uses the filters.
    links = {
        "url": url,
        "link": link,
        "abs_url": partial(absolute_url, config),
        "abs_link": partial(absolute_link, config),
    }
    env.globals.update(
        links,
        cached=fragment_cache(),
        config=config,
        asset=asset,
        nav=nav,
        feed_url=feed_url,
        news_article_ld=partial(jsonld.news_article, config),
        item_list_ld=partial(jsonld.item_list, config),
    )
    env.filters.update(
        links,
        human_date=human_date,
        short_date=short_date,
        clock=clock,
        host=host,
        iso=lambda d: d.isoformat(),
    )
    pictures = _Pictures(base_path, link)
    env.extend(pictures=pictures)
    env.globals["img"] = pictures.img
    missing = MissingPaths()
    env.extend(missing_paths=missing)
    env.tests["available"] = missing.available
    env.filters["body_html"] = partial(missing.body_html, base_path)
    env.filters["initials"] = initials
    env.filters["wordwrap"] = wordwrap
    return env


def set_missing_paths(env: jinja2.Environment, missing: frozenset[str]) -> None:
    """Tell `env`'s templates which site paths lead nowhere (sitepaths.check_site_paths);
    set once per build, before its pages render."""
    env.missing_paths.paths = missing  # type: ignore[attr-defined]


def set_images(env: jinja2.Environment, images: ImageMap) -> None:
    """Give `env`'s `img()` this build's resized copies (images.py); set once per build,
    before its pages render. Without, every image is linked where its record says."""
    env.pictures.images = images  # type: ignore[attr-defined]
    env.pictures.made.clear()  # type: ignore[attr-defined]


class _Pictures:
    """`{{ img(image, sizes) }}`: an image element with the copies the image stage made.

    With copies: `srcset` and `sizes` (in a `<picture>` with an AVIF `<source>` when
    there are AVIF copies), the original's `width` and `height` so the page does not
    jump, and its average colour as the background until it loads. Without: the URL as
    the record gives it, and the record's width and height, as before the stage.

    An image drawn at a fixed size (`sizes` in px: a logo, a thumbnail) lists only the
    copies a screen of up to 3 device pixels per CSS pixel can use (the browser would
    pick no other), and one small enough for a single copy is a plain `<img>`: AVIF
    saves a few hundred bytes there, less than its `<source>` costs every page.
    The markup of each picture and layout is made once per process: a logo or a card
    image is on many pages, and a build at 10,000 stories calls this 50,000 times.
    """

    MADE_MAX = 20_000
    """Elements kept for reuse (a few hundred bytes each); past that, made afresh."""

    def __init__(self, base_path: str, link: Any) -> None:
        self.base_path = base_path
        self.under = str(escape(under_base(base_path, "")))
        """The copies' paths (`/images/<hex>-<width>.<suffix>`) need no escaping: this does."""
        self.link = link
        self.images = ImageMap()
        self.made: dict[tuple[Any, ...], Markup] = {}

    def img(
        self, image: Any, sizes: str = "100vw", *, width: int | None = None,
        height: int | None = None, alt: str = "", **attrs: Any,
    ) -> Markup:  # fmt: skip
        """`attrs` become attributes (`class`, `loading`, `fetchpriority`...), in order;
        `width` and `height` override the image's (a logo drawn at a fixed size).

        A URL given as text (a template's own picture) is linked as written, never
        through a copy: a page's fingerprint knows the images of the records it shows,
        not a template's, and a copy that goes stale would leave its pages pointing at a
        file no longer there."""
        text = isinstance(image, str)
        url = image if text else image.url
        picture = None if text else self.images.pictures.get(url)
        if picture is None:
            w = width or getattr(image, "width", None)
            h = height or getattr(image, "height", None)
            head = f'<img src="{escape(self.link(url))}" alt="{escape(alt)}"'
            return Markup(head + _size(w, h) + _attributes(attrs) + ">")
        try:
            key = (picture.key, sizes, width, height, alt, *attrs.items())
            found = self.made.get(key)
        except TypeError:  # an unhashable attribute value: made each time
            return self._element(picture, sizes, width, height, alt, attrs)
        if found is None:
            found = self._element(picture, sizes, width, height, alt, attrs)
            if len(self.made) >= self.MADE_MAX:
                self.made.clear()
            self.made[key] = found
        return found

    def _element(
        self, picture: Picture, sizes: str, width: int | None, height: int | None,
        alt: str, attrs: dict[str, Any],
    ) -> Markup:  # fmt: skip
        fixed = _FIXED.fullmatch(sizes)
        sources = picture.sources
        if fixed:
            sources = tuple((f, _enough(c, 3 * int(fixed[1]))) for f, c in sources)
        fallback = sources[-1][1]
        sizes_attr = f' sizes="{escape_text(sizes)}"'
        if len(fallback) == 1:  # one copy: no choice for the browser to make
            src, chosen, sources = fallback[0][1], "", ()
        else:
            largest = fallback[-1][1]
            src = largest if fixed else next((p for w, p in fallback if w >= 640), largest)
            chosen = f' srcset="{self._srcset(fallback)}"{sizes_attr}'
        alternatives = "".join(
            [
                f'<source type="{MEDIA_TYPE[fmt]}" srcset="{self._srcset(copies)}"{sizes_attr}>'
                for fmt, copies in sources[:-1]
            ]
        )
        if width and not height:
            height = max(1, round(picture.height * width / picture.width))
        others = "".join(
            [f' {escape_text(k)}="{escape_text(v)}"' for k, v in attrs.items() if v is not None]
        )
        element = (
            f'<img src="{self.under}{src[1:]}"{chosen} alt="{escape_text(alt)}"'
            f"{_size(width or picture.width, height or picture.height)}{others}"
            f' style="background-color:{picture.colour}">'
        )
        return Markup(f"<picture>{alternatives}{element}</picture>" if alternatives else element)

    def _srcset(self, copies: tuple[tuple[int, str], ...]) -> str:
        under = self.under
        return ", ".join([f"{under}{p[1:]} {w}w" for w, p in copies])


_FIXED = re.compile(r"(\d{1,4})px")
"""`sizes` of an image drawn at one width whatever the screen (a logo, a thumbnail)."""


def _enough(copies: tuple[tuple[int, str], ...], need: int) -> tuple[tuple[int, str], ...]:
    """`copies` (by width, ascending) up to the first at least `need` pixels wide."""
    for i, (w, _path) in enumerate(copies):
        if w >= need:
            return copies[: i + 1]
    return copies


def _size(width: int | None, height: int | None) -> str:
    return (f' width="{width}"' if width else "") + (f' height="{height}"' if height else "")


def _attributes(attrs: dict[str, Any]) -> str:
    return "".join(
        f' {escape(name)}="{escape(value)}"' for name, value in attrs.items() if value is not None
    )


class MissingPaths:
    """The site paths of this build that lead nowhere, for the templates' test and filter,
    and for the search index's pages, which leave out the same images (search_records)."""

    def __init__(self, paths: frozenset[str] = frozenset()) -> None:
        self.paths = paths

    def available(self, value: Any) -> bool:
        """`{% if image is available %}`: there is an image (or URL), and it does not
        lead nowhere on this site; a full URL elsewhere is taken on trust."""
        if not value:
            return False
        url = value if isinstance(value, str) else getattr(value, "url", None)
        return not (self.paths and isinstance(url, str) and site_key(url) in self.paths)

    def body_html(self, base_path: str, record: Any) -> Markup:
        """`{{ record | body_html }}`: the body without the images that lead nowhere."""
        html = under_base_path(record.body_html, base_path)
        if self.paths:
            for url in record.body_images:
                if site_key(url) in self.paths:
                    html = _without_image(html, under_base(base_path, url))
        return Markup(html)


def _without_image(html: str, src: str) -> str:
    """`html` (markdown-it's output) without its `<img>` elements whose src is `src`."""
    from markdown_it.common.utils import escapeHtml  # as markdown-it wrote the attribute

    return re.sub(r'<img src="' + re.escape(escapeHtml(src)) + r'"[^>]*>', "", html)


def initials(name: str) -> str:
    """`{{ provider.name | initials }}`: up to two letters for a badge drawn where a
    provider has no logo to show (`The Verge` -> `TV`, `cnn.com` -> `C`)."""
    if "." in name and not any(c.isspace() for c in name):
        name = name.split(".")[0]  # a domain: its first label
    words = [w for w in re.split(r"[\s\-_/]+", name) if w and w[0].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


class _Environment(jinja2.Environment):
    code_generator_class = EscapeTextCodeGenerator

    def make_globals(self, d: Any) -> Any:
        """A plain dict rather than Jinja's ChainMap of template and environment globals.

        Every `{% from ... import %}` on every page compares the page's globals with the
        template's, and ChainMap lookups, in Python, were 15% of an article page's time.
        make_env sets all globals before the first template loads, so a copy is current.
        """
        return {**self.globals, **(d or {})}


def _render_macro(macro: jinja2.runtime.Macro, *args: Any) -> Markup:
    return Markup(macro(*args))


def fragment_cache() -> IdentityMemo[Markup]:
    """`cached(macro, *args)` in templates: the macro's output, rendered once per build.

    A story card appears on a dozen list pages and the site header on every page. The
    macro itself is part of the key, and one imported `with context` is a new object
    on every page, so a macro that reads the page's context is never reused by mistake.
    """
    return IdentityMemo(_render_macro)


def _bytecode_cache(cache_dir: Path | None) -> jinja2.BytecodeCache | None:
    if cache_dir is None:
        return None
    folder = cache_dir / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # templates are compiled each time; the build says why at its end
    return _BytecodeCache(str(folder), pattern=COMPILED_TEMPLATE_PATTERN)


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache, except that a file it cannot read or write (a full disk)
    means compiling the template, never a failed build: the cache only saves time."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
"""What `%B` gives in the C locale, which Python keeps unless told otherwise; looked up
here because strftime costs several times more, and a page shows a dozen dates."""


def human_date(when: datetime, with_time: bool = False) -> str:
    text = f"{when.day} {_MONTHS[when.month - 1]} {when.year}"
    return f"{text}, {when.hour:02}:{when.minute:02}" if with_time else text


def short_date(when: datetime) -> str:
    """`3 Dec 2026, 14:05`: a story's time in a dense list."""
    return f"{when.day} {_MONTHS[when.month - 1][:3]} {when.year}, {when.hour:02}:{when.minute:02}"


def clock(when: datetime) -> str:
    """`14:05 CET`: the time of day with the zone it is shown in."""
    return f"{when.hour:02}:{when.minute:02} {when.tzname() or ''}".rstrip()


def host(url: str) -> str:
    """The host a link leads to, without `www.`, for link texts such as "Watch on …"."""
    name = urlsplit(url).hostname or ""
    return name.removeprefix("www.")


def build_memos(env: jinja2.Environment) -> Memos:
    """Memos for one build that renders with `env`, its template fragments among them: an
    environment may serve several builds of the preview, each with a new site model."""
    return Memos(env.globals["cached"])  # type: ignore[arg-type]


def render_output(
    env: jinja2.Environment, spec: PageSpec, config: SiteConfig, memos: Memos
) -> bytes:
    """A planned output's bytes: its serializer's (feeds, sitemap, JSON), else its template's.

    `memos` is this build's (build_memos(env)): what it made once of each story."""
    if spec.serializer is not None:
        return spec.serializer(spec.context["data"], config, memos)
    text = render_page(env, spec.templates, spec.context)
    if spec.finish is not None:
        text = spec.finish(text)
    return text.encode("utf-8")


def render_page(
    env: jinja2.Environment, templates: Sequence[str], context: Mapping[str, Any]
) -> str:
    """Render the first of `templates` that exists (a site can add a more specific one)."""
    try:
        template = env.select_template(list(templates))
        return template.render(context)
    except jinja2.TemplateSyntaxError as exc:
        where = shown_path(exc.filename) if exc.filename else exc.name
        raise TemplateError(f"{where}:{exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}") from exc
    except jinja2.TemplateError as exc:
        # "'masthead.records.loader.Record object' has no attribute 'x'": a Record.
        said = _OUR_OBJECT.sub(r"'\1'", str(exc))
        raise TemplateError(f"{_where(exc)}{said}") from exc
    except Exception as exc:  # a filter or a value's method failing inside a template
        raise TemplateError(f"{_where(exc)}{type(exc).__name__}: {exc}") from exc


_OUR_OBJECT = re.compile(r"'masthead\.[\w.]+\.(\w+) object'")


def _where(exc: BaseException) -> str:
    """file:line of the innermost template frame in a rendering traceback."""
    tb, found = exc.__traceback__, ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".html") or name.endswith(".xml"):
            found = f"{shown_path(name)}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return found
