"""The end-to-end fence: proof that a replication has *applied* everything written before a point.

A logical slot's ``confirmed_flush_lsn`` says what its consumer confirmed *receiving*. For PostgreSQL's own
subscriptions that is also what was applied, but AWS DMS reads the slot into its own change cache and confirms what it
has fetched, so a drain that waits for the slot can end while DMS still has changes to apply. And on a frozen, idle
source an empty transaction may not move DMS's slot until its next heartbeat.

So the drain writes a **fence row** on the side being left, after its freeze — a real row in a replicated table — and
waits until that row can be read on the other side. Both replications apply commits in commit order (DMS runs in
transactional apply mode: ``BatchApplyEnabled`` is false in :mod:`inventory_migration.synth.dms_settings`), so once the fence
is visible there, every commit made before it has been applied. The slot position is still read, as a secondary signal
for the report.

The table lives in its own schema, :data:`~inventory_migration.contracts.names.CONTROL_SCHEMA`: ``schema pre-data``
creates it on both sides, the DMS table mappings include it (both tasks), the native publications are ``FOR ALL
TABLES``, and every command that reads user data leaves it out (:mod:`.objects`). No application role is
granted anything on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from inventory_migration.contracts.names import CONTROL_SCHEMA, FENCE_TABLE
from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.polling import poll

FENCE = f"{CONTROL_SCHEMA}.{FENCE_TABLE}"
"""The fence table, schema-qualified."""

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {CONTROL_SCHEMA};
CREATE TABLE IF NOT EXISTS {CONTROL_SCHEMA}.{FENCE_TABLE} (
    token text PRIMARY KEY,
    side text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
REVOKE ALL ON SCHEMA {CONTROL_SCHEMA} FROM PUBLIC;
REVOKE ALL ON {CONTROL_SCHEMA}.{FENCE_TABLE} FROM PUBLIC;
"""
"""The fence table: one row per drain (``token`` names the operation and its start), with a primary key so that DMS
can apply it like any other row."""

_TABLE = sql.Identifier(CONTROL_SCHEMA, FENCE_TABLE)


class FenceTimeout(RuntimeError):
    """The fence row did not arrive on the other side in time."""


def exists(conn: psycopg.Connection) -> bool:
    """The fence table is there."""
    return bool(query(conn, "SELECT to_regclass(%s) IS NOT NULL", (f"{CONTROL_SCHEMA}.{FENCE_TABLE}",))[0][0])


def ensure(conn: psycopg.Connection) -> bool:
    """Create the fence table if missing (idempotent); whether it was created."""
    if exists(conn):
        return False
    with conn.transaction():
        for statement in filter(None, (s.strip() for s in DDL.split(";"))):
            query(conn, statement)
    return True


def write(conn: psycopg.Connection, token: str, side: str) -> str:
    """Commit the fence row ``token`` (idempotent: a resumed drain writes nothing new) with a synchronous commit, so it
    is flushed and can be sent at once; the WAL position after it (the slot's secondary signal)."""
    with conn.transaction():
        query(conn, "SET LOCAL synchronous_commit = on")
        query(
            conn,
            sql.SQL("INSERT INTO {} (token, side) VALUES (%s, %s) ON CONFLICT (token) DO NOTHING").format(_TABLE),
            (token, side),
        )
    return str(query(conn, "SELECT pg_current_wal_lsn()::text")[0][0])


def visible(conn: psycopg.Connection, token: str) -> bool:
    """The fence row ``token`` has been applied on ``conn``'s side."""
    return bool(query(conn, sql.SQL("SELECT 1 FROM {} WHERE token = %s").format(_TABLE), (token,)))


def wait_visible(
    conn: psycopg.Connection,
    token: str,
    timeout: float,
    *,
    poll_seconds: float = 0.02,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Wait until the fence row ``token`` is readable on ``conn``; the seconds it took. Raises :class:`FenceTimeout`."""
    started = clock()
    poll(
        lambda: visible(conn, token),
        timeout=timeout,
        interval=poll_seconds,
        timed_out=lambda: FenceTimeout(f"fence {token!r} not applied on the other side after {timeout:.0f} s"),
        clock=clock,
        sleep=sleep,
    )
    return clock() - started
