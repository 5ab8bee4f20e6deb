"""Write grants as data: one :class:`Grant` per ACL entry, read from the catalogue, taken away and given back exactly.

An ACL entry is (object, privilege, grantee, grantor, with grant option). ``REVOKE`` by anyone but the grantor does
not remove it — a superuser or the owner's member acts as the *owner*, so a grant made by a role holding the privilege
``WITH GRANT OPTION`` survives their ``REVOKE``; and revoking a grant another grant depends on fails with "dependent
privileges exist". So each entry is revoked *as its grantor* (``SET ROLE``), the entries a chain depends on last, and
given back as its grantor with its grant option, the chain's roots first: the ACL afterwards is the one before
(compared as data: ``aclexplode`` of each object's ACL, a NULL ACL read as its default).

Objects: user tables, views and foreign tables (INSERT, UPDATE, DELETE, TRUNCATE), their columns (INSERT, UPDATE),
and ``SECURITY DEFINER`` routines in user schemas whose owner is kept writing (EXECUTE): a routine runs with its
owner's privileges, so calling it is a write path of its own.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.objects import user_schema
from inventory_migration.migrationctl.pg.write_paths import REACH, USER_RELATIONS

TABLE_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
COLUMN_WRITES = ("INSERT", "UPDATE")
PUBLIC = "PUBLIC"
"""The grantee name of a grant to everyone (``aclitem`` grantee 0)."""
BATCH = 1000
"""Objects per GRANT/REVOKE statement."""


class Kind(enum.Enum):
    TABLE = "table"
    COLUMN = "column"
    ROUTINE = "routine"


@dataclasses.dataclass(frozen=True, order=True)
class Grant:
    """One ACL entry that writes (or calls a routine that writes)."""

    kind: Kind = dataclasses.field(compare=False)
    target: str
    """The relation (``schema.name``) or routine (``schema.name(args)``), quoted as SQL wants it."""
    column: str
    """The column (quoted), for :attr:`Kind.COLUMN`; else empty."""
    privilege: str
    grantee: str
    """A role name, or :data:`PUBLIC`."""
    grantor: str
    """The role that made the grant; empty: whoever runs the statement (records from before grantors were kept)."""
    grantable: bool

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind.value, self.target, self.column, self.privilege)

    def to_json(self) -> list[Any]:
        return [self.kind.value, self.target, self.column, self.privilege, self.grantee, self.grantor, self.grantable]

    @classmethod
    def from_json(cls, row: Sequence[Any]) -> Grant:
        kind, target, column, privilege, grantee, grantor, grantable = row
        return cls(Kind(kind), str(target), str(column), str(privilege), str(grantee), str(grantor), bool(grantable))


_ENTRIES = f"""
WITH RECURSIVE {REACH},
keep AS (SELECT DISTINCT r.role FROM reach r JOIN pg_roles k ON k.oid = r.start WHERE k.rolname = ANY(%(keep)s)),
rel AS ({USER_RELATIONS}),
entry AS (
    SELECT 'table' AS kind, rel.name AS target, '' AS col, a.privilege_type, a.grantee, a.grantor, a.is_grantable
    FROM rel CROSS JOIN LATERAL aclexplode(coalesce(rel.relacl, acldefault('r', rel.relowner))) a
    WHERE a.privilege_type = ANY(%(table_writes)s)
    UNION ALL
    SELECT 'column', rel.name, quote_ident(att.attname), a.privilege_type, a.grantee, a.grantor, a.is_grantable
    FROM rel JOIN pg_attribute att ON att.attrelid = rel.oid AND att.attnum > 0 AND NOT att.attisdropped
    CROSS JOIN LATERAL aclexplode(att.attacl) a
    WHERE att.attacl IS NOT NULL AND a.privilege_type = ANY(%(column_writes)s)
    UNION ALL
    -- The routine by its argument types only (oidvectortypes): names in the signature ("ref uuid") are not a type
    -- to_regprocedure can read on the other side.
    SELECT 'routine', format('%%I.%%I(%%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)), '',
           a.privilege_type, a.grantee, a.grantor, a.is_grantable
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles o ON o.oid = p.proowner
    CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
    WHERE p.prosecdef AND {user_schema("n.nspname")} AND (o.rolsuper OR o.oid IN (SELECT role FROM keep))
)
SELECT kind, target, col, privilege_type,
       CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee) END, pg_get_userbyid(grantor), is_grantable
FROM entry WHERE grantee NOT IN (SELECT role FROM keep) ORDER BY 2, 3, 4, 5
"""


def write_grants(conn: psycopg.Connection, *, keep: Sequence[str]) -> list[Grant]:
    """Every write grant here whose grantee is not one of the roles ``keep`` can act as (PUBLIC always counts), and
    EXECUTE on every ``SECURITY DEFINER`` routine whose owner is a superuser or one of those roles."""
    rows = query(
        conn,
        _ENTRIES,
        {"keep": list(keep), "table_writes": list(TABLE_WRITES), "column_writes": list(COLUMN_WRITES)},
    )
    return [Grant(Kind(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), bool(r[6])) for r in rows]


def acl_snapshot(conn: psycopg.Connection) -> set[tuple[str, ...]]:
    """Every ACL entry of the user relations, their columns and user-schema routines, as data: what an exact give-back
    must leave unchanged."""
    rows = query(
        conn,
        f"""
        WITH rel AS ({USER_RELATIONS})
        SELECT 'rel', rel.name, '', a.privilege_type, a.grantee::regrole::text, a.grantor::regrole::text, a.is_grantable::text
        FROM rel CROSS JOIN LATERAL aclexplode(coalesce(rel.relacl, acldefault('r', rel.relowner))) a
        UNION ALL
        SELECT 'col', rel.name, att.attname, a.privilege_type, a.grantee::regrole::text, a.grantor::regrole::text,
               a.is_grantable::text
        FROM rel JOIN pg_attribute att ON att.attrelid = rel.oid AND att.attnum > 0 AND NOT att.attisdropped
        CROSS JOIN LATERAL aclexplode(att.attacl) a WHERE att.attacl IS NOT NULL
        UNION ALL
        SELECT 'fn', p.oid::regprocedure::text, '', a.privilege_type, a.grantee::regrole::text, a.grantor::regrole::text,
               a.is_grantable::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
        WHERE {user_schema("n.nspname")}""",
        (),
    )
    return {tuple(str(v) for v in r) for r in rows}


def depths(grants: Iterable[Grant]) -> dict[Grant, int]:
    """How far each grant is from a grant none of ``grants`` depends on: a grant made by a grantee of another (with
    grant option) on the same object and privilege is one further."""
    grants = list(grants)
    by_holder = {(g.key, g.grantee): g for g in grants if g.grantable}
    out: dict[Grant, int] = {}

    def depth(g: Grant, seen: frozenset[Grant] = frozenset()) -> int:
        if g not in out:
            parent = by_holder.get((g.key, g.grantor))
            out[g] = 0 if parent is None or parent in seen or parent == g else depth(parent, seen | {g}) + 1
        return out[g]

    for g in grants:
        depth(g)
    return out


def _grantee(name: str) -> sql.Composable:
    return sql.SQL(PUBLIC) if name == PUBLIC else sql.Identifier(name)


def _object(kind: Kind, targets: Sequence[str]) -> sql.Composable:
    word = "ROUTINE" if kind is Kind.ROUTINE else "TABLE"
    return sql.SQL("{} {}").format(sql.SQL(word), sql.SQL(", ").join(sql.SQL(t) for t in targets))


def statements(grants: Iterable[Grant], verb: str, *, me: str, as_grantor: bool = True) -> Iterator[sql.Composed | sql.SQL]:
    """The ``GRANT`` (chains' roots first) or ``REVOKE`` (dependents first) statements for ``grants``, each run as its
    grantor when ``as_grantor`` (``SET ROLE``; else as ``me``), batched by :data:`BATCH` objects."""
    assert verb in ("GRANT", "REVOKE")
    level = depths(grants)

    def group(g: Grant) -> tuple[Any, ...]:
        by = g.grantor if as_grantor else ""
        column_target = g.target if g.kind is Kind.COLUMN else ""
        return (
            level[g] if verb == "GRANT" else -level[g],
            by,
            g.kind.value,
            g.privilege,
            g.grantee,
            g.grantable and verb == "GRANT",
            column_target,
        )

    order = sorted(level, key=lambda g: (group(g), g.column, g.target))
    acting = me
    for (_, by, kind_value, privilege, grantee, grantable, column_target), members in itertools.groupby(order, key=group):
        wanted = by or me
        if wanted != acting:
            yield sql.SQL("RESET ROLE") if wanted == me else sql.SQL("SET ROLE {}").format(sql.Identifier(wanted))
            acting = wanted
        kind = Kind(kind_value)
        items = sorted({g.column if kind is Kind.COLUMN else g.target for g in members})
        option = sql.SQL(" WITH GRANT OPTION") if grantable else sql.SQL("")
        to = sql.SQL("TO" if verb == "GRANT" else "FROM")
        if kind is Kind.COLUMN:
            chunks: list[sql.Composed] = [
                sql.SQL("{} {} ({}) ON TABLE {}").format(
                    sql.SQL(verb), sql.SQL(privilege), sql.SQL(", ").join(sql.SQL(c) for c in items), sql.SQL(column_target)
                )
            ]
        else:
            chunks = [
                sql.SQL("{} {} ON {}").format(sql.SQL(verb), sql.SQL(privilege), _object(kind, items[i : i + BATCH]))
                for i in range(0, len(items), BATCH)
            ]
        for chunk in chunks:
            yield sql.SQL("{} {} {}{}").format(chunk, to, _grantee(grantee), option)
    if acting != me:
        yield sql.SQL("RESET ROLE")
