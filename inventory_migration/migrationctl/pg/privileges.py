"""What the switch and the way back need from the database users, as one table checked before anything changes.

A missing privilege found half-way through a cutover (a REVOKE that does nothing, a session that cannot be ended, a
reverse task that cannot set ``session_replication_role``) is found at 2 a.m. with the source frozen. Each
:class:`Need` is one row: on which side, for whom, what, why, and one SQL predicate that tells whether it holds.
``cutover`` checks every row as a gate (nothing changes if one fails), ``rollback`` checks them again before its
freeze, and ``preflight --privileges`` checks them days before, with the DMS users named by their secrets.

Notes on the predicates (PostgreSQL's documented rules):

* ``GRANT``/``REVOKE`` by anyone but the owner only touch the grants that user made; a superuser, or a member of the
  owning role, acts as the owner. The freeze must take away grants it did not make: owner (membership) or superuser.
* ``ALTER ROLE ... NOLOGIN`` needs ``CREATEROLE`` (a superuser role needs a superuser); only when a frozen role owns
  a table or is a superuser (:func:`..freeze.plan`).
* Ending another role's sessions needs ``pg_signal_backend`` (or superuser).
* ``session_replication_role`` (what DMS's PostgreSQL target sets, both tasks' ``afterConnectScript``) can be
  set only by a superuser before PostgreSQL 15 (on RDS and Aurora: ``rds_superuser``); from 15 ``GRANT SET ON
  PARAMETER`` can allow it.
* DMS's source user needs ``REPLICATION`` (or superuser; on RDS ``rds_replication``) and ``SELECT`` on the tables (DMS
  user guide, "Working with self-managed PostgreSQL databases as a source").
* Aurora has no superuser: ``rds_superuser`` members own what they create, slots need ``rds_replication``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import psycopg

from inventory_migration.contracts.names import CONTROL_SCHEMA, FENCE_TABLE
from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.objects import USER_TABLES, user_object, user_schema

WRITE_PRIVILEGES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
"""The table privileges that write: what a freeze takes away and gives back."""

MIGRATION_USER, FORWARD_USER, REVERSE_USER = "migration user", "forward DMS user", "reverse DMS user"
"""Who a row is for: the user ``migrationctl`` connects as; the user of the forward task's endpoint on that side (the
source endpoint's on-prem, the target endpoint's on Aurora: their secrets name them); the reverse task's on-prem user."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Need:
    """One privilege a user needs on one side."""

    side: str
    """``source`` (on-prem) or ``target`` (Aurora)."""
    who: str
    """:data:`MIGRATION_USER` (the one migrationctl connects as), :data:`FORWARD_USER` or :data:`REVERSE_USER`."""
    what: str
    why: str
    holds: str
    """SQL, one boolean; ``%(role)s`` is the user's name."""
    only_if_nologin: bool = False
    """Checked only when the freeze will set a role NOLOGIN."""
    holds_before_15: str = ""
    """The predicate on servers older than PostgreSQL 15, when it differs. Default: :attr:`holds`."""
    since: int = 0
    """The first server version (``server_version_num``) the row applies to. Default: every version."""
    per_frozen_role: bool = False
    """Checked once for each role the freeze sets NOLOGIN, named ``%(frozen)s`` in :attr:`holds`."""


_IS = "(SELECT rolsuper FROM pg_roles WHERE rolname = %(role)s)"
_HAS_ROLE_IF_EXISTS = "(EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{r}') AND pg_has_role(%(role)s, '{r}', 'MEMBER'))"


_WRITES_EVERY_TABLE = (
    "NOT EXISTS (SELECT 1 FROM ("
    + USER_TABLES
    + ") t WHERE NOT has_table_privilege(%(role)s, t.oid, 'INSERT') OR NOT has_table_privilege(%(role)s, t.oid, 'UPDATE') "
    "OR NOT has_table_privilege(%(role)s, t.oid, 'DELETE'))"
)
_SETS_REPLICATION_ROLE_BEFORE_15 = f"{_IS} OR {_HAS_ROLE_IF_EXISTS.format(r='rds_superuser')}"
"""Before PostgreSQL 15 only a superuser sets ``session_replication_role`` (on RDS and Aurora, ``rds_superuser``)."""
_SETS_REPLICATION_ROLE = (
    f"{_SETS_REPLICATION_ROLE_BEFORE_15} OR has_parameter_privilege(%(role)s, 'session_replication_role', 'SET')"
)


def _dms_applier(*, side: str, who: str, applies: str, script: str) -> tuple[Need, Need]:
    """What a DMS user that writes one side needs there: the table writes, and the ``session_replication_role`` its
    endpoint's ``afterConnectScript`` sets (``script``: whose script)."""
    return (
        Need(side=side, who=who, what="INSERT, UPDATE, DELETE on every user table", why=applies, holds=_WRITES_EVERY_TABLE),
        Need(
            side=side,
            who=who,
            what="SET session_replication_role",
            why=f"{script} afterConnectScript sets it to replica (triggers and foreign keys off while applying)",
            holds=_SETS_REPLICATION_ROLE,
            holds_before_15=_SETS_REPLICATION_ROLE_BEFORE_15,
        ),
    )


def _migration_user_on_both_sides(**fields: Any) -> tuple[Need, Need]:
    """The same need of the migration user on-prem and on Aurora (each side is frozen, drained and opened in turn)."""
    return Need(side="source", who=MIGRATION_USER, **fields), Need(side="target", who=MIGRATION_USER, **fields)


NEEDS: tuple[Need, ...] = (
    *_migration_user_on_both_sides(
        what="replication slots",
        why="the forward slot is advanced and the way back's slot created on this side",
        holds=f"{_IS} OR (SELECT rolreplication FROM pg_roles WHERE rolname = %(role)s) "
        f"OR {_HAS_ROLE_IF_EXISTS.format(r='rds_replication')}",
    ),
    *_migration_user_on_both_sides(
        what="owner (member of the owning role) or superuser of every user table",
        why="the freeze revokes write grants it did not make, and grants them back; identity columns are handed over (ALTER TABLE)",
        holds=f"{_IS} OR NOT EXISTS (SELECT 1 FROM ({USER_TABLES}) t WHERE NOT pg_has_role(%(role)s, t.relowner, 'MEMBER'))",
    ),
    *_migration_user_on_both_sides(
        what="pg_signal_backend",
        why="the freeze ends the sessions that hold a write transaction begun before it",
        holds=f"{_IS} OR pg_has_role(%(role)s, 'pg_signal_backend', 'MEMBER')",
    ),
    *_migration_user_on_both_sides(
        what="CREATEROLE",
        why="a frozen role that owns tables (or is a superuser) is set NOLOGIN and back",
        holds=f"{_IS} OR (SELECT rolcreaterole FROM pg_roles WHERE rolname = %(role)s)",
        only_if_nologin=True,
    ),
    *_migration_user_on_both_sides(
        what="superuser, when a role it sets NOLOGIN is a superuser",
        why="only a superuser alters a superuser role",
        holds=f"{_IS} OR NOT (SELECT rolsuper FROM pg_roles WHERE rolname = %(frozen)s)",
        only_if_nologin=True,
        per_frozen_role=True,
    ),
    *_migration_user_on_both_sides(
        what="ADMIN OPTION on each role it sets NOLOGIN (PostgreSQL 16 and later)",
        why="from PostgreSQL 16 CREATEROLE alone no longer alters another role",
        holds=f"{_IS} OR pg_has_role(%(role)s, %(frozen)s, 'MEMBER WITH ADMIN OPTION')",
        only_if_nologin=True,
        per_frozen_role=True,
        since=160000,
    ),
    *_migration_user_on_both_sides(
        what="UPDATE on every user sequence",
        why="the sequences step sets this side's sequences past the other side's",
        holds="NOT EXISTS (SELECT 1 FROM pg_sequences WHERE "
        + user_schema("schemaname")
        + " AND "
        + user_object("sequencename")
        + " AND NOT has_sequence_privilege(%(role)s, format('%%I.%%I', schemaname, sequencename), 'UPDATE'))",
    ),
    *_migration_user_on_both_sides(
        what=f"INSERT and SELECT on {CONTROL_SCHEMA}.{FENCE_TABLE}",
        why="the drain writes its fence on the side being left and reads it on the other",
        holds=f"EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = '{CONTROL_SCHEMA}' AND c.relname = '{FENCE_TABLE}' AND has_schema_privilege(%(role)s, n.oid, "
        "'USAGE') AND has_table_privilege(%(role)s, c.oid, 'INSERT') AND has_table_privilege(%(role)s, c.oid, 'SELECT'))",
    ),
    Need(
        side="source",
        who=FORWARD_USER,
        what="REPLICATION and SELECT on every user table",
        why="the forward task reads every table (full load) and its slot (changes)",
        holds=f"({_IS} OR (SELECT rolreplication FROM pg_roles WHERE rolname = %(role)s)) AND NOT EXISTS (SELECT 1 FROM ("
        + USER_TABLES
        + ") t WHERE NOT has_table_privilege(%(role)s, t.oid, 'SELECT'))",
    ),
    Need(
        side="target",
        who=FORWARD_USER,
        what="REPLICATION (rds_replication) and SELECT on every user table",
        why="the reverse task reads Aurora's slot and tables as this user (its source endpoint uses the target endpoint's secret)",
        holds=f"({_IS} OR (SELECT rolreplication FROM pg_roles WHERE rolname = %(role)s) "
        f"OR {_HAS_ROLE_IF_EXISTS.format(r='rds_replication')}) AND NOT EXISTS (SELECT 1 FROM ("
        + USER_TABLES
        + ") t WHERE NOT has_table_privilege(%(role)s, t.oid, 'SELECT'))",
    ),
    *_dms_applier(
        side="target",
        who=FORWARD_USER,
        applies="the forward task loads the tables and applies the changes on Aurora",
        script="the target endpoint's",
    ),
    *_dms_applier(
        side="source", who=REVERSE_USER, applies="the reverse task applies Aurora's changes on-prem", script="the reverse task's"
    ),
)
"""Every privilege the switch and the way back need, by side and user."""


@dataclasses.dataclass(frozen=True)
class Finding:
    need: Need
    role: str
    ok: bool
    frozen: str = ""
    """The role the freeze sets NOLOGIN that this finding is about (rows checked per such role)."""

    @property
    def line(self) -> str:
        about = f" [{self.frozen}]" if self.frozen else ""
        return f"{self.need.side} {self.need.who} {self.role}: {self.need.what}{about} ({self.need.why})"


def is_forward_writes(need: Need) -> bool:
    """The forward task's writes on Aurora: needed until the switch fences them (:mod:`..cutover.applier`), taken away
    from then until forward replication resumes."""
    return need.who == FORWARD_USER and need.side == "target" and need.holds == _WRITES_EVERY_TABLE


def check(
    conn: psycopg.Connection,
    side: str,
    *,
    reverse_user: str = "",
    forward_user: str = "",
    nologin: bool | Sequence[str] = False,
) -> list[Finding]:
    """Every :data:`NEEDS` row of ``side`` for the connected user, the forward task's user of that side and
    ``reverse_user`` (on the source), evaluated; a user not named is not checked. ``nologin``: the roles the freeze
    will set NOLOGIN (the rows about them are checked for each), or just whether there are any."""
    me, version = query(conn, "SELECT current_user, current_setting('server_version_num')::int")[0]
    users = {MIGRATION_USER: str(me), FORWARD_USER: forward_user, REVERSE_USER: reverse_user}
    frozen = [] if isinstance(nologin, bool) else list(nologin)
    findings = []
    for need in NEEDS:
        if need.side != side or (need.only_if_nologin and not nologin) or int(version) < need.since:
            continue
        if need.per_frozen_role and not frozen:
            continue
        role = users[need.who]
        if not role:
            continue
        exists = bool(query(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)))
        predicate = need.holds_before_15 if need.holds_before_15 and int(version) < 150000 else need.holds
        for target in frozen if need.per_frozen_role else [""]:
            values = {"role": role, "frozen": target}
            holds = exists and bool(query(conn, f"SELECT coalesce(({predicate}), false)", values)[0][0])
            findings.append(Finding(need, role, holds, target))
    return findings


def markdown_table() -> str:
    """:data:`NEEDS` as the table ``docs/migrationctl.md`` shows (a test keeps the two equal)."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for need in NEEDS:
        when = (
            " (only when a frozen role owns tables or is a superuser)"
            if need.only_if_nologin and not need.per_frozen_role
            else ""
        )
        rows.setdefault((need.who, need.what + when, need.why), []).append(need.side)
    lines = ["| user | on | needs | why |", "| --- | --- | --- | --- |"]
    lines += [f"| {who} | {' and '.join(sides)} | {what} | {why} |" for (who, what, why), sides in rows.items()]
    return "\n".join(lines)
