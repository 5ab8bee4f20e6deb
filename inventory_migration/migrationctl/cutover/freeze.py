"""The freeze: application writes stop on the side being left, in a way no session can undo.

``default_transaction_read_only`` is only a session default (any session can ``SET`` it off or begin a ``READ WRITE``
transaction; it is not inherited through group roles). The freeze takes the **write privileges** away instead:
``INSERT``, ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on every user table are revoked from every role through which a
frozen role holds them (the role itself, and the groups it inherits from). Reads keep working. A session cannot grant
itself a privilege back — except an owner of the table, or a superuser — so those frozen roles are also set
``NOLOGIN`` and their sessions ended. Then every session of a frozen role that holds a write transaction begun before
the revoke is ended (it rolls back); sessions that reconnect can read but not write, so the loop converges under a pool
that reconnects every few milliseconds.

What was revoked is the freeze's :class:`Record`; it is written to the journal *before* anything is revoked (merged
with any earlier record, so a run killed inside the freeze loses nothing), and the unfreeze grants exactly that back —
on the same side, or, when the switch opens the other side, there (the two databases have the same tables).

Cost, measured on PostgreSQL 16 (``scripts/benchmark_freeze.py``): revoking from one role on 5,000 tables is one
catalogue update per table — see ``docs/runbook.md`` for the figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg.objects import USER_TABLES
from inventory_migration.migrationctl.pg.privileges import WRITE_PRIVILEGES
from inventory_migration.migrationctl.polling import poll


@dataclasses.dataclass(frozen=True)
class Record:
    """What a freeze took away: write grants (grantee -> privilege -> tables) and the roles set NOLOGIN."""

    grants: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)
    nologin: tuple[str, ...] = ()

    def merged(self, other: Record) -> Record:
        grants = {g: {p: sorted(set(t)) for p, t in by_priv.items()} for g, by_priv in self.grants.items()}
        for grantee, by_privilege in other.grants.items():
            for privilege, tables in by_privilege.items():
                mine = grants.setdefault(grantee, {}).setdefault(privilege, [])
                grants[grantee][privilege] = sorted(set(mine) | set(tables))
        return Record(grants, tuple(sorted(set(self.nologin) | set(other.nologin))))

    def to_json(self) -> dict[str, Any]:
        return {"grants": self.grants, "nologin": list(self.nologin)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Record:
        data = data or {}
        return cls(
            {g: {p: list(t) for p, t in v.items()} for g, v in data.get("grants", {}).items()}, tuple(data.get("nologin", ()))
        )

    @property
    def tables(self) -> int:
        return len({t for by_priv in self.grants.values() for tables in by_priv.values() for t in tables})


def writers(conn: psycopg.Connection) -> dict[str, str]:
    """Every role that can log in and write some user table, and how: ``role -> why`` (superuser, owner, a grant to it
    or to a group it inherits from, PUBLIC, ``pg_write_all_data``)."""
    rows = query(
        conn,
        f"""
        WITH t AS ({USER_TABLES}),
        acl AS (SELECT t.name, t.relowner, (aclexplode(coalesce(t.relacl, acldefault('r', t.relowner)))).* FROM t),
        grantees AS (
            SELECT DISTINCT grantee AS oid, 'a write grant' AS how FROM acl WHERE privilege_type = ANY(%(privileges)s)
            UNION SELECT DISTINCT relowner, 'owns tables' FROM t
            UNION SELECT oid, 'pg_write_all_data' FROM pg_roles WHERE rolname = 'pg_write_all_data'
        )
        SELECT r.rolname,
               CASE WHEN r.rolsuper THEN 'superuser'
                    WHEN EXISTS (SELECT 1 FROM grantees g WHERE g.oid = 0) THEN 'PUBLIC may write'
                    ELSE (SELECT string_agg(DISTINCT g.how || CASE WHEN g.oid <> r.oid THEN ' (through ' || gr.rolname || ')' ELSE '' END, '; ')
                          FROM grantees g JOIN pg_roles gr ON gr.oid = g.oid
                          WHERE CASE WHEN g.oid = 0 THEN false ELSE pg_has_role(r.oid, g.oid, 'USAGE') END)
               END
        FROM pg_roles r
        WHERE r.rolcanlogin AND r.rolname NOT LIKE 'pg\\_%%' AND r.rolname NOT IN ('rdsadmin', 'rdsrepladmin', 'rdstopmgr')
          AND (r.rolsuper OR EXISTS (
                SELECT 1 FROM grantees g WHERE CASE WHEN g.oid = 0 THEN true ELSE pg_has_role(r.oid, g.oid, 'USAGE') END))
        ORDER BY 1""",
        {"privileges": list(WRITE_PRIVILEGES)},
    )
    return {str(r[0]): str(r[1] or "") for r in rows}


def prepared_transactions(conn: psycopg.Connection) -> list[str]:
    """Prepared transactions of this database: each could still commit a write on a frozen side."""
    rows = query(conn, "SELECT gid, owner FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared")
    return [f"{r[0]} (owner {r[1]})" for r in rows]


def grantees(conn: psycopg.Connection, roles: Sequence[str]) -> list[str]:
    """The roles through which ``roles`` hold privileges: themselves and every group they inherit from."""
    rows = query(
        conn,
        "SELECT DISTINCT g.rolname FROM pg_roles r JOIN pg_roles g ON pg_has_role(r.oid, g.oid, 'USAGE') "
        "WHERE r.rolname = ANY(%s) AND g.rolname NOT LIKE 'pg\\_%%' ORDER BY 1",
        (list(roles),),
    )
    return [str(r[0]) for r in rows]


def plan(conn: psycopg.Connection, roles: Sequence[str]) -> Record:
    """What freezing ``roles`` takes away on this side (nothing changes)."""
    through = grantees(conn, roles)
    rows = query(
        conn,
        f"""
        WITH t AS ({USER_TABLES})
        SELECT g.rolname, a.privilege_type, t.name
        FROM t CROSS JOIN LATERAL aclexplode(coalesce(t.relacl, acldefault('r', t.relowner))) a
        JOIN pg_roles g ON g.oid = a.grantee
        WHERE g.rolname = ANY(%(grantees)s) AND a.privilege_type = ANY(%(privileges)s)
        ORDER BY 1, 2, 3""",
        {"grantees": through, "privileges": list(WRITE_PRIVILEGES)},
    )
    grants: dict[str, dict[str, list[str]]] = {}
    for grantee, privilege, table in rows:
        grants.setdefault(str(grantee), {}).setdefault(str(privilege), []).append(str(table))
    owners_or_super = query(
        conn,
        f"""
        SELECT r.rolname FROM pg_roles r
        WHERE r.rolname = ANY(%(roles)s) AND r.rolcanlogin
          AND (r.rolsuper OR EXISTS (SELECT 1 FROM ({USER_TABLES}) t WHERE pg_has_role(r.oid, t.relowner, 'USAGE')))
        ORDER BY 1""",
        {"roles": list(roles)},
    )
    return Record(grants, tuple(str(r[0]) for r in owners_or_super))


def _grant_statements(record: Record, verb: str) -> Iterable[sql.Composed]:
    word = sql.SQL("TO" if verb == "GRANT" else "FROM")
    for grantee, by_privilege in record.grants.items():
        for privilege, tables in by_privilege.items():
            for i in range(0, len(tables), 1000):  # one statement per 1,000 tables
                yield sql.SQL("{} {} ON TABLE {} {} {}").format(
                    sql.SQL(verb),
                    sql.SQL(privilege),
                    sql.SQL(", ").join(sql.SQL(t) for t in tables[i : i + 1000]),
                    word,
                    sql.Identifier(grantee),
                )


def revoke(conn: psycopg.Connection, record: Record) -> None:
    """Take away what ``record`` lists (idempotent: revoking what is already gone changes nothing)."""
    with conn.transaction():
        for statement in _grant_statements(record, "REVOKE"):
            query(conn, statement)
        for role in record.nologin:
            query(conn, sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))


def present(conn: psycopg.Connection, record: Record) -> Record:
    """``record`` without the roles and tables this side does not have (the other side of the migration)."""
    existing_roles = {r[0] for r in query(conn, "SELECT rolname FROM pg_roles")}
    existing_tables = {str(r[1]) for r in query(conn, USER_TABLES, ())}
    return Record(
        {
            g: {p: kept for p, tables in by_priv.items() if (kept := [t for t in tables if t in existing_tables])}
            for g, by_priv in record.grants.items()
            if g in existing_roles
        },
        tuple(r for r in record.nologin if r in existing_roles),
    )


def only(record: Record, grantees: Iterable[str]) -> Record:
    """The part of ``record`` granted to ``grantees``."""
    wanted = set(grantees)
    return Record({g: v for g, v in record.grants.items() if g in wanted}, tuple(r for r in record.nologin if r in wanted))


def restore(conn: psycopg.Connection, record: Record) -> None:
    """Grant back what ``record`` lists (idempotent)."""
    with conn.transaction():
        for statement in _grant_statements(record, "GRANT"):
            query(conn, statement)
        for role in record.nologin:
            query(conn, sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(role)))


def end_writing_sessions(
    conn: psycopg.Connection, roles: Sequence[str], *, nologin: Sequence[str] = (), timeout: float = 30.0
) -> int:
    """End every session of ``roles`` (and of roles inheriting from them) that holds a write transaction begun before
    now, and every session of a ``nologin`` role; wait until none is left. Sessions that reconnect cannot write any
    more, so this converges under a reconnecting pool. Returns how many were ended."""
    started = query(conn, "SELECT clock_timestamp()")[0][0]
    ended = 0

    def none_left() -> bool:
        nonlocal ended
        rows = query(
            conn,
            """
            SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_roles u ON u.oid = a.usesysid
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
              AND (u.rolname = ANY(%(nologin)s)
                   OR (EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = ANY(%(roles)s) AND pg_has_role(u.oid, r.oid, 'USAGE'))
                       AND a.backend_xid IS NOT NULL AND a.xact_start < %(started)s))""",
            {"roles": list(roles), "nologin": list(nologin), "started": started},
        )
        ended += len(rows)
        return not rows

    poll(
        none_left,
        timeout=timeout,
        interval=0.01,
        timed_out=lambda: UsageError(f"write transactions of {', '.join(roles)} still open {timeout:.0f} s after the freeze"),
    )
    return ended


def can_write(conn: psycopg.Connection, role: str) -> bool:
    """Whether ``role`` can write some user table here (directly, through a group, as owner or superuser)."""
    return role in writers(conn)
