"""``sequences sync``: set every target sequence to the source's position plus a safety gap, at cutover.

DMS copies rows, not sequence positions: without this step the first insert on Aurora after cutover reuses an
id. The gap covers rows written on-prem between reading the source and stopping the writers.
"""

from __future__ import annotations

import dataclasses

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.database.objects import user_object, user_schema
from inventory_migration.migrationctl.db import query

DEFAULT_GAP = 1000
"""Safety gap added to each position. Default of ``sequences sync --gap`` and of the cutover's sequences step."""

SET, UNCHANGED, MISSING, UNUSED = "set", "unchanged", "missing on target", "unused on source"
"""What :func:`plan_sync` decides for a sequence."""

POSITIONS_SQL = f"""
    SELECT schemaname, sequencename, last_value, increment_by
    FROM pg_sequences WHERE {user_schema("schemaname")} AND {user_object("sequencename")} ORDER BY 1, 2
"""


@dataclasses.dataclass(frozen=True)
class SequenceSync:
    sequence: str
    source_value: int | None
    target_value: int | None
    new_value: int | None
    action: str
    """:data:`SET`, :data:`UNCHANGED` (target already ahead), :data:`MISSING` (on target) or :data:`UNUSED` (on source)."""


def positions(conn: psycopg.Connection) -> dict[str, tuple[int | None, int]]:
    """``schema.sequence`` -> (last value or None if never used, increment)."""
    return {f"{r[0]}.{r[1]}": (r[2], r[3]) for r in query(conn, POSITIONS_SQL, ())}


def plan_sync(
    source: dict[str, tuple[int | None, int]], target: dict[str, tuple[int | None, int]], gap: int
) -> list[SequenceSync]:
    out = []
    for name, (value, increment) in sorted(source.items()):
        current = target.get(name)
        if current is None:
            out.append(SequenceSync(name, value, None, None, MISSING))
        elif value is None:
            out.append(SequenceSync(name, None, current[0], None, UNUSED))
        else:
            wanted = value + gap * (1 if increment > 0 else -1)
            ahead = current[0] is not None and (current[0] >= wanted if increment > 0 else current[0] <= wanted)
            out.append(SequenceSync(name, value, current[0], None if ahead else wanted, UNCHANGED if ahead else SET))
    return out


def apply_sync(conn: psycopg.Connection, plan: list[SequenceSync]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        for item in plan:
            if item.action == SET:
                schema, name = item.sequence.split(".", 1)
                cur.execute(
                    sql.SQL("SELECT setval({}, {}, true)").format(
                        sql.Literal(sql.Identifier(schema, name).as_string(conn)), sql.Literal(item.new_value)
                    )
                )
