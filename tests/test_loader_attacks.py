"""The loader under the attacks of issue 14: every anchor and alias shape refused, symlinks
leading out of the site skipped, colliding term slugs kept apart, `secured` never kept
nor quoted, and pathological Markdown bounded.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import feedparser
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from masthead.config import SiteConfig
from masthead.diagnostics import Diagnostic, RecordError
from masthead.records.data import load_data
from masthead.records.loader import MAX_EXCERPT, Record, parse_record
from masthead.records.yamlload import _MAY_HOLD_ANCHOR
from tests import htmlcheck
from tests.conftest import BODY_LINE, EXTRA_LINE, Scratch, record_text

CONFIG = SiteConfig(timezone="Europe/London")


def parse(text: str, config: SiteConfig = CONFIG) -> tuple[Record, list[Diagnostic]]:
    warnings: list[Diagnostic] = []
    return parse_record(text.encode("utf-8"), "r.md", config, warnings), warnings


def error(text: str, config: SiteConfig = CONFIG) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse(text, config)
    return caught.value


# --- Break 2: anchors and aliases --------------------------------------------------------

# Every kind of node an anchor can name, as `field: <anchor> <node>` continues it.
ANCHORED = [
    "&a plain text",
    '&a "double quoted"',
    "&a 'single quoted'",
    "&a 42",
    "&a",  # an anchored empty value (null)
    "&a !!str tagged",
    "!!str &a tagged after",
    "&a [one, two]",
    "&a {k: v}",
    "&a |\n  literal block\n  of text",
    "&a >-\n  folded block",
    "&a\n  - block\n  - list",
    "&a\n  k: block map",
]
# Every place the anchor can sit: a top field's value, a list item, a nested value, a key.
PLACES = [
    "{node}",
    "[x, {node}]",
    "{{n: {node}}}",
]
# Every place an alias can be used.
USES = [
    "copy: *a",
    "copy: [1, *a]",
    "copy: {k: *a}",
    "copy:\n  - *a",
    "copy:\n  k: *a",
    "*a : used as a key",
    "copy: {*a : v}",
    "copy: {? *a : v}",
]


def _anchored_field(anchored: str, place: str) -> str:
    if "\n" in anchored and place != "{node}":
        place = "{node}"  # a block node cannot sit inside a flow collection
    return "base: " + place.format(node=anchored)


@settings(max_examples=150)
@given(
    st.sampled_from(ANCHORED),
    st.sampled_from(PLACES),
    st.sampled_from(USES),
    st.sampled_from(["", "other: 1\n", "title2: x\n"]),
)
def test_every_anchor_and_alias_shape_is_refused_at_its_line(
    anchored: str, place: str, use: str, before: str
) -> None:
    extra = before + _anchored_field(anchored, place) + "\n" + use + "\n"
    text = record_text(extra=extra)
    message = str(error(text))
    line = EXTRA_LINE + before.count("\n")
    assert message.startswith(f"r.md:{line}: YAML anchors and aliases are not allowed"), message
    assert "(expected every value written out" in message


@pytest.mark.parametrize("use", USES)
def test_an_alias_alone_is_refused_at_its_own_line(use: str) -> None:
    text = record_text(extra="one: 1\n" + use + "\n")
    line = text[: text.index("*a")].count("\n") + 1
    message = str(error(text))
    assert message.startswith(f"r.md:{line}: YAML anchors and aliases"), message


def test_an_anchor_alone_is_refused_rather_than_eating_a_word() -> None:
    # Without the refusal `&Co` is silently taken for an anchor and the title loses it.
    text = record_text().replace('title: "A story about the harbour"', "title: &Co news")
    message = str(error(text))
    assert message.startswith("r.md:3: YAML anchors and aliases are not allowed (anchor &Co)")


def test_a_megabyte_excerpt_aliased_into_every_field_is_refused() -> None:
    """The attack: one excerpt, aliased into every field and 100 related stories."""
    big = "harbour " * 120_000
    fields = ["title: *x", "category: *x", "note: *x"]
    related = "\n".join(
        f"  - {{title: *x, excerpt: *x, webUrl: 'https://r.example/{i}'}}" for i in range(100)
    )
    text = (
        f"---\nexcerpt: &x {big}\n" + "\n".join(fields)
        + "\npublishedDateTime: 2026-11-18T09:30:00Z\nrelated:\n" + related + "\n---\n"
    )  # fmt: skip
    message = str(error(text, SiteConfig(max_record_bytes=2 * 1024 * 1024)))
    assert message.startswith("r.md:2: YAML anchors and aliases are not allowed (anchor &x)")


def test_text_that_only_looks_like_an_anchor_is_kept() -> None:
    note = "AT&T, Q&A *and* 5 * 3 https://x.example/?a=1&b=2 & more"
    record, _ = parse(record_text(extra=f"note: {note}\nquoted: '&a *b'\n"))
    assert record.extra == {"note": note, "quoted": "&a *b"}


# Text rich in YAML indicators: whatever PyYAML reads from it as an anchor or an alias,
# the quick test that decides whether to look for them must have noticed.
_YAMLISH = st.text(alphabet="&*ab1 \n\t-:?,[]{}!|>'\"#%@`\\.=/;\u2028\x85", max_size=40)


@settings(max_examples=400)
@given(_YAMLISH)
def test_the_quick_anchor_test_never_misses_one(text: str) -> None:
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):  # libyaml, and the fallback
        found = False
        try:
            for event in yaml.parse(text, Loader=loader):
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                    found = True
                    break
        except yaml.YAMLError:
            pass
        if found:
            assert _MAY_HOLD_ANCHOR.search(text), (loader, text)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("topics/a.yaml", "name: Harbour\ndescription: &d Boats\nother: *d\n", 2),
        ("topics/b.yaml", "name: Harbour\nimages:\n  - *logo\n", 3),
        ("providers/c.md", "---\nname: &n Quay\ndomain: *n\n---\n", 2),
    ],
)
def test_data_files_refuse_anchors_and_aliases_at_their_line(
    tmp_path: pytest.TempPathFactory, name: str, text: str, line: int
) -> None:
    path = tmp_path / "data" / name  # type: ignore[operator]
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    data = load_data(tmp_path)  # type: ignore[arg-type]
    assert data.topics == {} and data.providers == {}
    (diagnostic,) = data.diagnostics
    assert (diagnostic.path, diagnostic.line) == (f"data/{name}", line)
    assert re.match("YAML anchors and aliases are not allowed", diagnostic.message)


@pytest.mark.parametrize("name_length", [100, 1500])
def test_output_grows_by_a_bounded_factor_of_the_worst_record(
    scratch: Scratch, name_length: int
) -> None:
    """With aliases gone, what a record repeats on every page that lists it (excerpt,
    topic and provider names) is bounded, so no record multiplies itself into the output:
    names within the limit are built, longer ones refused."""
    topics = tuple(f"Topic {i:02d} " + "x" * (name_length - 9) for i in range(50))
    related = "".join(f"  - {{title: R{i}, excerpt: '{'y ' * 2500}'}}\n" for i in range(100))
    text = record_text(
        title="T" * 500,
        topics=topics,
        provider="P" * name_length,
        excerpt="harbour " * 30_000,
        extra="related:\n" + related,
        body="body " * 30_000,
    )
    path = scratch.add("2026-11-18-x.md", text)
    report = scratch.build(search=False)
    assert report.skipped == (name_length > 100), report.diagnostics
    written = sum(p.stat().st_size for p in scratch.output.rglob("*") if p.is_file())
    assert written < 8 * path.stat().st_size


def test_a_long_excerpt_is_cut_at_a_word_with_a_warning() -> None:
    record, warnings = parse(record_text(excerpt="harbour " * 1000))
    assert len(record.excerpt) <= MAX_EXCERPT and record.excerpt.endswith("harbour…")
    assert [(w.line, w.message) for w in warnings] == [
        (4, f"excerpt is 7999 characters; cut to {MAX_EXCERPT}")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (record_text(topics=("ok", "t" * 101)), "r.md:17: topics[1] is 101 characters"),
        (record_text(provider="p" * 101), "r.md:13: provider.name is 101 characters"),
    ],
)
def test_over_long_topic_and_provider_names_are_refused(text: str, message: str) -> None:
    assert str(error(text)).startswith(message)


# --- Break 8: `secured` in any spelling, never kept and never quoted -------------------------

SECRET_KEYS = [
    "secured",
    "Secured",
    "SECURED",
    '"secured "',
    "' SeCuReD\t'",
    '"\\tsecured\\u0007"',
    "ｓｅｃｕｒｅｄ",  # fullwidth letters
    "sec\u200bured",  # a zero-width space inside
]
# Where a secret can sit: `{key}: {value}` at the top, inside unknown fields, in lists, in
# the known structures that pick only their own fields.
SECRET_PLACES = [
    "{key}: {value}",
    "meta:\n  {key}: {value}",
    "meta:\n  - {{note: kept, {key}: {value}}}",
    "meta: {{deep: {{deeper: [{{{key}: {value}}}]}}}}",
    "related:\n  - title: R\n    {key}: {value}",
    "images:\n  - url: https://img.example/a.png\n    {key}: {value}",
]
# Values that make some error path describe the value: each must be refused without it.
FAILING_VALUES = [
    "!!int {s}",
    "!!float {s}",
    "!!bool {s}",
    "!!int {s}" + "9" * 120,
    "!!map {s}",
    "!{s} x",
    "[!!bool {s}]",
    "{{a: !!int {s}}}",
    "{{{s}: 1, {s}: 2}}",
    "!!binary {s}",
]


def _with_secret(key: str, value: str, place: str) -> str:
    return record_text(extra=place.format(key=key, value=value) + "\n")


@settings(max_examples=200)
@given(
    st.sampled_from(SECRET_KEYS),
    st.sampled_from(SECRET_PLACES),
    st.from_regex(r"[A-Za-z0-9]{4,12}", fullmatch=True),
)
def test_secured_in_any_spelling_is_removed_at_every_depth(
    key: str, place: str, token: str
) -> None:
    secret = f"MHSECRET{token}"
    record, warnings = parse(_with_secret(key, f'"{secret}"', place))
    assert secret not in repr(record) and secret not in repr(warnings)
    if place.startswith("meta:\n  - "):
        assert record.extra["meta"] == [{"note": "kept"}]


@settings(max_examples=300)
@given(
    st.sampled_from(SECRET_KEYS),
    st.sampled_from(SECRET_PLACES),
    st.sampled_from(FAILING_VALUES),
    st.from_regex(r"[A-Za-z0-9]{4,12}", fullmatch=True),
)
def test_no_error_quotes_any_part_of_a_secured_value(
    key: str, place: str, value: str, token: str
) -> None:
    secret = f"MHSECRET{token}"
    message = str(error(_with_secret(key, value.format(s=secret), place)))
    assert "MHSECRET" not in message and token not in message, message
    assert "cannot be read (not shown)" in message, message


@pytest.mark.usefixtures("yaml_parser")
@pytest.mark.parametrize(
    "value", ['"MHSECRET\\Q"', '"MHSECRET\\x4Z"', "MHSECRET\x07Q", "@MHSECRETQ"]
)
def test_syntax_errors_in_a_secured_value_quote_none_of_it(value: str) -> None:
    text = record_text(extra=f"secured: {value}\n")
    message = str(error(text))
    assert message.startswith(f"r.md:{EXTRA_LINE}: YAML error: "), message
    assert "MHSECRET" not in message and "Q" not in message and "Z" not in message, message


# --- Break 16: pathological Markdown, and control characters at their own line ------------------

MEGABYTE_BODIES = {
    "image openers": "![" * 450_000,
    "link openers": "[" * 900_000,
    "unclosed destinations": "[a](" * 1_000 + "y" * 800_000,
    "unclosed angle destinations": "![a](<" * 1_000 + "y " * 400_000,
    "unclosed titles": '[a](x "' * 1_000 + "y " * 400_000,
    "unclosed reference titles": '[a]: x "' * 1_000 + "y " * 400_000,
    "escaped destinations": "[a](" + "\\\n" * 400_000,
    "emphasis runs": "*_" * 450_000,
    "lines": "a\n" * 450_000,
    "nested quotes": "> " * 450_000,
    "backticks": "``a" * 300_000,
    "autolinks": "<a href=" * 100_000,
    "entities": "&#" * 450_000,
}


@pytest.mark.parametrize("body", MEGABYTE_BODIES.values(), ids=MEGABYTE_BODIES)
def test_pathological_markdown_costs_a_fraction_of_a_second(body: str) -> None:
    config = SiteConfig(max_record_bytes=2 * 1024 * 1024)
    started = time.perf_counter()
    record, warnings = parse(record_text(body=body), config)
    assert time.perf_counter() - started < 2  # 19 s and more before; ~0.2 s on an idle core
    if body.startswith("[a]: "):  # cheap as Markdown: definitions stop at their line's end
        assert warnings == []
        return
    (warning,) = warnings
    assert warning.line == BODY_LINE and warning.message.endswith("; shown as plain text")
    assert record.body_html.startswith("<p>") and "<a" not in record.body_html


def test_a_long_link_heavy_article_is_still_markdown() -> None:
    paragraph = (
        "The *harbour* master [said](https://quay.example/a-b?c=d&e=f#g) that `cranes` "
        "would **resume** work, [as planned][plan].\n\n"
    )
    table = "| a | b |\n|---|---|\n" + "| 1 | [x](https://t.example/) |\n" * 50
    body = paragraph * 150 + table + '\n[plan]: https://quay.example/plan "Plan"\n'
    record, warnings = parse(record_text(body=body))
    assert warnings == []
    assert record.body_html.count('<a href="https://quay.example/plan"') == 150
    assert record.body_html.count("<td>") == 100


@pytest.mark.usefixtures("yaml_parser")
@pytest.mark.parametrize("control", ["\x07", "\x1b", "\x7f", "\x9b", "\ufffe"])
def test_a_control_character_is_reported_at_its_own_line(control: str) -> None:
    # Multi-byte text before it: libyaml counts its position in bytes.
    extra = "a: Zürich — Škoda ✓\nb: fine\nnote: before" + control + "after\n"
    message = str(error(record_text(extra=extra)))
    assert message.startswith(f"r.md:{EXTRA_LINE + 2}: YAML error: "), message
    assert "\n" not in message


# --- Break 5: symbolic links under content/ and data/ -----------------------------------------

PRIVATE = "PRIVATE-MHSECRET-diary"


def _links(scratch: Scratch, outside: Path) -> dict[str, str]:
    """Every kind of link under content/, and what must be said of each (None: read)."""
    outside.mkdir()
    private = outside / "private.md"
    private.write_text(record_text(title=PRIVATE), encoding="utf-8")
    (outside / "folder").mkdir()
    (outside / "folder" / "2026-11-18-in-folder.md").write_text(
        record_text(title=PRIVATE + " folder"), encoding="utf-8"
    )
    content = scratch.content
    scratch.add(".drafts/2026-11-18-kept.md", title="Kept through a link")
    scratch.add(".drafts/2026-11-18-other.md", title="Kept through a chain")
    scratch.add("real/2026-11-18-real.md", title="A real one")
    links = {
        "2026-11-18-absolute.md": (str(private), "leads outside its folder"),
        "2026-11-18-relative.md": (os.path.relpath(private, content), "leads outside its folder"),
        "outside-folder": (str(outside / "folder"), "to a folder"),
        "inside-folder": ("real", "to a folder"),
        "2026-11-18-inside.md": (".drafts/2026-11-18-kept.md", None),
        ".hop-in.md": (".drafts/2026-11-18-other.md", None),
        "2026-11-18-chain.md": (".hop-in.md", None),
        ".hop.md": (str(private), None),  # dot-named: never listed itself
        "2026-11-18-chain-out.md": (".hop.md", "leads outside its folder"),
        "2026-11-18-broken.md": ("nowhere.md", "is broken"),
        "2026-11-18-loop-a.md": ("2026-11-18-loop-b.md", "loops"),
        "2026-11-18-loop-b.md": ("2026-11-18-loop-a.md", "loops"),
    }
    for name, (target, _) in links.items():
        (content / name).symlink_to(target)
    return {name: said for name, (_, said) in links.items() if not name.startswith(".")}


def test_every_kind_of_symlink_under_content(scratch: Scratch, tmp_path: Path) -> None:
    expected = _links(scratch, tmp_path / "outside")
    report = scratch.build(search=False)
    said = {d.path: d for d in report.diagnostics}
    for name, fragment in expected.items():
        if fragment is None:
            assert name not in said, said[name]
        else:
            assert said[name].severity == "warning", said[name]
            assert fragment in said[name].message and "not followed" in said[name].message
    for path in scratch.output.rglob("*"):
        if path.is_file():
            assert b"PRIVATE-MHSECRET" not in path.read_bytes(), path
    titles = {a for a in (scratch.output / "news/2026/11/18").iterdir()}
    assert {p.name for p in titles} == {"inside", "chain", "real"}
    assert report.skipped == sum(1 for f in expected.values() if f)


def test_a_link_retargeted_outside_is_refused_on_the_next_build(
    scratch: Scratch, tmp_path: Path
) -> None:
    scratch.add(".drafts/2026-11-18-kept.md", title="Kept through a link")
    link = scratch.content / "2026-11-18-moving.md"
    link.symlink_to(".drafts/2026-11-18-kept.md")
    assert scratch.build(search=False).skipped == 0
    private = tmp_path / "private.md"
    private.write_text(record_text(title=PRIVATE), encoding="utf-8")
    link.unlink()
    link.symlink_to(private)
    report = scratch.build(search=False)
    assert report.skipped == 1
    assert not (scratch.output / "news/2026/11/18/moving").exists()


def test_data_files_linked_from_outside_are_not_read(scratch: Scratch, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(f"name: Climate\ndescription: {PRIVATE}\n", encoding="utf-8")
    topics = scratch.root / "data" / "topics"
    topics.mkdir(parents=True)
    (topics / ".shared.yaml").write_text("name: Harbour Ledger\ndescription: Kept\n")
    (topics / "climate.yaml").symlink_to(outside)
    (topics / "broken.yaml").symlink_to("nowhere.yaml")
    providers = scratch.root / "data" / "providers"
    providers.symlink_to(tmp_path, target_is_directory=True)  # a whole folder from outside
    (scratch.root / "data" / "topics" / "ledger.yaml").symlink_to(".shared.yaml")
    data = load_data(scratch.root)
    said = {d.path: d.message for d in data.diagnostics}
    assert "leads outside" in said["data/topics/climate.yaml"]
    assert "is broken" in said["data/topics/broken.yaml"]
    assert "leads outside" in said["data/providers/outside.yaml"]
    assert PRIVATE not in repr(data)
    assert [m.description for m in data.topics.values()] == ["Kept"]


# --- Break 7: topic and provider names whose slugs collide ---------------------------------------

COLLIDING = [("C++", "C#", "C"), ("AT&T", "AT-T", "at t"), ("Zürich", "Zurich", "ZURICH")]


def _term_pages(output: Path, taxonomy: str) -> dict[str, str]:
    """Slug -> the heading of its page."""
    folder = output / taxonomy
    return {
        p.name: htmlcheck.parse(p / "index.html").h1.get_text(strip=True)
        for p in folder.iterdir()
        if p.is_dir() and (p / "index.html").is_file()
    }


@settings(max_examples=12, deadline=None)
@given(st.permutations([name for group in COLLIDING for name in group]))
def test_colliding_names_keep_pages_of_their_own_in_any_file_order(names: list[str]) -> None:
    from masthead.model.site import build_site

    records = []
    for i, name in enumerate(names):
        text = record_text(title=f"Story {i}", topics=(name,), provider=name)
        record, _ = parse(text)
        records.append(record._replace(path=f"{i:02d}.md"))
    site = build_site(records, CONFIG)
    warned = [d for d in site.diagnostics if "shares the slug" in d.message]
    for taxonomy in ("topics", "providers"):
        terms = {t.name.casefold(): t for t in site.taxonomy(taxonomy).terms}
        # Zürich, Zurich and ZURICH: Zurich and ZURICH differ only in case and are one term.
        assert set(terms) == {"c++", "c#", "c", "at&t", "at-t", "at t", "zürich", "zurich"}
        assert len({t.ref.slug for t in terms.values()}) == len(terms)
        assert terms["c++"].ref.slug == "c-plus-plus" and terms["c#"].ref.slug == "c-sharp"
        assert terms["at&t"].ref.slug == "at-and-t"
        assert [a.title for a in terms["c"].articles] == [f"Story {names.index('C')}"]
        assert len(terms["zurich"].articles) == 2
    assert len(warned) == 4  # at t/AT-T and Zürich/Zurich, in each taxonomy
    # The same pages whatever the order the files were read in.
    slugs = {(t.name, t.ref.slug) for t in site.taxonomy("topics").terms}
    shuffled = build_site(list(reversed(records)), CONFIG)
    assert {(t.name, t.ref.slug) for t in shuffled.taxonomy("topics").terms} == slugs


def test_colliding_names_reach_every_output(scratch: Scratch) -> None:
    for i, name in enumerate(["AT&T", "AT-T", "at t", "C++", "C#", "C"]):
        scratch.add(f"2026-11-1{i}-story-{i}.md", title=f"Story {i}", topics=(name,), provider=name)
    report = scratch.build(search=False)
    warnings = [str(d) for d in report.diagnostics if "shares the slug" in d.message]
    assert len(warnings) == 2 and all("'at-t'" in w for w in warnings), warnings
    for taxonomy in ("topics", "providers"):
        pages = _term_pages(scratch.output, taxonomy)
        assert sorted(pages.values()) == sorted(["AT&T", "AT-T", "at t", "C++", "C#", "C"])
        for slug, name in pages.items():
            feed = feedparser.parse(scratch.output / taxonomy / slug / "feed.xml")
            assert len(feed.entries) == 1, (slug, name)
            api = json.loads(
                (scratch.output / "api/news" / taxonomy / slug / "index.json").read_text()
            )
            assert len(api["items"] if "items" in api else api["articles"]) == 1
    sitemap = (scratch.output / "sitemap.xml").read_text(encoding="utf-8")
    assert sitemap.count("/topics/at-t") == 2 and "/topics/c-plus-plus/" in sitemap


def test_data_naming_one_of_the_colliding_names_describes_only_it(scratch: Scratch) -> None:
    topics = scratch.root / "data" / "topics"
    topics.mkdir(parents=True)
    (topics / "att.yaml").write_text("name: AT-T\ndescription: The hyphenated one\n")
    scratch.add("2026-11-10-one.md", title="One", topics=("AT-T",))
    scratch.add("2026-11-11-two.md", title="Two", topics=("at t",))
    scratch.build(search=False)
    pages = _term_pages(scratch.output, "topics")
    assert pages["at-t"] == "AT-T"  # the named term keeps the plain slug
    (other,) = [slug for slug, name in pages.items() if name == "at t"]
    text = (scratch.output / "topics" / other / "index.html").read_text(encoding="utf-8")
    assert "The hyphenated one" not in text


def test_a_name_that_comes_to_share_a_slug_rebuilds_as_a_clean_build(
    scratch: Scratch, tmp_path: Path
) -> None:
    """`at t` arriving takes the slug `AT-T` had (less punctuation): both builds, the
    preview's long-lived one and `masthead build` from the cache, must move the page."""
    from masthead.building.build import Builder, BuildOptions, Mode
    from tests.test_incremental import assert_same_as_clean

    scratch.add("2026-11-10-one.md", title="One", topics=("AT-T",), provider="AT-T")
    preview = Builder(BuildOptions(site_dir=scratch.root, jobs=1, mode=Mode.WATCH))
    preview.build()
    assert _term_pages(scratch.output, "topics") == {"at-t": "AT-T"}
    added = scratch.add("2026-11-11-two.md", title="Two", topics=("at t",), provider="at t")
    preview.build({added})
    assert_same_as_clean(scratch, tmp_path)
    assert sorted(_term_pages(scratch.output, "topics").values()) == ["AT-T", "at t"]
    added.unlink()
    scratch.build(jobs=1)
    assert_same_as_clean(scratch, tmp_path)
    assert _term_pages(scratch.output, "topics") == {"at-t": "AT-T"}
