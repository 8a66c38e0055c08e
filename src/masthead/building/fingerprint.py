"""Page fingerprints: a hash of everything a page's output can depend on.

A page is re-rendered only when its fingerprint changes. The fingerprint covers the
page's URL, the templates it is rendered with (their whole include/extends closure), the
site configuration, masthead's version and every value in its template context, reached
through the model's precomputed digests. A context value of a kind this module does not
know makes the page "unknown", and unknown pages are always re-rendered: when unsure,
rebuild more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import jinja2
from jinja2 import meta

from masthead import __version__
from masthead.config import ImportConfig, SiteConfig
from masthead.hashing import digest_of, text_digest
from masthead.model.site import Article
from masthead.records.loader import Record


class Unknown(Exception):
    """A context value that cannot be fingerprinted."""


def value_key(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A hashable, repr-stable stand-in for `value` that changes whenever `value` does.

    `memo` (by object id) lets one build share the work for objects that many pages
    show, such as an edition on its own page and on the front page; it must not outlive
    the objects it names.
    """
    if value.__class__ in _PLAIN:  # most values: no digest to look for
        return value
    digest = getattr(value, "digest", None)
    if digest.__class__ is str and digest:
        return digest
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if memo is not None:
        found = memo.get(id(value))
        if found is not None:
            return found
    key = _compound_key(value, memo)
    if memo is not None:
        memo[id(value)] = key
    return key


def _compound_key(value: Any, memo: dict[int, Any] | None) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return tuple([value_key(v, memo) for v in value])
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), value_key(v, memo)) for k, v in value.items()))
    names = _FIELDS.get(type(value))
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        return (type(value).__name__, *[value_key(getattr(value, n), memo) for n in names])
    raise Unknown(type(value).__name__)


_FIELDS: dict[type, tuple[str, ...]] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})


def substitute(value: Any, swap: dict[int, Article], memo: dict[int, Any]) -> Any:
    """`value` with each article whose id is in `swap` replaced, rebuilding only the
    tuples, lists, mappings and dataclasses on the way to one (the preview's fast path)."""
    if value is None or isinstance(value, (str, int, float, bool, datetime, date, Record)):
        return value
    key = id(value)
    if key in swap:
        return swap[key]
    if isinstance(value, Article):
        return value
    if key in memo:
        return memo[key]
    result = value
    if isinstance(value, (tuple, list)):
        items = [substitute(v, swap, memo) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            maker = getattr(type(value), "_make", None)
            result = maker(items) if maker else type(value)(items)
    elif isinstance(value, Mapping):
        changed = {k: substitute(v, swap, memo) for k, v in value.items()}
        if any(changed[k] is not v for k, v in value.items()):
            result = changed
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS.get(type(value))
        if names is None:
            names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        changes = {}
        for name in names:
            old = getattr(value, name)
            new = substitute(old, swap, memo)
            if new is not old:
                changes[name] = new
        if changes:
            result = dataclasses.replace(value, **changes)
    memo[key] = result
    return result


def records_in(value: Any, memo: dict[int, tuple[str, ...]]) -> tuple[str, ...]:
    """Paths of every record an output's context can show, however deeply nested.

    The cache keeps this as an index from record to outputs, so that an edit which keeps
    the site's shape re-checks only the outputs that show the edited record. Results are
    tuples without repeats rather than sets: the memo holds one for every list of every
    page, and at 100,000 records sets took a third of a gigabyte.
    """
    if value is None or isinstance(value, (str, int, float, bool, datetime, date)):
        return ()
    found = memo.get(id(value))
    if found is not None:
        return found
    if isinstance(value, Article):
        result: tuple[str, ...] = (value.record.path,)
    elif isinstance(value, Record):
        result = (value.path,)
    else:
        if isinstance(value, Mapping):
            parts: Any = value.values()
        elif isinstance(value, (tuple, list)):
            parts = value
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            names = _FIELDS.get(type(value))
            if names is None:
                names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
            parts = [getattr(value, n) for n in names]
        else:
            parts = ()
        found_in = [records_in(v, memo) for v in parts]
        result = tuple(dict.fromkeys(p for paths in found_in for p in paths))
    memo[id(value)] = result
    return result


def parsing_digest(config: SiteConfig) -> str:
    """What of the config parsing a record depends on: the size limit, the time zone and
    the hosts an embed may come from. Not base_url: links in bodies are put under the
    site's path when pages are rendered, so another base_url parses nothing again."""
    return digest_of(__version__, config.max_record_bytes, config.timezone, config.iframe_hosts)


def config_digest(config: SiteConfig) -> str:
    """What of the config every page depends on: all of it but the [import] table, which
    tells `masthead import` where feeds are and which no page shows."""
    return digest_of(__version__, value_key(dataclasses.replace(config, imports=ImportConfig())))


class TemplateDigests:
    """Digest of the template a page would use plus everything it extends, includes or imports."""

    def __init__(
        self, env: jinja2.Environment, known: Mapping[str, list[str | None]] | None = None
    ) -> None:
        """`known`: template source hash -> templates it references, from the last build."""
        self.env = env
        self.known = known or {}
        self.references: dict[str, list[str | None]] = {}
        """What this build looked up, for the next build's `known`."""
        self._sources: dict[str, str] = {}
        self._selected: dict[tuple[str, ...], str] = {}

    def for_names(self, names: tuple[str, ...]) -> str:
        if names not in self._selected:
            chosen = next((n for n in names if self._source(n) is not None), names[0])
            closure = self._closure(chosen)
            parts = [(name, self._source(name)) for name in sorted(closure)]
            self._selected[names] = digest_of(chosen, parts)
        return self._selected[names]

    def _source(self, name: str) -> str | None:
        if name not in self._sources:
            try:
                self._sources[name] = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                self._sources[name] = None  # type: ignore[assignment]
        return self._sources[name]

    def _references(self, source: str) -> list[str | None]:
        """Templates named by `source`; parsing is the costly part, so it is remembered."""
        key = text_digest(source)
        refs = self.references.get(key, self.known.get(key))
        if refs is None:
            try:
                refs = list(meta.find_referenced_templates(self.env.parse(source)))
            except jinja2.TemplateSyntaxError:
                refs = []
        self.references[key] = refs
        return refs

    def _closure(self, root: str) -> set[str]:
        seen: set[str] = set()
        todo = [root]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            source = self._source(name)
            if source is None:
                continue
            refs = self._references(source)
            if None in refs:  # a dynamic include: any template may be used
                return set(self.env.list_templates())
            todo.extend(r for r in refs if r is not None)
        return seen


def page_fingerprint(
    url: str,
    templates: tuple[str, ...],
    context: Mapping[str, Any],
    base: str,
    digests: TemplateDigests,
    memo: dict[int, Any] | None = None,
) -> str | None:
    """The page's fingerprint, or None when some context value cannot be fingerprinted."""
    try:
        key = value_key(context, memo)
    except Unknown:
        return None
    # Serialised outputs (feeds, sitemap) have no template: their code is masthead's own,
    # covered by the version in `base`.
    template = digests.for_names(templates) if templates else ""
    return digest_of(base, url, template, key)
