"""A replication that confirms changes before it applies them — AWS DMS's shape — built from PostgreSQL's own parts.

DMS reads the source's slot into its own change cache and confirms what it has *fetched*; it applies later. Native
logical replication confirms what it has applied, so on its own it cannot show the difference. The relay puts a
cache in between: a ``relay`` database on the target's server, a copy of the target, subscribes to the source's
forward slot (and so confirms on receipt), and the target's forward subscription reads the relay. Stall the target's
apply (:func:`harness.night.faults.stalled_apply`) and the source's slot says "drained" while the target lacks the
changes — the state in which a slot-based drain opened green too early.

:func:`relayed` rewires a running forward replication through the relay for the block's duration and puts the plain
topology back afterwards, keeping whatever state (enabled or stopped) the cutover left the forward replication in.
Nothing of ``migrationctl`` changes: its native backend knows the forward replication by the subscription's name on
the target and the slot's name on the source, and both keep their names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from psycopg import sql

from harness.postgres import PostgresServer
from inventory_migration.migrationctl.cutover.replication import NativeReplication
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME

RELAY_DB = "relay"
RELAY_IN = "relay_in"
"""The relay's subscription to the source's forward slot."""
RELAY_OUT = "relay_out"
"""The relay's publication and slot, read by the target's forward subscription."""


def _run(dsn: str, *statements: sql.Composed | str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements:
            cur = conn.execute(statement, params if "%s" in str(statement) else None)
            rows = cur.fetchall() if cur.description else []
    return rows


def _drop_subscription(dsn: str, name: str) -> None:
    if _run(dsn, "SELECT 1 FROM pg_subscription WHERE subname = %s", params=(name,)):
        ident = sql.Identifier(name)
        _run(
            dsn,
            sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(ident),
            sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(ident),
            sql.SQL("DROP SUBSCRIPTION {}").format(ident),
        )


def _subscribe(dsn: str, name: str, connection: str, publication: str, slot: str, *, enabled: bool) -> None:
    _run(
        dsn,
        sql.SQL(
            "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} "
            "WITH (create_slot = false, slot_name = {}, copy_data = false, enabled = {})"
        ).format(
            sql.Identifier(name), sql.Literal(connection), sql.Identifier(publication), sql.Literal(slot), sql.Literal(enabled)
        ),
    )


@contextlib.contextmanager
def relayed(source_dsn: str, target: PostgresServer, database: str) -> Iterator[None]:
    """The forward replication to ``database`` on ``target`` through a relay that confirms on receipt (see the
    module); ``source_dsn``: the source as the target's server reaches it."""
    target_dsn, relay_dsn = target.dsn(database), target.dsn(RELAY_DB)
    native = NativeReplication(source_dsn=source_dsn, target_dsn=target_dsn)
    native.stop_forward()
    applied = _run(
        target_dsn,
        "SELECT s.remote_lsn::text FROM pg_replication_origin_status s JOIN pg_subscription sub "
        "ON s.external_id = 'pg_' || sub.oid WHERE sub.subname = %s",
        params=(FORWARD_NAME,),
    )
    _drop_subscription(target_dsn, FORWARD_NAME)
    _run(
        target.dsn("postgres"),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(RELAY_DB), sql.Identifier(database)),
        params=(database,),
    )
    try:
        _run(
            relay_dsn,
            sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(RELAY_OUT)),
            sql.SQL("SELECT pg_create_logical_replication_slot({}, 'pgoutput')").format(sql.Literal(RELAY_OUT)),
        )
        _subscribe(relay_dsn, RELAY_IN, source_dsn, FORWARD_NAME, FORWARD_NAME, enabled=False)
        if applied and applied[0][0]:  # the relay starts where the target's apply stood: nothing twice, nothing skipped
            _run(
                relay_dsn,
                "SELECT pg_replication_origin_advance('pg_' || oid, %s::pg_lsn) FROM pg_subscription WHERE subname = %s",
                params=(applied[0][0], RELAY_IN),
            )
        _run(relay_dsn, sql.SQL("ALTER SUBSCRIPTION {} ENABLE").format(sql.Identifier(RELAY_IN)))
        _subscribe(target_dsn, FORWARD_NAME, relay_dsn, RELAY_OUT, RELAY_OUT, enabled=True)
        yield
    finally:
        running = bool(_run(target_dsn, "SELECT subenabled FROM pg_subscription WHERE subname = %s", params=(FORWARD_NAME,)))
        running = running and bool(
            _run(target_dsn, "SELECT subenabled FROM pg_subscription WHERE subname = %s", params=(FORWARD_NAME,))[0][0]
        )
        _drop_subscription(target_dsn, FORWARD_NAME)
        _drop_subscription(relay_dsn, RELAY_IN)
        _run(
            relay_dsn,
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s",
            params=(RELAY_OUT,),
        )
        _run(target.dsn("postgres"), sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(RELAY_DB)))
        # Back to the plain topology, from the source slot's confirmed position (a fresh subscription has no origin).
        _subscribe(target_dsn, FORWARD_NAME, source_dsn, FORWARD_NAME, FORWARD_NAME, enabled=running)
