"""``cleanup``: after decommission, what the migration left in the two databases goes — above all the replication
slots, which keep WAL on the on-prem disk until it fills.

What is the migration's: the slots, publications and subscriptions it created (:data:`OUR_SLOTS`,
:data:`OUR_REPLICATION`) and any slot named with ``--slot`` (DMS names its own slot; ``status`` lists them), the
``migration_control`` schema (the fence), and every object AWS DMS creates (``awsdms_*`` tables, sequences, functions
and event triggers). Anything else is left alone. A dry run by default (the plan, exit 0); ``--apply`` acts, and is
refused while a DMS task still runs.
"""

from __future__ import annotations

import dataclasses

import psycopg
from psycopg import sql

from inventory_migration.contracts.names import CONTROL_SCHEMA, REVERSE_SLOT_NAME
from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.objects import DMS_OBJECT_PREFIX
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME, REVERSE_NAME

OUR_SLOTS = (FORWARD_NAME, REVERSE_NAME, REVERSE_SLOT_NAME)
"""Slots the kit creates: the native forward and way back, and the DMS way back's on Aurora."""
OUR_REPLICATION = (FORWARD_NAME, REVERSE_NAME)
"""Publications and subscriptions of the native replication."""


@dataclasses.dataclass(frozen=True)
class Action:
    side: str
    what: str
    statement: sql.Composed


def plan(conn: psycopg.Connection, side: str, *, slots: tuple[str, ...] = ()) -> list[Action]:
    """Everything of the migration's on ``conn``'s side, as the statements that drop it."""
    actions: list[Action] = []
    for (name,) in query(
        conn, "SELECT subname FROM pg_subscription WHERE subname = ANY(%s) ORDER BY 1", (list(OUR_REPLICATION),)
    ):
        ident = sql.Identifier(name)
        actions += [
            Action(side, f"subscription {name}", sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(ident)),
            Action(side, f"subscription {name}", sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(ident)),
            Action(side, f"subscription {name}", sql.SQL("DROP SUBSCRIPTION {}").format(ident)),
        ]
    for (name,) in query(conn, "SELECT pubname FROM pg_publication WHERE pubname = ANY(%s) ORDER BY 1", (list(OUR_REPLICATION),)):
        actions.append(Action(side, f"publication {name}", sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(name))))
    wanted = [*OUR_SLOTS, *slots]
    for (name,) in query(
        conn,
        "SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY(%s) AND database = current_database() ORDER BY 1",
        (wanted,),
    ):
        actions.append(
            Action(side, f"replication slot {name}", sql.SQL("SELECT pg_drop_replication_slot({})").format(sql.Literal(name)))
        )
    like = DMS_OBJECT_PREFIX.replace("_", "\\_") + "%"
    for (name,) in query(conn, "SELECT evtname FROM pg_event_trigger WHERE evtname LIKE %s ORDER BY 1", (like,)):
        actions.append(Action(side, f"event trigger {name}", sql.SQL("DROP EVENT TRIGGER {}").format(sql.Identifier(name))))
    for schema, name, kind in query(
        conn,
        "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname LIKE %s AND c.relkind IN ('r', 'S', 'v') ORDER BY c.relkind DESC, 1, 2",
        (like,),
    ):
        word = {"r": "TABLE", "S": "SEQUENCE", "v": "VIEW"}[kind]
        actions.append(
            Action(
                side,
                f"{word.lower()} {schema}.{name}",
                sql.SQL("DROP " + word + " IF EXISTS {} CASCADE").format(sql.Identifier(schema, name)),
            )
        )
    for schema, name, args in query(
        conn,
        "SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname LIKE %s ORDER BY 1, 2",
        (like,),
    ):
        actions.append(
            Action(
                side,
                f"function {schema}.{name}({args})",
                sql.SQL("DROP FUNCTION IF EXISTS {}(" + args + ") CASCADE").format(sql.Identifier(schema, name)),
            )
        )
    if query(conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", (CONTROL_SCHEMA,)):
        actions.append(
            Action(
                side,
                f"schema {CONTROL_SCHEMA} (the fence)",
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(CONTROL_SCHEMA)),
            )
        )
    return actions


def others(conn: psycopg.Connection, *, slots: tuple[str, ...] = ()) -> list[str]:
    """Logical slots of this database that are not named as the migration's: left alone, listed for the operator."""
    rows = query(
        conn,
        "SELECT slot_name, plugin FROM pg_replication_slots WHERE slot_type = 'logical' AND database = current_database() "
        "AND NOT slot_name = ANY(%s) ORDER BY 1",
        ([*OUR_SLOTS, *slots],),
    )
    return [f"{r[0]} ({r[1]})" for r in rows]


def apply(conn: psycopg.Connection, actions: list[Action]) -> None:
    for action in actions:
        query(conn, action.statement)
