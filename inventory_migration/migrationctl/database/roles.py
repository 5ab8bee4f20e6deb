"""``roles copy``: the roles, memberships, grants and default privileges of the user's schemas, source to target.

``schema pre-data`` copies no owner and no privilege (``--no-owner --no-privileges``): on Aurora the migration user
owns the objects. This carries the rest, within Aurora's rules:

* **roles** that hold a privilege or a membership on the user's schemas (and ``--app-roles``), created without a
  password (the operator sets one, or grants ``rds_iam`` for IAM authentication); ``SUPERUSER``, ``REPLICATION`` and
  ``BYPASSRLS`` are not carried (Aurora gives them to no one) and are named;
* **memberships** among them (``GRANT group TO member``, with ``ADMIN OPTION`` where the source has it);
* **grants** on schemas, tables, views, sequences, functions and procedures, to roles other than the owner (and to
  ``PUBLIC``), with ``GRANT OPTION`` where the source has it;
* **default privileges** (``ALTER DEFAULT PRIVILEGES FOR ROLE … IN SCHEMA …``).

The application's roles stay **read-only** on the target until the cutover: their table write privileges (and
their groups') are held back, and the cutover grants them when it opens Aurora. Without ``--apply`` nothing changes
and the command compares: exit 1 while the target lacks something (what it lists). Only what is missing is granted;
nothing is revoked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.objects import user_schema
from inventory_migration.migrationctl.pg.privileges import WRITE_PRIVILEGES

NOT_CARRIED = {"rolsuper": "SUPERUSER", "rolreplication": "REPLICATION", "rolbypassrls": "BYPASSRLS"}
"""Role attributes Aurora gives to no one (``pg_roles`` column: attribute)."""
SYSTEM_ROLES = "r.rolname !~ '^(pg_|rds)' AND r.rolname <> 'rdsadmin' AND r.oid <> 10"
"""PostgreSQL's and Aurora's own roles, and the bootstrap superuser: never carried."""

KIND_OF_RELKIND = {"r": "TABLE", "p": "TABLE", "v": "TABLE", "m": "TABLE", "f": "TABLE", "S": "SEQUENCE"}
DEFAULT_OBJECTS = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}


@dataclasses.dataclass(frozen=True, order=True)
class Role:
    name: str
    login: bool
    inherit: bool
    createdb: bool
    createrole: bool
    connection_limit: int
    not_carried: tuple[str, ...] = ()
    """Attributes the source gives it that the target will not (``SUPERUSER``...)."""


@dataclasses.dataclass(frozen=True, order=True)
class Membership:
    group: str
    member: str
    admin: bool


@dataclasses.dataclass(frozen=True, order=True)
class Grant:
    kind: str
    """``SCHEMA``, ``TABLE``, ``SEQUENCE``, ``FUNCTION`` or ``PROCEDURE``."""
    name: str
    """The object, quoted and qualified (functions with their argument types)."""
    grantee: str
    """A role, or ``PUBLIC``."""
    privilege: str
    grantable: bool


PUBLIC_CREATE = Grant("SCHEMA", "public", "PUBLIC", "CREATE", False)
"""Every role may create objects in ``public``: PostgreSQL's default up to 14, taken away by 15 (CVE-2018-1058). A 13
source has it without anyone having asked for it; it is not carried to the 16 target, and named."""
PUBLIC_CREATE_NOTE = (
    "CREATE ON SCHEMA public TO PUBLIC: PostgreSQL 14's default, which 15 took away (CVE-2018-1058); grant it on the "
    "target only if an application creates objects there"
)


@dataclasses.dataclass(frozen=True, order=True)
class DefaultPrivilege:
    owner: str
    schema: str
    """``""``: in every schema."""
    objects: str
    """``TABLES``, ``SEQUENCES``, ``FUNCTIONS``, ``TYPES`` or ``SCHEMAS``."""
    grantee: str
    privilege: str
    grantable: bool


@dataclasses.dataclass(frozen=True)
class Catalog:
    """One side's roles, memberships, grants and default privileges on the user's schemas."""

    roles: dict[str, Role]
    memberships: frozenset[Membership]
    grants: frozenset[Grant]
    defaults: frozenset[DefaultPrivilege]


_GRANTEE = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END"
_GRANTS_SQL = f"""
SELECT 'SCHEMA', format('%I', n.nspname), {_GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_namespace n CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
WHERE {user_schema("n.nspname")} AND a.grantee <> n.nspowner
UNION ALL
SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, format('%I.%I', n.nspname, c.relname), {_GRANTEE},
       a.privilege_type, a.is_grantable
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                                                             c.relowner))) a
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition AND {user_schema("n.nspname")}
  AND a.grantee <> c.relowner
UNION ALL
SELECT CASE WHEN p.prokind = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), {_GRANTEE},
       a.privilege_type, a.is_grantable
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
WHERE {user_schema("n.nspname")} AND a.grantee <> p.proowner
"""
_DEFAULTS_SQL = f"""
SELECT pg_get_userbyid(d.defaclrole), coalesce(format('%I', n.nspname), ''), d.defaclobjtype::text, {_GRANTEE},
       a.privilege_type, a.is_grantable
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL aclexplode(d.defaclacl) a
WHERE a.grantee <> d.defaclrole
"""
_ROLES_SQL = f"""
SELECT r.rolname, r.rolcanlogin, r.rolinherit, r.rolcreatedb, r.rolcreaterole, r.rolconnlimit,
       r.rolsuper, r.rolreplication, r.rolbypassrls
FROM pg_roles r WHERE {SYSTEM_ROLES}
"""
_MEMBERSHIPS_SQL = """
SELECT g.rolname, m.rolname, am.admin_option FROM pg_auth_members am
JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
"""


def read(conn: psycopg.Connection) -> Catalog:
    roles = {}
    for name, login, inherit, createdb, createrole, limit, *special in query(conn, _ROLES_SQL):
        dropped = tuple(attr for attr, on in zip(NOT_CARRIED.values(), special, strict=True) if on)
        roles[str(name)] = Role(str(name), bool(login), bool(inherit), bool(createdb), bool(createrole), int(limit), dropped)
    return Catalog(
        roles=roles,
        memberships=frozenset(Membership(str(g), str(m), bool(a)) for g, m, a in query(conn, _MEMBERSHIPS_SQL)),
        grants=frozenset(Grant(str(k), str(n), str(g), str(p), bool(o)) for k, n, g, p, o in query(conn, _GRANTS_SQL)),
        defaults=frozenset(
            DefaultPrivilege(str(r), str(s), DEFAULT_OBJECTS.get(str(t), str(t)), str(g), str(p), bool(o))
            for r, s, t, g, p, o in query(conn, _DEFAULTS_SQL)
        ),
    )


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the target lacks, what is held back until the cutover, and what cannot be carried."""

    roles: tuple[Role, ...]
    memberships: tuple[Membership, ...]
    grants: tuple[Grant, ...]
    defaults: tuple[DefaultPrivilege, ...]
    held_back: tuple[Grant, ...]
    """The application's table writes: granted by the cutover when it opens Aurora."""
    not_carried: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.roles or self.memberships or self.grants or self.defaults)

    def to_dict(self) -> dict[str, Any]:
        return {
            "roles": [dataclasses.asdict(r) for r in self.roles],
            "memberships": [dataclasses.asdict(m) for m in self.memberships],
            "grants": [dataclasses.asdict(g) for g in self.grants],
            "default_privileges": [dataclasses.asdict(d) for d in self.defaults],
            "held_back_until_cutover": [dataclasses.asdict(g) for g in self.held_back],
            "not_carried": list(self.not_carried),
        }


def differences(p: Plan) -> list[tuple[str, str]]:
    """What the target lacks, as ``(kind, what)`` pairs a person reads: ``verify``'s privilege differences."""
    option = {True: " WITH GRANT OPTION", False: ""}
    return [
        *(("role", r.name) for r in p.roles),
        *(("membership", f"{m.member} in {m.group}" + (" WITH ADMIN OPTION" if m.admin else "")) for m in p.memberships),
        *(("grant", f"{g.privilege} ON {g.kind} {g.name} TO {g.grantee}{option[g.grantable]}") for g in p.grants),
        *(
            (
                "default privilege",
                f"FOR ROLE {d.owner}{' IN SCHEMA ' + d.schema if d.schema else ''} {d.privilege} ON {d.objects} TO "
                f"{d.grantee}{option[d.grantable]}",
            )
            for d in p.defaults
        ),
    ]


def _closure(catalog: Catalog, roles: Iterable[str], *, up: bool) -> set[str]:
    """``roles`` and every group they belong to (``up``), or every role that belongs to them, directly or not."""
    found, todo = set(), list(roles)
    while todo:
        role = todo.pop()
        if role not in found:
            found.add(role)
            todo += [m.group if up else m.member for m in catalog.memberships if (m.member if up else m.group) == role]
    return found


def plan(source: Catalog, target: Catalog, target_objects: set[tuple[str, str]], *, app_roles: Sequence[str] = ()) -> Plan:
    """What to carry from ``source`` to ``target`` (only what the target lacks). ``target_objects``
    (:func:`read_objects`): a grant on an object the target does not have yet is ``schema pre-data``'s business."""
    writers = _closure(source, app_roles, up=True)
    wanted_grants = {g for g in source.grants if g.grantee == "PUBLIC" or g.grantee in source.roles}
    insecure = wanted_grants & {PUBLIC_CREATE}
    wanted_grants -= insecure
    held = {g for g in wanted_grants if g.kind == "TABLE" and g.grantee in writers and g.privilege in WRITE_PRIVILEGES}
    needed = set(app_roles) | {g.grantee for g in wanted_grants if g.grantee != "PUBLIC"}
    needed |= {d.owner for d in source.defaults} | {d.grantee for d in source.defaults if d.grantee != "PUBLIC"}
    # The groups they hold privileges through, and the members of those (who use the groups' grants).
    needed = _closure(source, _closure(source, needed, up=True), up=False) & set(source.roles)
    memberships = {m for m in source.memberships if m.group in needed and m.member in needed}
    grants = sorted(g for g in wanted_grants - held - target.grants if (g.kind, g.name) in target_objects)
    return Plan(
        roles=tuple(sorted(source.roles[r] for r in needed if r not in target.roles)),
        memberships=tuple(sorted(memberships - target.memberships)),
        grants=tuple(grants),
        defaults=tuple(sorted({d for d in source.defaults if d.owner in needed} - target.defaults)),
        held_back=tuple(sorted(held - target.grants)),
        not_carried=tuple(
            f"{r.name}: {', '.join(r.not_carried)}" for r in sorted(source.roles[n] for n in needed) if r.not_carried
        )
        + tuple(PUBLIC_CREATE_NOTE for _ in insecure - target.grants),
    )


def read_objects(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """Every (kind, name) of the user's schemas on this side, whatever its grants."""
    rows = query(
        conn,
        f"""
        SELECT 'SCHEMA', format('%I', n.nspname) FROM pg_namespace n WHERE {user_schema("n.nspname")}
        UNION ALL
        SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, format('%I.%I', n.nspname, c.relname)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {user_schema("n.nspname")}
        UNION ALL
        SELECT CASE WHEN p.prokind = 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
               format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {user_schema("n.nspname")}""",
    )
    return {(str(k), str(n)) for k, n in rows}


def _grantee(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name == "PUBLIC" else sql.Identifier(name)


def statements(p: Plan) -> list[sql.Composed]:
    """The SQL of a plan, in the order it must run: roles, memberships, grants, default privileges."""
    out: list[sql.Composed] = []
    for r in p.roles:
        attrs = [
            "LOGIN" if r.login else "NOLOGIN",
            "INHERIT" if r.inherit else "NOINHERIT",
            *(["CREATEDB"] if r.createdb else []),
            *(["CREATEROLE"] if r.createrole else []),
        ]
        out.append(
            sql.SQL("CREATE ROLE {} {} CONNECTION LIMIT {}").format(
                sql.Identifier(r.name), sql.SQL(" ".join(attrs)), sql.Literal(r.connection_limit)
            )
        )
    for m in p.memberships:
        out.append(
            sql.SQL("GRANT {} TO {}{}").format(
                sql.Identifier(m.group), sql.Identifier(m.member), sql.SQL(" WITH ADMIN OPTION" if m.admin else "")
            )
        )
    for g in p.grants:
        out.append(
            sql.SQL("GRANT {} ON {} {} TO {}{}").format(
                sql.SQL(g.privilege),
                sql.SQL(g.kind),
                sql.SQL(g.name),
                _grantee(g.grantee),
                sql.SQL(" WITH GRANT OPTION" if g.grantable else ""),
            )
        )
    for d in p.defaults:
        out.append(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {}{} GRANT {} ON {} TO {}{}").format(
                sql.Identifier(d.owner),
                sql.SQL(f" IN SCHEMA {d.schema}" if d.schema else ""),
                sql.SQL(d.privilege),
                sql.SQL(d.objects),
                _grantee(d.grantee),
                sql.SQL(" WITH GRANT OPTION" if d.grantable else ""),
            )
        )
    return out


def apply(conn: psycopg.Connection, p: Plan) -> list[tuple[str, str]]:
    """Run the plan one statement at a time; ``(statement, error)`` of each that failed (the others stay)."""
    failed = []
    for statement in statements(p):
        try:
            with conn.transaction():
                query(conn, statement)
        except psycopg.Error as error:
            failed.append((statement.as_string(conn), (str(error).strip().splitlines() or [""])[0]))
    return failed
