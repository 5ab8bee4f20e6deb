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
"""

from __future__ import annotations

from typing import Any

import psycopg

from inventory_migration.migrationctl.cutover import facts, freeze
from inventory_migration.migrationctl.cutover.journal import Journal
from inventory_migration.migrationctl.cutover.settings import PostconditionFailed, Settings
from inventory_migration.migrationctl.db import query
from inventory_migration.migrationctl.pg.grants import PUBLIC


def by_privilege(s: Settings) -> bool:
    """Whether this run fences the forward applier by privilege (its backend stops slowly) or by stopping it."""
    return not s.backend.stops_at_once


def problems(s: Settings, target: psycopg.Connection) -> list[str]:
    """Why the applier cannot be fenced by privilege — asked before anything changes (the freeze step's start)."""
    if not by_privilege(s):
        return []
    role = s.dms_target_user
    if not role:
        return [
            "the forward task's user on Aurora is not known (--dms-target-user, or --stack-outputs with the target "
            "endpoint's secret): the switch fences it by privilege before green opens"
        ]
    if not query(target, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)):
        return [f"the forward task's user {role} does not exist on Aurora"]
    if role == freeze.me(target):
        return [
            f"the forward task's user {role} is the user migrationctl connects as: connect as another, or the fence "
            "would take the cutover's own writes"
        ]
    if role in s.app_roles or role in s.exempt_roles:
        return [f"the forward task's user {role} is also an application or exempt role: give DMS its own user"]
    shared = set(freeze.grantees(target, [role])) & {*freeze.grantees(target, s.app_roles), PUBLIC}
    if shared:
        return [
            f"the forward task's user {role} writes through {', '.join(sorted(shared))}, which the applications share: "
            "opening green would open it to the task too; grant DMS its writes directly"
        ]
    return []


def plan(s: Settings, target: psycopg.Connection) -> freeze.Record:
    """What fencing the applier takes away on Aurora: the write grants it holds (directly or through its groups), and
    its login when it could grant them back."""
    role = s.dms_target_user
    everything = freeze.plan(target, [role], exempt=s.exempt_roles)
    return freeze.Record(freeze.only(everything, freeze.grantees(target, [role])).grants, everything.nologin)


def fence(s: Settings, journal: Journal, target: psycopg.Connection, result: dict[str, Any]) -> None:
    """Fence the applier (see the module); the journal holds what was taken before anything is revoked."""
    role = s.dms_target_user
    record = plan(s, target).merged(freeze.Record.from_json(journal.get(facts.APPLIER_FENCE)))
    journal.put(facts.APPLIER_FENCE, record.to_json())
    began = query(target, "SELECT clock_timestamp()")[0][0]
    freeze.revoke(target, record)
    result["sessions_ended"] = freeze.end_writing_sessions(target, [role], nologin=record.nologin)
    left = holds(s, target, began=began)
    if left:
        raise PostconditionFailed(f"after fence-forward, the forward task's user cannot write on Aurora does not hold: {left}")
    result.update(applier=role, grants=len(record.grants), nologin=list(record.nologin))
    s.say(f"fence: {role} (the forward task's user) can write nothing on Aurora ({len(record.grants)} grants taken)")


def holds(s: Settings, target: psycopg.Connection, *, began: Any = None) -> str:
    """The fence's promise asked of PostgreSQL: the applier can write nothing by any path, and (``began``: when the
    fence began) none of its sessions is in a transaction begun before (empty: it holds)."""
    role = s.dms_target_user
    if freeze.can_write(target, role):
        return f"{role} can still write a user relation"
    if began is None:
        return ""
    open_ = query(
        target,
        "SELECT count(*) FROM pg_stat_activity a JOIN pg_roles u ON u.oid = a.usesysid "
        "WHERE u.rolname = %s AND a.datname = current_database() AND a.xact_start < %s",
        (role, began),
    )[0][0]
    return f"{open_} session(s) of {role} in a transaction begun before the fence" if open_ else ""


def release_login(journal: Journal | None, target: psycopg.Connection) -> None:
    """Give the applier its login back (the reverse task reads Aurora as it), not its writes: the forward task has
    stopped. Idempotent."""
    record = freeze.Record.from_json(journal.get(facts.APPLIER_FENCE) if journal is not None else None)
    if record.nologin:
        freeze.restore(target, freeze.Record((), record.nologin))


def give_back(journal: Journal | None, target: psycopg.Connection) -> None:
    """Before forward replication resumes: the applier's writes (and login) as they were. Idempotent."""
    taken = journal.get(facts.APPLIER_FENCE) if journal is not None else None
    if taken:
        freeze.restore(target, freeze.Record.from_json(taken))
