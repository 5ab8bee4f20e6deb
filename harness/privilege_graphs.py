"""Random privilege graphs, and an oracle that *tries* to write: the freeze's hostile world, generated.

A graph (:func:`generate`, from a seeded :class:`random.Random`) is what a real database grows over years: login roles
and group roles (some ``NOINHERIT``), memberships through other groups, tables owned by different roles, table- and
column-level write grants (to roles, to groups, to PUBLIC, some ``WITH GRANT OPTION`` and passed on by their
grantee), views over the tables and over other views with their own grants (on PostgreSQL 15+ some
``security_invoker``), ``SECURITY DEFINER`` functions that write (EXECUTE left to
PUBLIC or granted to one role), and on PostgreSQL 14+ ``pg_write_all_data``.

:func:`writes_possible` is the oracle, independent of :mod:`inventory_migration.migrationctl.pg.write_paths`: as each
login role (``SET SESSION AUTHORIZATION``), and as every role it can ``SET ROLE`` to, it runs every kind of write on
every table, column and view, calls every function, and tries granting itself a privilege and using it — each in a
savepoint that is rolled back. A permission error is "blocked"; anything else (success, a constraint) is "can write".
"""

from __future__ import annotations

import dataclasses
import random

import psycopg
from psycopg import sql

SCHEMA = "pgraph"
COLUMNS = ("a", "b")


@dataclasses.dataclass
class Graph:
    """One generated graph: the SQL that builds it (run as a superuser) and what it holds."""

    seed: int
    prefix: str
    logins: list[str]
    groups: list[str]
    tables: list[str]
    views: list[str]
    functions: list[str]
    setup: list[str] = dataclasses.field(default_factory=list)
    exempt: list[str] = dataclasses.field(default_factory=list)

    @property
    def roles(self) -> list[str]:
        return [*self.logins, *self.groups]

    def describe(self) -> str:
        return f"seed {self.seed}:\n" + "\n".join(self.setup)


def generate(seed: int, *, prefix: str, admin: str, version: int) -> Graph:
    """A random graph from ``seed`` (the same seed, the same graph); ``admin`` is the superuser that builds it (it may own
    tables and functions, as a migration user often does)."""
    rng = random.Random(seed)
    logins = [f"{prefix}l{i}" for i in range(rng.randint(2, 4))]
    groups = [f"{prefix}g{i}" for i in range(rng.randint(0, 3))]
    tables = [f"{SCHEMA}.t{i}" for i in range(rng.randint(1, 3))]
    views = [f"{SCHEMA}.v{i}" for i in range(rng.randint(0, 2))]
    functions = [f"{SCHEMA}.f{i}()" for i in range(rng.randint(0, 2))]
    g = Graph(seed, prefix, logins, groups, tables, views, functions)
    out = g.setup
    out.append(f"CREATE SCHEMA {SCHEMA}")
    for role in logins:
        out.append(f"CREATE ROLE {role} LOGIN{' NOINHERIT' if rng.random() < 0.2 else ''}")
    for role in groups:
        out.append(f"CREATE ROLE {role} NOLOGIN{' NOINHERIT' if rng.random() < 0.2 else ''}")
    # memberships: a group's members are logins or groups created before it (no cycles)
    for i, group in enumerate(groups):
        for member in rng.sample([*logins, *groups[:i]], k=rng.randint(0, min(2, len(logins) + i))):
            out.append(f"GRANT {group} TO {member}")
    if version >= 140000 and rng.random() < 0.15:
        out.append(f"GRANT pg_write_all_data TO {rng.choice(logins)}")
    owners = [admin, *logins, *groups]
    everyone = [*logins, *groups, "PUBLIC"]
    out.append(f"GRANT USAGE ON SCHEMA {SCHEMA} TO PUBLIC")
    for table in tables:
        out.append(f"CREATE TABLE {table} (id int, a text, b text)")
        owner = rng.choice(owners) if rng.random() < 0.5 else admin
        if owner != admin:
            out.append(f"ALTER TABLE {table} OWNER TO {owner}")
        out.append(f"GRANT SELECT ON {table} TO PUBLIC")
    relations = list(tables)
    for view in views:
        base = rng.choice(relations)  # a table, or a view made before it: views on views
        invoker = " WITH (security_invoker = true)" if version >= 150000 and rng.random() < 0.25 else ""
        out.append(f"CREATE VIEW {view}{invoker} AS SELECT * FROM {base}")
        owner = rng.choice(owners)
        if owner != admin:
            out.append(f"ALTER VIEW {view} OWNER TO {owner}")
        relations.append(view)
    for _ in range(rng.randint(2, 8)):
        relation = rng.choice(relations)
        grantee = rng.choice(everyone)
        option = " WITH GRANT OPTION" if grantee != "PUBLIC" and rng.random() < 0.3 else ""
        if rng.random() < 0.3:
            privilege = rng.choice(("INSERT", "UPDATE"))
            grant = f"GRANT {privilege} ({rng.choice(COLUMNS)}) ON {relation} TO {grantee}{option}"
        else:
            privilege = rng.choice(("INSERT", "UPDATE", "DELETE", "TRUNCATE"))
            grant = f"GRANT {privilege} ON {relation} TO {grantee}{option}"
        out.append(grant)
        if option and rng.random() < 0.6:  # the grantee passes it on: a grant chain
            onward = rng.choice([r for r in everyone if r != grantee])
            passed = grant.replace(f" TO {grantee}{option}", f" TO {onward}")
            out.append(f"SET ROLE {grantee}; {passed}; RESET ROLE")
    for function in functions:
        owner = rng.choice(owners)
        target = rng.choice(tables)
        out.append(
            f"CREATE FUNCTION {function} RETURNS void LANGUAGE sql SECURITY DEFINER AS $$ DELETE FROM {target} WHERE false $$"
        )
        if owner != admin:
            out.append(f"ALTER FUNCTION {function} OWNER TO {owner}")
        if rng.random() < 0.4:
            out.append(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
            out.append(f"GRANT EXECUTE ON FUNCTION {function} TO {rng.choice(logins)}")
    g.exempt = rng.sample(logins, k=rng.randint(0, 1))
    return g


def build(conn: psycopg.Connection, graph: Graph) -> None:
    for statement in graph.setup:
        conn.execute(statement)


def teardown(conn: psycopg.Connection, graph: Graph) -> None:
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    for role in reversed(graph.roles):
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    for role in reversed(graph.roles):
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _acting_as(conn: psycopg.Connection, role: str) -> list[str]:
    """``role`` and every role it can SET ROLE to (memberships followed)."""
    rows = conn.execute(
        """
        WITH RECURSIVE reach(role) AS (
            SELECT oid FROM pg_roles WHERE rolname = %s
            UNION SELECT m.roleid FROM reach r JOIN pg_auth_members m ON m.member = r.role)
        SELECT rolname FROM reach JOIN pg_roles ON oid = role ORDER BY rolname = %s DESC, rolname""",
        (role, role),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _writes(graph: Graph) -> list[tuple[str, str]]:
    """(relation, statement) for every write to try; a function call has no relation."""
    out = []
    for relation in [*graph.tables, *graph.views]:
        out += [(relation, f"DELETE FROM {relation} WHERE false")]
        if relation in graph.tables:
            out += [(relation, f"TRUNCATE {relation}")]
        for column in COLUMNS:
            out += [
                (relation, f"INSERT INTO {relation} ({column}) VALUES (NULL)"),
                (relation, f"UPDATE {relation} SET {column} = NULL WHERE false"),
            ]
    out += [("", f"SELECT {function}") for function in graph.functions]
    return out


def writes_possible(conn: psycopg.Connection, graph: Graph, role: str) -> list[str]:
    """Every write ``role`` (a login role) can make, by trying each one, acting as every role it can become; nothing
    is kept. Returns ``"as <role>: <statement>"`` for each that was not refused for want of a privilege."""
    found = []
    for identity in _acting_as(conn, role):
        for relation, statement in _writes(graph):
            for grant_first in (False, True) if relation else (False,):
                try:
                    with conn.transaction(force_rollback=True):
                        conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(role)))
                        if identity != role:
                            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(identity)))
                        if grant_first:  # an owner grants itself back what the freeze took
                            conn.execute(f"GRANT ALL ON {relation} TO CURRENT_USER")
                        conn.execute(statement)
                    found.append(f"as {identity}{' after GRANT' if grant_first else ''}: {statement}")
                except psycopg.errors.InsufficientPrivilege:
                    pass
                except psycopg.Error as other:  # the privilege check passed; something else refused the row
                    if other.sqlstate and other.sqlstate.startswith("42501"):
                        continue
                    found.append(f"as {identity}: {statement} ({type(other).__name__})")
                finally:
                    conn.execute("RESET SESSION AUTHORIZATION")
    return found
