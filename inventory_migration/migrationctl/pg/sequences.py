"""``sequences sync``: set every target sequence to the source's position plus a safety gap, at cutover.

DMS copies rows, not sequence positions: without this step the first insert on Aurora after cutover reuses an
id. The gap covers rows written on-prem between reading the source and stopping the writers.
"""

from __future__ import annotations

import dataclasses

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg.objects import user_object, user_schema

DEFAULT_GAP = 1000
"""Safety gap added to each position. Default of ``sequences sync --gap`` and of the cutover's sequences step."""

SET, UNCHANGED, MISSING, UNUSED = "set", "unchanged", "missing on target", "unused on source"
"""What :func:`plan_sync` decides for a sequence."""

POSITIONS_SQL = f"""
    SELECT schemaname, sequencename, last_value, increment_by,
           has_sequence_privilege(format('%%I.%%I', schemaname, sequencename), 'SELECT, USAGE')
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
    """``schema.sequence`` -> (last value or None if never used, increment).

    ``pg_sequences`` shows ``NULL`` both for a sequence never used and for one the current user may not read; the
    second would pass for unused and the ids it handed out would be handed out again, so it is an error."""
    rows = query(conn, POSITIONS_SQL, ())
    unreadable = [f"{r[0]}.{r[1]}" for r in rows if not r[4]]
    if unreadable:
        shown = ", ".join(unreadable[:10]) + (f" (+{len(unreadable) - 10} more)" if len(unreadable) > 10 else "")
        raise UsageError(
            f"{conn.info.user} on {conn.info.host}:{conn.info.port}/{conn.info.dbname} cannot read {len(unreadable)} sequence(s): {shown}; "
            "GRANT SELECT ON SEQUENCE ... to it (a sequence it cannot read would look unused)"
        )
    return {f"{r[0]}.{r[1]}": (r[2], r[3]) for r in rows}


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
