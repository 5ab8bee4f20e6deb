"""``GENERATED ALWAYS`` identity columns follow the writer.

PostgreSQL refuses an ``INSERT`` that gives a ``GENERATED ALWAYS`` identity column a value unless it says ``OVERRIDING
SYSTEM VALUE``; AWS DMS applies changes with plain statements carrying the source's values (the DMS user guide lists
no setting for it), so a table with such a column would be suspended on the side DMS writes. Native logical
replication is not affected (its apply bypasses the check), which is why the rehearsal alone never showed it.

The rule, kept at each hand-over: **the side the applications write has the column ``ALWAYS``, the side a replication
writes has it ``BY DEFAULT``.** ``schema pre-data`` hands the target to the forward task (source writes, target
replicates); the cutover's *sequences* step hands the source to the way back (target writes); a rollback's, or an
abort's, hands it back.

Which columns: those ``ALWAYS`` on *either* side. A hand-over sets the writer's ``ALWAYS`` before the replica's ``BY
DEFAULT``, so at every moment (a kill included) each column is ``ALWAYS`` on one side at least, and a re-run finds the
same set. Columns that are ``BY DEFAULT`` on both sides are the user's and never touched.

``ALTER TABLE ... SET GENERATED`` takes an ``ACCESS EXCLUSIVE`` lock on the table: the side's changes wait at most
:data:`LOCK_TIMEOUT_SECONDS` for it, :data:`LOCK_ATTEMPTS` times (a long read holding the table then fails the step by
name; re-run it), and are made in one transaction per side. Only tables with such a column are touched; a schema without any costs two catalogue reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import psycopg
from psycopg import errors, sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg.objects import USER_TABLES_WHERE

LOCK_TIMEOUT_SECONDS: float = 5
"""How long one attempt at a side's changes waits for a table's lock."""
LOCK_ATTEMPTS = 3
"""Attempts before the step fails by name (and can be re-run): a lock queued behind a long read holds the readers after
it, so each attempt waits briefly and lets them through between attempts."""

ALWAYS = "a"
BY_DEFAULT = "d"
_CLAUSE = {ALWAYS: sql.SQL("ALWAYS"), BY_DEFAULT: sql.SQL("BY DEFAULT")}


@dataclasses.dataclass(frozen=True, order=True)
class Column:
    schema: str
    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}.{self.column}"


def identity_columns(conn: psycopg.Connection) -> dict[Column, str]:
    """Every identity column of the user's tables with its kind (:data:`ALWAYS` or :data:`BY_DEFAULT`)."""
    rows = query(
        conn,
        f"""
        SELECT n.nspname, c.relname, a.attname, a.attidentity::text FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity <> '' AND {USER_TABLES_WHERE}""",
        (),
    )
    return {Column(schema, table, column): kind for schema, table, column, kind in rows}


def _set(conn: psycopg.Connection, columns: Iterable[Column], kind: str, side: str) -> None:
    columns = sorted(columns)
    if not columns:
        return
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            with conn.transaction():
                timeout_ms = int(LOCK_TIMEOUT_SECONDS * 1000)
                conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{timeout_ms}ms")))
                for c in columns:
                    conn.execute(
                        sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET GENERATED {}").format(
                            sql.Identifier(c.schema, c.table), sql.Identifier(c.column), _CLAUSE[kind]
                        )
                    )
            return
        except errors.LockNotAvailable as exc:
            if attempt == LOCK_ATTEMPTS:
                tables = ", ".join(dict.fromkeys(f"{c.schema}.{c.table}" for c in columns))
                raise UsageError(
                    f"identity columns on the {side}: a session held one of {tables} through {LOCK_ATTEMPTS} attempts of "
                    f"{LOCK_TIMEOUT_SECONDS} s (ALTER TABLE needs it alone); nothing changed there; run again"
                ) from exc


def hand_over(
    *, writer: psycopg.Connection, replica: psycopg.Connection, writer_side: str = "source", replica_side: str = "target"
) -> list[Column]:
    """Make ``writer`` the side whose identity columns are ``ALWAYS`` and ``replica`` the side where they are ``BY
    DEFAULT`` (see the module's rule); returns the columns concerned, whether or not they needed a change."""
    on_writer, on_replica = identity_columns(writer), identity_columns(replica)
    concerned = sorted({c for side in (on_writer, on_replica) for c, kind in side.items() if kind == ALWAYS})
    _set(writer, (c for c in concerned if on_writer.get(c) == BY_DEFAULT), ALWAYS, writer_side)
    _set(replica, (c for c in concerned if on_replica.get(c) == ALWAYS), BY_DEFAULT, replica_side)
    return concerned
