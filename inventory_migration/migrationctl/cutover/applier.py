"""The forward applier's fence: the switch off the replication's clock.

Stopping a DMS task takes tens of seconds (``StopReplicationTask`` returns at once; the task is ``stopping`` until it
has finished its batch and saved its state), and while it stops it may still apply. Waiting for it between the freeze
and the moment green opens made every second of that stop a second of write unavailability. Instead, once the drain
has proven every change before the freeze applied, the forward task's **user on Aurora** is fenced by privilege:

1. its write grants on user relations (its own, and its groups' that no application role needs) revoked, and — when
   it could grant them back to itself (an owner of a replicated table) — set ``NOLOGIN``;
2. every session it has on Aurora ended: a transaction it began before the revoke rolls back;
3. asked of PostgreSQL afterwards (the postcondition): it can write no user relation by any path, and no session of
   it began a transaction before the fence.

From then nothing the task still holds can land on green, whatever its state; the way back's slot can be created
(nothing can travel in a circle), green opens, and the task is stopped **after** the switch, off the critical path
(:data:`~.steps.CUTOVER`'s ``stop-forward``). Its login is given back once it has stopped (the reverse task reads
Aurora as the same user), its write grants only when forward replication resumes (a rollback, or the undo of a
cutover that never switched). A backend whose stop takes milliseconds (native logical replication) is stopped
instead: that is its fence.

The rollback fences the way back the same way (:data:`REVERSE`): the reverse task's user on-prem, once the reverse
drain has proven everything green took applied; the reverse task is stopped after blue serves. A superuser (the
reverse user on PostgreSQL 13 must be one) is set NOLOGIN and its sessions ended — which needs a superuser migration
user; when the user is not known or cannot be fenced, the rollback stops the task on the critical path instead and
says why.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg

from inventory_migration.migrationctl.cutover import facts, freeze
from inventory_migration.migrationctl.cutover.facts import Fact
from inventory_migration.migrationctl.cutover.journal import Journal
from inventory_migration.migrationctl.cutover.settings import PostconditionFailed, Settings
from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.grants import PUBLIC


@dataclasses.dataclass(frozen=True)
class Applier:
    """One direction's applier: who it is, where it writes, and where its fence is journaled."""

    task: str
    """How the operator's messages name the task."""
    where: str
    """The side it writes, as the messages name it."""
    flag: str
    """The flag (or output) that names its user."""
    fact: Fact[dict[Any, Any]]

    def role(self, s: Settings) -> str:
        return s.dms_target_user if self is FORWARD else s.reverse_user


FORWARD = Applier(
    "the forward task", "Aurora", "--dms-target-user, or --stack-outputs with the target endpoint's secret", facts.APPLIER_FENCE
)
REVERSE = Applier(
    "the reverse task",
    "on-prem",
    "--reverse-user, or --stack-outputs with the reverse-target endpoint's secret",
    facts.REVERSE_FENCE,
)


def by_privilege(s: Settings) -> bool:
    """Whether this run fences an applier by privilege (its backend stops slowly) or by stopping it."""
    return not s.backend.stops_at_once


def problems(s: Settings, conn: psycopg.Connection, who: Applier = FORWARD) -> list[str]:
    """Why ``who`` cannot be fenced by privilege on ``conn`` (the side it writes) — asked before anything changes."""
    if not by_privilege(s):
        return []
    role, name = who.role(s), f"{who.task}'s user"
    if not role:
        return [f"{name} on {who.where} is not known ({who.flag}): the switch fences it by privilege"]
    found = query(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,))
    if not found:
        return [f"{name} {role} does not exist on {who.where}"]
    me = freeze.me(conn)
    if role == me:
        return [f"{name} {role} is the user migrationctl connects as: the fence would take the switch's own writes"]
    if found[0][0] and not query(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]:
        return [f"{name} {role} is a superuser and {me} is not: only a superuser can end its sessions"]
    if role in s.app_roles or (who is FORWARD and role in s.exempt_roles):
        return [f"{name} {role} is also an application or exempt role: give DMS its own user"]
    shared = set(freeze.grantees(conn, [role])) & {*freeze.grantees(conn, s.app_roles), PUBLIC}
    if shared:
        return [
            f"{name} {role} writes through {', '.join(sorted(shared))}, which the applications share: opening "
            f"{who.where} to them would open it to the task too; grant DMS its writes directly"
        ]
    return []


def plan(s: Settings, conn: psycopg.Connection, who: Applier = FORWARD) -> freeze.Record:
    """What fencing ``who`` takes away: the write grants it holds (directly or through its groups), and its login when
    it could grant them back (an owner, a superuser)."""
    role = who.role(s)
    everything = freeze.plan(conn, [role], exempt=[r for r in s.exempt_roles if r != role])
    return freeze.Record(freeze.only(everything, freeze.grantees(conn, [role])).grants, everything.nologin)


def fence(s: Settings, journal: Journal, conn: psycopg.Connection, result: dict[str, Any], who: Applier = FORWARD) -> None:
    """Fence ``who`` (see the module); the journal holds what was taken before anything is revoked."""
    role = who.role(s)
    record = plan(s, conn, who).merged(freeze.Record.from_json(journal.get(who.fact)))
    journal.put(who.fact, record.to_json())
    began = query(conn, "SELECT clock_timestamp()")[0][0]
    freeze.revoke(conn, record)
    result["sessions_ended"] = freeze.end_writing_sessions(conn, [role], nologin=record.nologin)
    left = holds(s, conn, began=began, who=who)
    if left:
        raise PostconditionFailed(f"after the fence, {who.task}'s user cannot write on {who.where} does not hold: {left}")
    result.update(applier=role, grants=len(record.grants), nologin=list(record.nologin))
    s.say(f"fence: {role} ({who.task}'s user) can write nothing on {who.where} ({len(record.grants)} grants taken)")


def holds(s: Settings, conn: psycopg.Connection, *, began: Any = None, who: Applier = FORWARD) -> str:
    """The fence's promise asked of PostgreSQL: ``who`` can write nothing by any path, and (``began``: when the fence
    began) none of its sessions is in a transaction begun before (empty: it holds)."""
    role = who.role(s)
    if freeze.can_write(conn, role):
        return f"{role} can still write a user relation"
    if began is None:
        return ""
    open_ = query(
        conn,
        "SELECT count(*) FROM pg_stat_activity a JOIN pg_roles u ON u.oid = a.usesysid "
        "WHERE u.rolname = %s AND a.datname = current_database() AND a.xact_start < %s",
        (role, began),
    )[0][0]
    return f"{open_} session(s) of {role} in a transaction begun before the fence" if open_ else ""


def release_login(journal: Journal | None, conn: psycopg.Connection, who: Applier = FORWARD) -> None:
    """Give ``who`` its login back, not its writes: its task has stopped. Idempotent."""
    record = freeze.Record.from_json(journal.get(who.fact) if journal is not None else None)
    if record.nologin:
        freeze.restore(conn, freeze.Record((), record.nologin))


def give_back(journal: Journal | None, conn: psycopg.Connection, who: Applier = FORWARD) -> None:
    """Before ``who``'s direction runs again: its writes (and login) as they were. Idempotent."""
    taken = journal.get(who.fact) if journal is not None else None
    if taken:
        freeze.restore(conn, freeze.Record.from_json(taken))
