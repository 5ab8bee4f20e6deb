"""The freeze: application writes stop on the side being left, in a way no session can undo — checked by effect.

``default_transaction_read_only`` is only a session default (any session can ``SET`` it off). The freeze takes the
**write privileges** away instead, and asks PostgreSQL afterwards whether anyone but the exempt roles can still write
(:mod:`..pg.write_paths`): that answer, not the list of what was revoked, is the freeze's postcondition.

What it takes (:func:`plan`): every write grant (table, view, foreign table and column level; PUBLIC's too) whose
grantee is not a role the exempt roles or the migration user can act as, and EXECUTE on every ``SECURITY DEFINER``
routine such a kept role (or a superuser) owns — each as an exact ACL entry, revoked and given back as its grantor
(:mod:`..pg.grants`). A session cannot grant itself a privilege back except as an owner of the table or a superuser,
so frozen roles that are either are also set ``NOLOGIN``; then every session of a frozen role that holds a write
transaction begun before the revoke is ended (it rolls back).

Before anything changes, :func:`trial` runs the freeze inside a transaction that is rolled back and asks the same
question: a path the freeze would not close (a superuser nobody named, a member of a table's owner, a group an exempt
role shares, ``pg_write_all_data``, a grant whose grantor the migration user cannot act as, a dependent grant to an
exempt role) is a gate failure naming its remedy — and an exempt role that would lose a write it has is one too.

What was revoked is the freeze's :class:`Record`; it is written to the journal *before* anything is revoked (merged
with any earlier record, so a run killed inside the freeze loses nothing), and the unfreeze grants exactly that back —
on the same side as the grantors that made it, or, when the switch opens the other side, there as the migration user.

Cost, measured on PostgreSQL 16 (``scripts/benchmark_freeze.py``): see ``docs/runbook.md`` for the figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg import grants as grants_mod
from inventory_migration.migrationctl.pg import write_paths
from inventory_migration.migrationctl.pg.grants import PUBLIC, Grant, Kind
from inventory_migration.migrationctl.pg.write_paths import REACH, USER_RELATIONS, WritePath
from inventory_migration.migrationctl.polling import poll


@dataclasses.dataclass(frozen=True)
class Record:
    """What a freeze took away: write grants as ACL entries, and the roles set NOLOGIN."""

    grants: tuple[Grant, ...] = ()
    nologin: tuple[str, ...] = ()

    def merged(self, other: Record) -> Record:
        return Record(tuple(sorted(set(self.grants) | set(other.grants))), tuple(sorted(set(self.nologin) | set(other.nologin))))

    def to_json(self) -> dict[str, Any]:
        return {"grants": [g.to_json() for g in self.grants], "nologin": list(self.nologin)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Record:
        data = data or {}
        raw = data.get("grants", [])
        if isinstance(raw, dict):  # a journal written before grantors were kept: grantee -> privilege -> tables
            entries = [
                Grant(Kind.TABLE, t, "", p, g, "", False)
                for g, by_priv in raw.items()
                for p, tables in by_priv.items()
                for t in tables
            ]
        else:
            entries = [Grant.from_json(row) for row in raw]
        return cls(tuple(sorted(set(entries))), tuple(data.get("nologin", ())))

    @property
    def tables(self) -> int:
        return len({g.target for g in self.grants if g.kind is not Kind.ROUTINE})

    @property
    def grantees(self) -> set[str]:
        return {g.grantee for g in self.grants}


def me(conn: psycopg.Connection) -> str:
    return str(query(conn, "SELECT current_user")[0][0])


def kept(conn: psycopg.Connection, exempt: Sequence[str]) -> list[str]:
    """The roles that keep writing through a freeze: the exempt ones and the migration user (it writes the fence)."""
    return sorted({*exempt, me(conn)})


def writers(conn: psycopg.Connection) -> dict[str, str]:
    """Every role that can log in and write some user relation, and how (:func:`..pg.write_paths.writers`)."""
    return write_paths.writers(conn)


def prepared_transactions(conn: psycopg.Connection) -> list[str]:
    """Prepared transactions of this database: each could still commit a write on a frozen side."""
    rows = query(conn, "SELECT gid, owner FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared")
    return [f"{r[0]} (owner {r[1]})" for r in rows]


def grantees(conn: psycopg.Connection, roles: Sequence[str]) -> list[str]:
    """The roles through which ``roles`` hold privileges: themselves and every role they are members of."""
    return [r for r in write_paths.reachable(conn, roles) if not r.startswith("pg_")]


def nologin_roles(conn: psycopg.Connection, roles: Sequence[str]) -> list[str]:
    """The login roles among ``roles`` that could grant themselves writes back — superusers, and owners (or members of
    owners) of a user relation: the freeze sets them ``NOLOGIN``."""
    rows = query(
        conn,
        f"""
        WITH RECURSIVE {REACH}, rel AS ({USER_RELATIONS})
        SELECT r.rolname FROM pg_roles r
        WHERE r.rolname = ANY(%(roles)s) AND r.rolcanlogin
          AND (r.rolsuper OR EXISTS (SELECT 1 FROM reach x JOIN rel ON rel.relowner = x.role WHERE x.start = r.oid))
        ORDER BY 1""",
        {"roles": list(roles)},
    )
    return [str(r[0]) for r in rows]


def plan(conn: psycopg.Connection, roles: Sequence[str], *, exempt: Sequence[str] = ()) -> Record:
    """What freezing ``roles`` takes away on this side, all but the exempt roles' writes (nothing changes)."""
    entries = grants_mod.write_grants(conn, keep=kept(conn, exempt))
    return Record(tuple(entries), tuple(nologin_roles(conn, roles)))


def _run(conn: psycopg.Connection, record: Record, verb: str, *, as_grantor: bool) -> None:
    user = me(conn)
    with conn.transaction():
        if verb == "GRANT":
            for role in record.nologin:
                query(conn, sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(role)))
        for statement in grants_mod.statements(record.grants, verb, me=user, as_grantor=as_grantor):
            query(conn, statement)
        if verb == "REVOKE":
            for role in record.nologin:
                query(conn, sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))


def revoke(conn: psycopg.Connection, record: Record, *, as_grantor: bool = True) -> None:
    """Take away what ``record`` lists, each grant as its grantor (idempotent)."""
    _run(conn, record, "REVOKE", as_grantor=as_grantor)


def restore(conn: psycopg.Connection, record: Record, *, as_grantor: bool = True) -> None:
    """Give back what ``record`` lists, each grant as its grantor with its grant option (idempotent)."""
    _run(conn, record, "GRANT", as_grantor=as_grantor)


def present(conn: psycopg.Connection, record: Record) -> Record:
    """``record`` without the roles, relations, columns and routines this side does not have (the other side)."""
    roles = {str(r[0]) for r in query(conn, "SELECT rolname FROM pg_roles")} | {PUBLIC}
    relations = {str(r[1]) for r in query(conn, USER_RELATIONS, ())}
    columns = {
        (str(r[0]), str(r[1]))
        for r in query(
            conn,
            f"SELECT rel.name, quote_ident(a.attname) FROM ({USER_RELATIONS}) rel "
            "JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped",
            (),
        )
    }
    routines = {g.target for g in record.grants if g.kind is Kind.ROUTINE}
    existing_routines = (
        {t for t in routines if query(conn, "SELECT to_regprocedure(%s) IS NOT NULL", (t,))[0][0]} if routines else set()
    )

    def here(g: Grant) -> bool:
        if g.grantee not in roles or (g.grantor and g.grantor not in roles):
            return False
        if g.kind is Kind.ROUTINE:
            return g.target in existing_routines
        if g.kind is Kind.COLUMN:
            return (g.target, g.column) in columns
        return g.target in relations

    return Record(tuple(g for g in record.grants if here(g)), tuple(r for r in record.nologin if r in roles))


def only(record: Record, grantees: Iterable[str]) -> Record:
    """The part of ``record`` granted to ``grantees``."""
    wanted = set(grantees)
    return Record(tuple(g for g in record.grants if g.grantee in wanted), tuple(r for r in record.nologin if r in wanted))


def residual(conn: psycopg.Connection, exempt: Sequence[str]) -> list[WritePath]:
    """Every way a login role other than the kept ones can still write here (the freeze's postcondition: none)."""
    return write_paths.write_paths(conn, skip=kept(conn, exempt))


@dataclasses.dataclass(frozen=True)
class Trial:
    """What the freeze would leave, found by doing it in a transaction that is rolled back."""

    record: Record
    error: str = ""
    """PostgreSQL's message for the revoke that failed (a dependent grant to a kept role, a grantor the migration user
    cannot act as): the freeze cannot be done as it stands."""
    residual: tuple[WritePath, ...] = ()
    """Paths still open after it."""
    exempt_lost: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    """Exempt role -> the writes it can make now and could not after (``"DELETE on s.t"``; ``"as g: INSERT on s.v"``
    when made after ``SET ROLE g``)."""


class _RolledBack(Exception):
    pass


def trial(conn: psycopg.Connection, roles: Sequence[str], *, exempt: Sequence[str] = ()) -> Trial:
    """Freeze ``roles`` inside a transaction, ask PostgreSQL who can still write, and roll it back (nothing changes)."""
    record = plan(conn, roles, exempt=exempt)
    present_exempt = [r for r in exempt if query(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (r,))]
    before = write_paths.writes_acting_as(conn, present_exempt)
    # What an exempt role writes through a SECURITY DEFINER routine is written with the routine owner's privileges:
    # an owner the freeze takes a write from may take that routine's write from the exempt role.
    routines = write_paths.definer_routines(conn, present_exempt)
    owners = sorted({owner for _r, _f, owner in routines})
    owners_before = write_paths.written_relations(conn, owners)
    outcome: dict[str, Any] = {}
    try:
        with conn.transaction():
            try:
                revoke(conn, record)
            except psycopg.Error as failed:
                outcome["error"] = f"{failed.diag.message_primary or failed}"
                raise _RolledBack from None
            outcome["residual"] = tuple(residual(conn, exempt))
            after = write_paths.writes_acting_as(conn, present_exempt)
            owners_after = write_paths.written_relations(conn, owners)
            lost = {r: sorted(before[r] - after[r]) for r in present_exempt}
            for role, routine, owner in routines:
                taken = owners_before[owner] - owners_after[owner]
                if taken:
                    lost[role].append(f"{routine} (runs as {owner}, which would lose {len(taken)} write(s))")
            outcome["lost"] = {r: w for r, w in lost.items() if w}
            raise _RolledBack
    except _RolledBack:
        pass
    return Trial(record, outcome.get("error", ""), outcome.get("residual", ()), outcome.get("lost", {}))


def end_writing_sessions(
    conn: psycopg.Connection, roles: Sequence[str], *, nologin: Sequence[str] = (), timeout: float = 30.0
) -> int:
    """End every client session of ``roles`` (the login roles that could write before the revoke) whose transaction
    began before now — a statement whose privilege check passed before the revoke may not have written yet, so "holds
    a write" (an xid) is not enough — and every session of a ``nologin`` role; wait until none is left. A session that begins a transaction from now on is
    checked against the revoked privileges, so this converges under a pool that reconnects. Returns how many were
    ended."""
    started = query(conn, "SELECT clock_timestamp()")[0][0]
    ended = 0

    def none_left() -> bool:
        nonlocal ended
        rows = query(
            conn,
            """
            SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_roles u ON u.oid = a.usesysid
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
              AND (u.rolname = ANY(%(nologin)s) OR (u.rolname = ANY(%(roles)s) AND a.xact_start < %(started)s))""",
            {"roles": list(roles), "nologin": list(nologin), "started": started},
        )
        ended += len(rows)
        return not rows

    poll(
        none_left,
        timeout=timeout,
        interval=0.01,
        timed_out=lambda: UsageError(f"transactions begun before the freeze still open {timeout:.0f} s after it"),
    )
    return ended


def can_write(conn: psycopg.Connection, role: str) -> bool:
    """Whether ``role`` can write some user relation here, by any path (:mod:`..pg.write_paths`)."""
    return bool(write_paths.write_paths(conn, only=[role]))
