"""The rooms and their rules (ARCHITECTURE.md): what may import what."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "inventory_migration" / "migrationctl"
CONCERNS = ("database", "cutover", "files", "overview")
"""The CLI's concerns: each a sub-package of commands."""
SHARED = ("pg",)
"""Rooms for what two concerns share."""


def imported_rooms(package: Path, rooms: tuple[str, ...]) -> set[str]:
    """The rooms of ``rooms`` that any module of ``package`` imports (``from …migrationctl.<room>…``)."""
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[:2] == ["inventory_migration", "migrationctl"] and len(parts) > 2 and parts[2] in rooms:
                    found.add(parts[2])
    return found - {package.name}


def graph() -> dict[str, set[str]]:
    rooms = CONCERNS + SHARED
    return {room: imported_rooms(CLI / room, rooms) for room in rooms}


def test_database_and_cutover_never_import_each_other() -> None:
    edges = graph()
    assert "cutover" not in edges["database"] and "database" not in edges["cutover"]


def test_no_concern_imports_another() -> None:
    """The CLI's concerns share only pg/, the contracts and the plumbing: none imports another concern."""
    edges = graph()
    assert {room: edges[room] & set(CONCERNS) for room in CONCERNS if edges[room] & set(CONCERNS)} == {}


def test_the_shared_room_imports_no_concern() -> None:
    assert graph()["pg"] == set()


def test_the_import_graph_between_rooms_has_no_cycle() -> None:
    edges = graph()

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges[start])

    assert [room for room in edges if reaches(room, room)] == []


def test_the_graph_sees_an_import(tmp_path: Path) -> None:
    package = tmp_path / "database"
    package.mkdir()
    (package / "x.py").write_text("from inventory_migration.migrationctl.cutover import steps\n", encoding="utf-8")
    assert imported_rooms(package, CONCERNS) == {"cutover"}


def product_modules_importing(prefix: str) -> set[str]:
    """Product modules (``main.py`` and ``inventory_migration/``, outside the room itself) that import ``prefix``."""
    room = ROOT / Path(*prefix.split("."))
    found = set()
    for path in [ROOT / "main.py", *(ROOT / "inventory_migration").rglob("*.py")]:
        if room in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(m == prefix or m.startswith(prefix + ".") for m in modules):
                found.add(str(path.relative_to(ROOT)))
    return found


def test_nothing_that_ships_imports_the_developer_tools() -> None:
    assert product_modules_importing("inventory_migration.devtools") == set()


def test_migrationctl_imports_no_synth_building_block() -> None:
    """The CLI reads the contracts, never what the stack is written with (a synth import would also load cdktf)."""
    assert {p for p in product_modules_importing("inventory_migration.synth.cdk") if "migrationctl" in p} == set()
    assert {p for p in product_modules_importing("inventory_migration.constructs") if "migrationctl" in p} == set()


def test_paths_the_rooms_compute_from_their_own_file_point_at_the_repository() -> None:
    """A module that moves into a room changes what ``Path(__file__)`` means: each root it derives is the repository."""
    from inventory_migration.config.base import CONFIG_DIR
    from inventory_migration.devtools.config_doc import DOC_PATH
    from inventory_migration.devtools.terraform_cli import PROJECT_MIRROR
    from inventory_migration.synth.runtime import BUNDLED_NODE, PROJECT_ROOT

    assert PROJECT_ROOT == ROOT
    assert BUNDLED_NODE.is_relative_to(ROOT / "node_modules")
    assert PROJECT_MIRROR.parent == ROOT
    assert DOC_PATH == ROOT / "docs" / "config.md"
    assert CONFIG_DIR == ROOT / "config"
