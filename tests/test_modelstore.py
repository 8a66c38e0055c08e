"""The stored model (model.bin): a build's plan and articles read back part by part, only
by the state that names it; a damaged or foreign file is not used, with one warning."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from masthead import cachefile
from masthead.building.modelstore import MODEL, MODEL_KIND, ModelError, ModelStore, save_model
from masthead.building.state import STATE, BuildState
from masthead.outputs.plan import PageSpec
from tests.conftest import Scratch
from tests.test_state import four_stories


@pytest.fixture
def site(scratch: Scratch) -> Scratch:
    return four_stories(scratch)


def _state(site: Scratch) -> BuildState:
    found = cachefile.read(site.root / ".masthead-cache" / "build-state.bin", STATE)
    assert found is not None
    return found[0][0]  # type: ignore[no-any-return]


def _open(site: Scratch, state: BuildState) -> ModelStore | None:
    return ModelStore.open(site.root / ".masthead-cache", state.key, state.model, {})


def test_the_stored_model_gives_back_every_page_and_article(site: Scratch) -> None:
    state = _state(site)
    store = _open(site, state)
    assert store is not None
    with store:
        assert {rel for rel, _ in store.outputs} == set(state.pages)
        story = "2026-11-12-story-2.md"
        article = store.article(story)
        assert article is not None and article.title == "Story number 2"
        assert store.article("none.md") is None
        page = store.spec("news/2026/11/12/story-2/index.html")
        assert page.url == "/news/2026/11/12/story-2/"
        assert page.context["article"] is article  # read once, shared by the pages showing it
        with pytest.raises(ModelError):
            store.spec("no/such/index.html")


def test_patched_articles_win_over_the_stored_ones(site: Scratch) -> None:
    state = _state(site)
    store = _open(site, state)
    assert store is not None
    story = "2026-11-12-story-2.md"
    with store:
        newer = store.article(story)
    store = ModelStore.open(site.root / ".masthead-cache", state.key, state.model, {story: newer})  # type: ignore[dict-item]
    assert store is not None
    with store:
        assert store.article(story) is newer
        assert store.spec("news/2026/11/12/story-2/index.html").context["article"] is newer


def test_a_model_for_another_state_is_not_opened(
    site: Scratch, caplog: pytest.LogCaptureFixture
) -> None:
    state = _state(site)
    cache = site.root / ".masthead-cache"
    assert ModelStore.open(cache, state.key, "another token", {}) is None
    assert ModelStore.open(cache, "another key", state.model, {}) is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # expected, not damage


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("truncated", "cut short"),
        ("table", "checksum mismatch"),
        ("version", "build cache from masthead"),
        ("kind", "not a model"),
    ],
)
def test_a_damaged_model_is_not_opened_with_one_warning(
    site: Scratch, caplog: pytest.LogCaptureFixture, how: str, said: str
) -> None:
    path = site.root / ".masthead-cache" / MODEL
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[:100] + data[-8:]  # the table's length still at the end
    elif how == "table":
        data[-20] ^= 0x01
    elif how == "version":
        data = data.replace(f" model {MODEL_KIND.version} ".encode(), b" model 1 ", 1)
    else:
        data = (site.root / ".masthead-cache" / "build-state.bin").read_bytes()
    path.write_bytes(bytes(data))
    assert _open(site, _state(site)) is None
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.startswith(f"{path}: ") and said in warning and "discarded" in warning


def test_a_damaged_part_is_found_when_it_is_read(site: Scratch) -> None:
    """The parts are not read when the file is opened (that is the point of the file), so
    their damage is found by their own checksum when a page needs them."""
    path = site.root / ".masthead-cache" / MODEL
    data = bytearray(path.read_bytes())
    header = len(MODEL_KIND.header("0" * 64))
    for i in range(header + 10, len(data) // 2, 40):  # every article and spec, early on
        data[i] ^= 0x01
    path.write_bytes(bytes(data))
    store = _open(site, _state(site))
    assert store is not None
    with store, pytest.raises(ModelError, match="checksum mismatch"):
        store.spec("news/2026/11/12/story-2/index.html")


def _saved_again(
    site: Scratch, monkeypatch: pytest.MonkeyPatch, damage: str | None = None
) -> tuple[list[Any], list[PageSpec], ModelStore]:
    """The model written again for the same pages (the article at `damage` first spoilt in
    the old file, after it was read): what was pickled rather than copied, the specs, and
    the new model opened."""
    import masthead.building.modelstore as modelstore

    state, cache = _state(site), site.root / ".masthead-cache"
    with _open(site, state) as store:  # type: ignore[union-attr]
        specs = [store.spec(rel) for rel, _ in store.outputs]
        articles = [store.article(path) for path in store.table.articles.index]
        model = SimpleNamespace(articles=articles, by_identity=store.by_identity)
        if damage is not None:
            where = store.table.articles.get(damage)
            assert where is not None
            with (cache / MODEL).open("r+b") as f:
                f.seek(store.start + where[0] + where[1] // 2)
                byte = f.read(1)
                f.seek(-1, 1)
                f.write(bytes([byte[0] ^ 0x01]))
    pickled: list[Any] = []
    real = modelstore._ArticleWriter.dump

    def counting(self: object, value: object) -> None:
        pickled.append(value)
        real(self, value)  # type: ignore[arg-type]

    monkeypatch.setattr(modelstore._ArticleWriter, "dump", counting)
    token = save_model(cache, state.key, model, specs, state.pages)  # type: ignore[arg-type]
    store = ModelStore.open(cache, state.key, token, {})
    assert store is not None
    return pickled, specs, store


def test_unchanged_parts_are_copied_not_pickled_again(
    site: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the model again for the same pages copies each part's bytes."""
    pickled, specs, store = _saved_again(site, monkeypatch)
    assert [type(v).__name__ for v in pickled] == []  # same digests, same fingerprints
    with store:
        assert [store.spec(rel).url for rel, _ in store.outputs] == [s.url for s in specs]


def test_a_damaged_part_is_pickled_again_not_copied(
    site: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old parts are copied in runs, each checked: one spoilt since it was written is
    made again from the model, and the new file reads back whole."""
    damaged = "2026-11-12-story-2.md"
    pickled, specs, store = _saved_again(site, monkeypatch, damage=damaged)
    assert [v.record.path for v in pickled] == [damaged]
    with store:
        assert [store.spec(rel).url for rel, _ in store.outputs] == [s.url for s in specs]
        assert all(store.article(path) is not None for path in store.table.articles.index)
