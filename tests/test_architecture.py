"""The package layout of ARCHITECTURE.md holds: each floor imports only the floors below it.

Read from the source (every import, at the top of a module or inside a function), so a
new module or import that breaks the rule fails here, naming the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import masthead

SOURCE = Path(masthead.__file__).parent

GROUND = "masthead"
MAY_IMPORT: dict[str, set[str]] = {
    GROUND: {GROUND},
    "records": {GROUND},
    "model": {GROUND, "records"},
    "outputs": {GROUND, "records", "model"},
    "building": {GROUND, "records", "model", "outputs"},
    "preview": {GROUND, "records"},
    "commands": {GROUND, "records", "model", "outputs", "building", "preview"},
}
"""Package -> the packages its modules may import (its own included, below)."""
ENTRY_POINTS = {"__main__.py"}
"""`python -m masthead` runs the command line: a door, not a floor."""


def _package(module: str) -> str:
    """`masthead.outputs.feeds` -> `outputs`; a top-level module is on the ground floor."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] in MAY_IMPORT:
        return parts[1]
    if len(parts) == 2 and parts[1] in MAY_IMPORT and (SOURCE / parts[1]).is_dir():
        return parts[1]  # the package itself
    return GROUND


def _module_of(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every masthead module `path` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "masthead":  # `from masthead import records`: a package
                found += [(node.lineno, f"masthead.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "masthead"]


def _sources() -> list[Path]:
    return sorted(p for p in SOURCE.rglob("*.py") if p.name not in ENTRY_POINTS)


def test_every_import_points_down_or_sideways_within_a_package() -> None:
    wrong = []
    for path in _sources():
        floor = _package(_module_of(path))
        for line, name in _imports(path):
            target = _package(name)
            if target not in MAY_IMPORT[floor] and target != floor:
                rel = path.relative_to(SOURCE.parent)
                wrong.append(f"{rel}:{line}: {floor} imports {name} ({target})")
    assert wrong == []


def test_every_package_is_on_a_floor_and_the_ground_floor_is_small() -> None:
    packages = {p.name for p in SOURCE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(MAY_IMPORT) - {GROUND}
    ground = sorted(p.stem for p in SOURCE.glob("*.py") if p.name not in ENTRY_POINTS)
    assert ground == [
        "__init__", "cachefile", "config", "diagnostics", "hashing", "killpoint", "parallel",
        "upstream", "urls",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("module", "package"),
    [
        ("masthead.urls", GROUND),
        ("masthead.records", "records"),
        ("masthead.records.loader", "records"),
        ("masthead.outputs.feeds", "outputs"),
        ("masthead.building.build", "building"),
    ],
)
def test_modules_are_placed_by_their_package(module: str, package: str) -> None:
    assert _package(module) == package


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The check itself: a records module importing the build would be reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from masthead.building.build import build\n")
    assert _imports(bad) == [(2, "masthead.building.build")]
    assert "building" not in MAY_IMPORT["records"]
