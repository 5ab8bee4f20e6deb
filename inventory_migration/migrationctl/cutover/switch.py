"""The moving parts of a switch: freezing a database for the applications, and the load balancer's weights.

**Freeze** makes a database read-only for the application roles only: ``ALTER ROLE … SET
default_transaction_read_only = on`` for new sessions, then their existing sessions are ended (an in-flight transaction
rolls back; the client retries and finds the database read-only, or the other one through the load balancer).
Replication (DMS, subscriptions) and the migration's own sessions are not application roles and keep writing.

**Weights**: the HTTPS listener forwards to blue and green with weights; :func:`set_weights` writes exactly the action
the stack declares for a phase (forward, both target groups, stickiness off), so the next ``cdktf deploy`` of that
phase plans no change to the listener.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.polling import poll

READ_ONLY_SQLSTATE = "25006"
"""``read_only_sql_transaction``: what an application sees when it writes to a frozen database."""


def existing_roles(conn: psycopg.Connection, roles: Sequence[str]) -> list[str]:
    found = {r[0] for r in query(conn, "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles),))}
    missing = [r for r in roles if r not in found]
    if missing:
        raise UsageError(f"application role(s) not found: {', '.join(missing)}")
    return list(roles)


def set_read_only(conn: psycopg.Connection, roles: Sequence[str], read_only: bool) -> None:
    """Make new sessions of ``roles`` read-only (or writable again) in the current database."""
    database = query(conn, "SELECT current_database()")[0][0]
    for role in existing_roles(conn, roles):
        if read_only:
            statement = sql.SQL("ALTER ROLE {} IN DATABASE {} SET default_transaction_read_only = on")
        else:
            statement = sql.SQL("ALTER ROLE {} IN DATABASE {} RESET default_transaction_read_only")
        query(conn, statement.format(sql.Identifier(role), sql.Identifier(database)))


def is_read_only(conn: psycopg.Connection, role: str) -> bool:
    rows = query(
        conn,
        "SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole JOIN pg_database d ON d.oid = s.setdatabase "
        "WHERE r.rolname = %s AND d.datname = current_database() AND 'default_transaction_read_only=on' = ANY(s.setconfig)",
        (role,),
    )
    return bool(rows)


def end_sessions(conn: psycopg.Connection, roles: Sequence[str], *, timeout: float = 10.0) -> int:
    """Terminate every session of ``roles`` in this database and wait until they are gone; how many there were."""
    ended = 0

    def none_left() -> bool:
        nonlocal ended
        rows = query(
            conn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY(%s) AND datname = current_database() "
            "AND pid <> pg_backend_pid()",
            (list(roles),),
        )
        ended += len(rows)
        return not rows

    poll(
        none_left,
        timeout=timeout,
        interval=0.01,
        timed_out=lambda: UsageError(f"sessions of {', '.join(roles)} still alive {timeout:.0f} s after pg_terminate_backend"),
    )
    return ended


def freeze(conn: psycopg.Connection, roles: Sequence[str]) -> int:
    """Read-only for ``roles`` from now on; returns the number of sessions ended."""
    set_read_only(conn, roles, True)
    return end_sessions(conn, roles)


def unfreeze(conn: psycopg.Connection, roles: Sequence[str]) -> int:
    """Writable again for ``roles``; sessions opened while frozen are ended so they reconnect writable. A repeat (the
    roles are writable already) ends nothing."""
    frozen = [r for r in existing_roles(conn, roles) if is_read_only(conn, r)]
    if not frozen:
        return 0
    set_read_only(conn, frozen, False)
    return end_sessions(conn, frozen)


# --------------------------------------------------------------------------------------------- load balancer


@dataclasses.dataclass(frozen=True, kw_only=True)
class Listener:
    """The blue-green listener (``terraform output``: https_listener_arn, blue/green_target_group_arn)."""

    listener_arn: str
    blue_target_group_arn: str
    green_target_group_arn: str


def forward_action(listener: Listener, blue_weight: int, green_weight: int) -> dict[str, Any]:
    """The listener's default action as the stack declares it for these weights."""
    return {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": listener.blue_target_group_arn, "Weight": blue_weight},
                {"TargetGroupArn": listener.green_target_group_arn, "Weight": green_weight},
            ],
            "TargetGroupStickinessConfig": {"Enabled": False, "DurationSeconds": 1},
        },
    }


def weights(elbv2: Any, listener: Listener) -> dict[str, int]:
    """Current weights by colour."""
    described = elbv2.describe_listeners(ListenerArns=[listener.listener_arn])["Listeners"][0]
    action = described["DefaultActions"][0]
    by_arn = {g["TargetGroupArn"]: int(g.get("Weight", 0)) for g in action.get("ForwardConfig", {}).get("TargetGroups", [])}
    return {
        "blue": by_arn.get(listener.blue_target_group_arn, 0),
        "green": by_arn.get(listener.green_target_group_arn, 0),
    }


def set_weights(elbv2: Any, listener: Listener, blue_weight: int, green_weight: int) -> None:
    """Send all traffic to one colour (idempotent)."""
    if weights(elbv2, listener) == {"blue": blue_weight, "green": green_weight}:
        return
    elbv2.modify_listener(ListenerArn=listener.listener_arn, DefaultActions=[forward_action(listener, blue_weight, green_weight)])
