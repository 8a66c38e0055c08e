"""Every integer field refuses booleans: YAML's `true` is a Python int, and must not load as 1.

The class of bug: `isinstance(value, int)` alone lets `quality: true` through as 1 without
a word. Each integer a record or site.toml can hold is tried with both booleans, at every
place it can appear (top level, images, the provider's images, related stories and theirs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.config import SiteConfig, load_config
from masthead.diagnostics import ConfigError, RecordError
from masthead.records.loader import parse_record

CONFIG = SiteConfig()
HEAD = 'title: "T"\npublishedDateTime: 2026-11-18T09:30:00Z\n'
IMG_W = "{url: 'https://img.example/a.png', width: VALUE}"
IMG_H = "{url: 'https://img.example/a.png', height: VALUE}"
REL = "{title: R, webUrl: 'https://r.example/', REST}"

# (front matter with VALUE in the integer's place, the field's dotted name in messages)
INTEGER_PLACES = [
    ("quality: VALUE", "quality"),
    ("heat: VALUE", "heat"),
    (f"images: [{IMG_W}]", "images[0].width"),
    (f"images: [{IMG_H}]", "images[0].height"),
    (f"provider: {{name: P, images: [{IMG_W}]}}", "provider.images[0].width"),
    (f"provider: {{name: P, images: [{IMG_H}]}}", "provider.images[0].height"),
    ("related: [" + REL.replace("REST", "quality: VALUE") + "]", "related[0].quality"),
    ("related: [" + REL.replace("REST", f"images: [{IMG_W}]") + "]", "related[0].images[0].width"),
    ("related: [" + REL.replace("REST", f"images: [{IMG_H}]") + "]", "related[0].images[0].height"),
    (
        "related: [" + REL.replace("REST", f"provider: {{name: P, images: [{IMG_W}]}}") + "]",
        "related[0].provider.images[0].width",
    ),
]


def _parse(line: str) -> object:
    return parse_record(f"---\n{HEAD}{line}\n---\n".encode(), "int.md", CONFIG, [])


@pytest.mark.parametrize(("template", "name"), INTEGER_PLACES, ids=[n for _, n in INTEGER_PLACES])
@pytest.mark.parametrize("value", ["true", "false", "yes", "on", "True"])
def test_a_boolean_in_an_integer_field_is_refused(template: str, name: str, value: str) -> None:
    with pytest.raises(RecordError) as caught:
        _parse(template.replace("VALUE", value))
    message = str(caught.value)
    assert message.startswith("int.md:") and name in message
    assert "boolean" in message and "an integer" in message


@pytest.mark.parametrize(("template", "name"), INTEGER_PLACES, ids=[n for _, n in INTEGER_PLACES])
def test_the_same_places_take_an_integer(template: str, name: str) -> None:
    """The control: the refusals above are about the boolean, not the place."""
    record = _parse(template.replace("VALUE", "7"))
    assert _value_at(record, name) == 7


def _value_at(record: object, dotted: str) -> object:
    value = record
    for part in dotted.replace("[", ".").replace("]", "").split("."):
        value = value[int(part)] if part.isdigit() else getattr(value, part)  # type: ignore[index]
    return value


SITE_INTEGERS = ["page_size", "feed_size", "api_page_size", "lead_stories", "max_record_bytes"]


def test_every_integer_setting_is_listed() -> None:
    """A new integer setting must join SITE_INTEGERS (and so the test below)."""
    import dataclasses

    ints = [f.name for f in dataclasses.fields(SiteConfig) if f.type in ("int", int)]
    assert sorted(ints) == sorted(SITE_INTEGERS)


@pytest.mark.parametrize("name", SITE_INTEGERS)
@pytest.mark.parametrize("value", ["true", "false"])
def test_a_boolean_integer_setting_is_refused(tmp_path: Path, name: str, value: str) -> None:
    (tmp_path / "site.toml").write_text(f"{name} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{name} must be an integer, not a boolean"):
        load_config(tmp_path)
    (tmp_path / "site.toml").write_text(f"{name} = 2048\n", encoding="utf-8")
    assert getattr(load_config(tmp_path), name) == 2048


@pytest.mark.parametrize("kind", ["topics", "providers"])
@pytest.mark.parametrize("field", ["width", "height"])
def test_a_boolean_logo_size_in_site_data_is_not_a_size(
    tmp_path: Path, kind: str, field: str
) -> None:
    """data/*/ files are lenient (a bad size is left out, not fatal), but never read as 1."""
    from masthead.records.data import load_data

    folder = tmp_path / "data" / kind
    folder.mkdir(parents=True)
    for name, value in (("flag", "true"), ("size", "64")):
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nimages:\n  - url: https://img.example/{name}.png\n    {field}: {value}\n",
            encoding="utf-8",
        )
    table = getattr(load_data(tmp_path), kind)
    assert getattr(table["flag"].logo, field) is None
    assert getattr(table["size"].logo, field) == 64
