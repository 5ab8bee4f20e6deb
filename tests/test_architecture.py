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
