"""The email edition: each daily edition's top stories as an email, beside its web page.

Like editions.py this only regroups articles; the templates `email.html` and `email.txt`
make the email of it, and the finishers here turn their output into what mail clients
need: CSS inlined into style attributes (Gmail and Outlook drop most <style> rules) and
plain text without stray blank lines. The pages are planned as any other output, so
the build cache and the page fingerprints cover them (plan.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from masthead.config import SiteConfig
from masthead.model.editions import Edition, EditionSection
from masthead.model.site import Article

HTML_FILE = "email.html"
TEXT_FILE = "email.txt"
MAX_BYTES = 100 * 1024
"""Gmail clips a message whose HTML is larger than about 102 KB; this stays below it."""


def is_web_page(rel: str) -> bool:
    """Is output file `rel` a page of the site, which the build's summary counts? The
    email editions are HTML too, but mail."""
    return rel.endswith(".html") and rel.rpartition("/")[2] != HTML_FILE


@dataclass(frozen=True, slots=True)
class Newsletter:
    """One day's email: the edition's best stories, in the edition's sections."""

    day: date
    url: str
    """The web edition."""
    sections: tuple[EditionSection, ...]
    """Only the stories the email shows, each under the topic the web edition gives it."""
    count: int
    """How many stories the web edition has (the email may show fewer)."""

    @property
    def title(self) -> str:
        return f"{self.day:%A} {self.day.day} {self.day:%B %Y}"

    @property
    def articles(self) -> tuple[Article, ...]:
        return tuple(a for section in self.sections for a in section.articles)

    @property
    def lead(self) -> Article:
        """The day's best story: the web edition's sections follow their best story."""
        return self.sections[0].articles[0]


def of_edition(edition: Edition, stories: int) -> Newsletter:
    """The edition's `stories` best stories, grouped as the web edition groups them."""
    shown = {id(a) for a in edition.articles[:stories]}
    sections = []
    for section in edition.sections:
        kept = tuple(a for a in section.articles if id(a) in shown)
        if kept:
            sections.append(EditionSection(section.topic, kept))
    return Newsletter(edition.day, edition.url, tuple(sections), len(edition.articles))


def sender(config: SiteConfig) -> tuple[str, str]:
    """(name, address) for the From header: from `[newsletter]`, else the site's."""
    settings = config.newsletter
    host = urlsplit(config.base_url).hostname or "localhost"
    return settings.sender_name or config.title, settings.sender_address or f"newsletter@{host}"


def unsubscribe_url(config: SiteConfig) -> str:
    """The sending service's placeholder when configured, else a mailto: to the sender."""
    return config.newsletter.unsubscribe_url or f"mailto:{sender(config)[1]}?subject=unsubscribe"


def email_context(config: SiteConfig, letter: Newsletter) -> dict[str, Any]:
    """A page context for both templates; the inliner's version is part of it, so a new
    css-inline (which may inline differently) renders the emails again."""
    return {
        "kind": "email",
        "newsletter": letter,
        "unsubscribe_url": unsubscribe_url(config),
        "inliner": _inliner_version(),
    }


@cache
def _inliner_version() -> str:
    from importlib.metadata import version

    return f"css-inline {version('css-inline')}"


@cache
def _inliner() -> Any:
    import css_inline

    # @media rules (dark scheme, narrow screens) cannot be inlined: they stay in a <style>
    # for the clients that honour them. Nothing is ever fetched.
    return css_inline.CSSInliner(
        keep_at_rules=True, load_remote_stylesheets=False, keep_link_tags=False
    )


def inline_css(html: str) -> str:
    """email.html's output with its <style> rules moved into style attributes."""
    import css_inline

    try:
        inlined = str(_inliner().inline(html))
    except (css_inline.InlineError, ValueError) as exc:
        from masthead.outputs.render import (
            TemplateError,  # render imports the plan, which imports this
        )

        raise TemplateError(f"{HTML_FILE}: cannot inline its CSS: {exc}") from exc
    return _charset_first(inlined).rstrip("\n") + "\n"  # as the message's part ends


def _charset_first(html: str) -> str:
    """The <meta charset> back at the start of <head>: the inliner puts the @media rules
    it keeps there, and a browser looks for the charset in the first 1024 bytes only."""
    head = html.find("<head>")
    if head < 0 or html.find(_CHARSET) < 0:
        return html
    start = head + len("<head>")
    return html[:start] + _CHARSET + html[start:].replace(_CHARSET, "", 1)


_CHARSET = '<meta charset="utf-8">'


_BLANK_RUNS = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    """email.txt's output without trailing spaces or runs of blank lines, which the
    template's loops leave behind and which show in a plain-text mail reader."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = ["-- " if line == "--" else line for line in lines]  # the signature separator
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"
