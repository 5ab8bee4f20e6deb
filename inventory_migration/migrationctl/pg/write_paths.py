"""Who can write a user relation here, by any path PostgreSQL allows, asked of PostgreSQL itself.

The freeze's promise is an outcome: *no role outside the exempt ones can change a user table*. This module answers
that question through the catalogue's own privilege functions (``has_table_privilege``, ``has_any_column_privilege``,
``has_function_privilege``), not by re-reading the ACLs the freeze changed. For every role that can log in it walks
every role it can act as — itself and every role it is a member of, directly or through other roles, with or without
``INHERIT`` (``SET ROLE`` reaches them) — and reports each way it can write:

=================== ===========================================================================================
kind                path
=================== ===========================================================================================
``superuser``       it is, or can ``SET ROLE`` to, a superuser
``owner``           it is, or can act as, the owner of a user relation: it can grant itself any privilege back
``grant``           a table-level INSERT, UPDATE, DELETE or TRUNCATE (its own, a group's, PUBLIC's, or a
                    predefined role's such as ``pg_write_all_data``), on a table, view or foreign table
``column grant``    a column-level INSERT or UPDATE
``routine``         EXECUTE on a ``SECURITY DEFINER`` function or procedure in a user schema whose owner can write
                    (a superuser, or a role with one of the paths above through its inherited privileges)
=================== ===========================================================================================

What this leaves out (a model, not a proof): writes through a connection the database opens to itself with stored
credentials (``dblink``, ``postgres_fdw`` loopback user mappings), routines that ``GRANT`` dynamically, large objects,
sequences (``nextval`` changes no table), and temporary tables. Membership is followed whatever its ``INHERIT`` and
(PostgreSQL 16) ``SET`` options say, so a path through a membership that can be neither inherited nor set is reported
although it cannot be used: a false alarm, never a miss. A superuser's implicit membership in every role is not
followed (it would make every role reachable); superusers are reported as such.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import psycopg

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.objects import user_object, user_schema

INTERNAL_ROLES = ("rdsadmin", "rdsrepladmin", "rdstopmgr")
"""Roles the managed service logs in as on RDS and Aurora: not the operator's to freeze or exempt."""

REACH = """
    reach(start, role) AS (
        SELECT oid, oid FROM pg_roles
        UNION
        SELECT r.start, m.roleid FROM reach r JOIN pg_auth_members m ON m.member = r.role
    )"""
"""A recursive CTE: every role each role can act as (itself and its memberships, followed through other roles).
Built from ``pg_auth_members``, not ``pg_has_role``, which answers yes for a superuser and every role."""

USER_RELATIONS = f"""
    SELECT c.oid, format('%%I.%%I', n.nspname, c.relname) AS name, c.relkind, c.relowner, c.relacl
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'f') AND {user_schema("n.nspname")} AND {user_object("c.relname")}"""
"""Every user relation a write can reach: tables (plain and partitioned), views and foreign tables."""

_CAN_WRITE = (
    "(has_table_privilege({r}, rel.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') "
    "OR has_any_column_privilege({r}, rel.oid, 'INSERT, UPDATE'))"
)

_HAS = "CASE WHEN priv.col THEN has_any_column_privilege({r}, {rel}, priv.p) ELSE has_table_privilege({r}, {rel}, priv.p) END"
"""SQL: role ``{r}`` holds write ``priv.p`` on relation ``{rel}`` (on some column when ``priv.col``)."""

_PATHS = f"""
WITH RECURSIVE {REACH},
rel AS ({USER_RELATIONS}),
login AS (
    SELECT oid, rolname FROM pg_roles
    WHERE rolcanlogin AND rolname NOT LIKE 'pg\\_%%' AND rolname <> ALL(%(internal)s) AND rolname <> ALL(%(skip)s)
      AND (%(only)s::text[] IS NULL OR rolname = ANY(%(only)s))
),
ident AS (
    SELECT l.rolname AS login, g.oid, g.rolname AS via, g.rolsuper
    FROM login l JOIN reach r ON r.start = l.oid JOIN pg_roles g ON g.oid = r.role
),
routine AS (
    SELECT p.oid, format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name,
           o.rolname AS owner
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles o ON o.oid = p.proowner
    WHERE p.prosecdef AND {user_schema("n.nspname")}
      AND (o.rolsuper OR EXISTS (SELECT 1 FROM rel WHERE {_CAN_WRITE.format(r="o.oid")}))
),
path AS (
    SELECT login, 'superuser' AS kind, via, '' AS object FROM ident WHERE rolsuper
    UNION ALL
    SELECT i.login, 'owner', i.via, rel.name FROM ident i JOIN rel ON rel.relowner = i.oid WHERE NOT i.rolsuper
    UNION ALL
    SELECT i.login,
           CASE WHEN has_table_privilege(i.oid, rel.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') THEN 'grant'
                ELSE 'column grant' END,
           i.via, rel.name
    FROM ident i CROSS JOIN rel
    WHERE NOT i.rolsuper AND rel.relowner <> i.oid AND {_CAN_WRITE.format(r="i.oid")}
    UNION ALL
    SELECT i.login, 'routine', i.via, routine.name || ' (owner ' || routine.owner || ')'
    FROM ident i CROSS JOIN routine
    WHERE NOT i.rolsuper AND routine.owner <> i.via AND has_function_privilege(i.oid, routine.oid, 'EXECUTE')
)
SELECT login, kind, via, count(DISTINCT object), min(object) FROM path GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


@dataclasses.dataclass(frozen=True)
class WritePath:
    """One way a login role can write: ``count`` relations (or routines) of one kind, acting as ``via``."""

    role: str
    kind: str
    via: str
    count: int
    example: str

    @property
    def line(self) -> str:
        through = "" if self.via == self.role else f" as {self.via}"
        if self.kind == "superuser":
            return f"{self.role}: superuser{through}"
        what = f"{self.count} relation(s), e.g. {self.example}" if self.kind != "routine" else f"{self.example}"
        return f"{self.role}: {self.kind}{through} on {what}"

    @property
    def remedy(self) -> str:
        """What the operator does before the window to close this path, when the freeze cannot."""
        if self.via.startswith("pg_"):
            return f"REVOKE {self.via} FROM {self.role}, or exempt {self.role}"
        if self.kind == "superuser":
            return f"name {self.role} in --freeze-roles (set NOLOGIN) or --exempt-roles"
        if self.kind == "owner":
            return f"{self.role} can grant itself writes back as owner {self.via}: freeze it (NOLOGIN) or end the membership"
        if self.kind == "routine":
            return f"REVOKE EXECUTE ON ROUTINE {self.example.split(' (owner')[0]} FROM {self.role} (or make it SECURITY INVOKER)"
        if self.via != self.role:
            return f"{self.role} writes through {self.via}, which an exempt role also uses: grant the exempt role its writes directly"
        return f"name {self.role} in --freeze-roles or --exempt-roles"


def write_paths(conn: psycopg.Connection, *, only: Sequence[str] | None = None, skip: Iterable[str] = ()) -> list[WritePath]:
    """Every way each login role (``only`` those, if given; never ``skip``) can write a user relation here."""
    rows = query(
        conn,
        _PATHS,
        {"internal": list(INTERNAL_ROLES), "skip": list(skip), "only": list(only) if only is not None else None},
    )
    return [WritePath(str(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4] or "")) for r in rows]


def writers(conn: psycopg.Connection, *, skip: Iterable[str] = ()) -> dict[str, str]:
    """Every login role that can write some user relation, and how: ``role -> "path; path"``."""
    out: dict[str, list[str]] = {}
    for path in write_paths(conn, skip=skip):
        out.setdefault(path.role, []).append(path.line.split(": ", 1)[1])
    return {role: "; ".join(lines) for role, lines in out.items()}


VIEW_CHAIN = """
    view_dep(view, base) AS (  -- the relations a view's rule reads and writes
        SELECT DISTINCT rw.ev_class, d.refobjid FROM pg_rewrite rw
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass
        WHERE d.refobjid <> rw.ev_class
    ),
    chain(role, top, base, checker) AS (  -- whose privilege PostgreSQL checks on each relation under a view
        SELECT r.oid, v.oid, vd.base, CASE WHEN {invoker} THEN r.oid ELSE v.relowner END
        FROM pg_roles r JOIN pg_class v ON v.relkind = 'v' JOIN view_dep vd ON vd.view = v.oid
        WHERE r.rolname = ANY(%(roles)s)
        UNION
        SELECT c.role, c.top, vd.base, CASE WHEN {invoker_b} THEN c.checker ELSE b.relowner END
        FROM chain c JOIN pg_class b ON b.oid = c.base AND b.relkind = 'v' JOIN view_dep vd ON vd.view = b.oid
    )""".format(
    invoker="coalesce(array_to_string(v.reloptions, ',') ~ 'security_invoker=(true|on|yes|1)', false)",
    invoker_b="coalesce(array_to_string(b.reloptions, ',') ~ 'security_invoker=(true|on|yes|1)', false)",
)
"""A recursive CTE: for each of ``%(roles)s`` and each view, every relation beneath it (through views on views) with
the role whose privilege PostgreSQL checks there — the view owner's, or the caller's for a ``security_invoker`` view
(PostgreSQL 15+)."""


def written_relations(conn: psycopg.Connection, roles: Sequence[str]) -> dict[str, set[str]]:
    """For each of ``roles``: every write it can make by its own (inherited) privileges — ``"<privilege> on
    <relation>"``, column writes as ``"<privilege> (a column) on <relation>"`` and, on a table, each column's as
    ``"<privilege> (<column>) on <relation>"`` (a freeze that takes one column from an exempt role is seen) — and every ``SECURITY DEFINER`` routine
    in a user schema it can execute (``"EXECUTE on <routine>"``). A write through a view counts only while every
    relation beneath it (views on views followed) admits it for the role PostgreSQL checks there."""
    rows = query(
        conn,
        f"""
        WITH RECURSIVE {VIEW_CHAIN},
        rel AS ({USER_RELATIONS}), priv(p, col) AS (
            VALUES ('INSERT', false), ('UPDATE', false), ('DELETE', false), ('TRUNCATE', false),
                   ('INSERT', true), ('UPDATE', true))
        SELECT r.rolname, priv.p || CASE WHEN priv.col THEN ' (a column)' ELSE '' END || ' on ' || rel.name
        FROM pg_roles r CROSS JOIN rel CROSS JOIN priv
        WHERE r.rolname = ANY(%(roles)s) AND {_HAS.format(r="r.oid", rel="rel.oid")}
          AND NOT EXISTS (
                SELECT 1 FROM chain c WHERE c.role = r.oid AND c.top = rel.oid
                  AND NOT {_HAS.format(r="c.checker", rel="c.base")})
        UNION ALL
        SELECT r.rolname, cp.p || ' (' || quote_ident(a.attname) || ') on ' || rel.name
        FROM pg_roles r CROSS JOIN rel JOIN pg_class t ON t.oid = rel.oid AND t.relkind IN ('r', 'p', 'f')
        JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
        CROSS JOIN (VALUES ('INSERT'), ('UPDATE')) AS cp(p)
        WHERE r.rolname = ANY(%(roles)s) AND has_column_privilege(r.oid, rel.oid, a.attnum, cp.p)
        UNION ALL
        SELECT r.rolname, 'EXECUTE on ' || p.oid::regprocedure::text
        FROM pg_roles r CROSS JOIN pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_roles o ON o.oid = p.proowner
        WHERE r.rolname = ANY(%(roles)s) AND p.prosecdef AND {user_schema("n.nspname")}
          AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
          AND (o.rolsuper OR EXISTS (SELECT 1 FROM rel WHERE {_CAN_WRITE.format(r="o.oid")}))""",
        {"roles": list(roles)},
    )
    out: dict[str, set[str]] = {role: set() for role in roles}
    for role, relation in rows:
        out[str(role)].add(str(relation))
    return out


def writes_acting_as(conn: psycopg.Connection, roles: Sequence[str]) -> dict[str, set[str]]:
    """For each of ``roles``: every write it can make as itself or as any role it can become (``SET ROLE`` through
    its memberships, with or without ``INHERIT``) — :func:`written_relations` of each, those made as another role
    prefixed ``"as <role>: "``."""
    reach = {role: reachable(conn, [role]) for role in roles}
    identities = sorted({identity for found in reach.values() for identity in found})
    writes = written_relations(conn, identities)
    return {
        role: {write if identity == role else f"as {identity}: {write}" for identity in reach[role] for write in writes[identity]}
        for role in roles
    }


def definer_routines(conn: psycopg.Connection, roles: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(role, routine, owner)`` for every ``SECURITY DEFINER`` routine in a user schema each of ``roles`` can
    execute: what they write through runs with the owner's privileges."""
    rows = query(
        conn,
        f"""
        SELECT r.rolname, p.oid::regprocedure::text, o.rolname
        FROM pg_roles r CROSS JOIN pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_roles o ON o.oid = p.proowner
        WHERE r.rolname = ANY(%(roles)s) AND p.prosecdef AND {user_schema("n.nspname")}
          AND has_function_privilege(r.oid, p.oid, 'EXECUTE') AND o.oid <> r.oid
        ORDER BY 1, 2""",
        {"roles": list(roles)},
    )
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def reachable(conn: psycopg.Connection, roles: Sequence[str]) -> list[str]:
    """Every role ``roles`` can act as (themselves and their memberships, followed), sorted."""
    rows = query(
        conn,
        f"WITH RECURSIVE {REACH} SELECT DISTINCT g.rolname FROM reach r JOIN pg_roles s ON s.oid = r.start "
        "JOIN pg_roles g ON g.oid = r.role WHERE s.rolname = ANY(%(roles)s) ORDER BY 1",
        {"roles": list(roles)},
    )
    return [str(r[0]) for r in rows]
