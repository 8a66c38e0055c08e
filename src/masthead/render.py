"""Jinja environment and page rendering; templates receive plain views, never the builder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from masthead import jsonld
from masthead.config import SiteConfig
from masthead.diagnostics import MastheadError
from masthead.urls import absolute_link, absolute_url, feed_url, site_path


class TemplateError(MastheadError):
    """A template is missing, does not parse or fails while rendering."""


def theme_dir() -> Path:
    """The built-in theme: inside the installed package, or the repository's templates/."""
    packaged = resources.files("masthead") / "theme"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "templates"  # a source checkout


def make_env(config: SiteConfig, site_templates: Path | None) -> jinja2.Environment:
    """An autoescaping environment where the site's templates override the theme's by name."""
    theme = theme_dir().resolve()
    search = [theme]
    if site_templates is not None and site_templates.is_dir() and site_templates.resolve() != theme:
        search.insert(0, site_templates)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        config=config,
        url=partial(site_path, config),
        abs_url=partial(absolute_url, config),
        abs_link=partial(absolute_link, config),
        feed_url=feed_url,
        news_article_ld=partial(jsonld.news_article, config),
        item_list_ld=partial(jsonld.item_list, config),
    )
    env.filters.update(human_date=human_date, iso=lambda d: d.isoformat())
    return env


def human_date(when: datetime, with_time: bool = False) -> str:
    text = f"{when.day} {when:%B %Y}"
    return f"{text}, {when:%H:%M}" if with_time else text


def render_page(
    env: jinja2.Environment, templates: Sequence[str], context: Mapping[str, Any]
) -> str:
    """Render the first of `templates` that exists (a site can add a more specific one)."""
    try:
        template = env.select_template(list(templates))
        return template.render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_where(exc)}{exc}") from exc


def _where(exc: BaseException) -> str:
    """file:line of the innermost template frame in a rendering traceback."""
    tb, found = exc.__traceback__, ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".html") or name.endswith(".xml"):
            found = f"{name}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return found
