"""What the cutover's and the rollback's steps share: freezing the side being left (with its postcondition), the
drain by fence, giving a side back (the abort), opening and closing the other side to the applications, sequences and
identity columns, the listener's weights and the switch-point snapshots."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

import psycopg

from inventory_migration.migrationctl.cutover import facts, freeze, snapshot_holder, switch_point
from inventory_migration.migrationctl.cutover import postconditions as post
from inventory_migration.migrationctl.cutover import switch as switch_mod
from inventory_migration.migrationctl.cutover.facts import Fact
from inventory_migration.migrationctl.cutover.gates import freeze_gates
from inventory_migration.migrationctl.cutover.journal import ABORTED, ABORTING, Journal
from inventory_migration.migrationctl.cutover.settings import CutoverAborted, GatesFailed, Settings
from inventory_migration.migrationctl.cutover.step_table import Run
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg import fence, identities
from inventory_migration.migrationctl.pg import sequences as sequences_mod
from inventory_migration.migrationctl.pg.grants import PUBLIC
from inventory_migration.migrationctl.pg.slots import insert_position, lsn_value, slot_position

SIDES = ("source", "target")


FREEZE_FACT = {"source": facts.FREEZE_SOURCE, "target": facts.FREEZE_TARGET}
"""The journal fact holding what the freeze of each side took away."""


CAUGHT_UP_SECONDS = 5.0
"""A replication whose fence row arrives within this many seconds is caught up enough to freeze in front of."""


def catch_up(
    run: Run, *, left: psycopg.Connection, other: psycopg.Connection, side: str, what: str, result: dict[str, Any]
) -> None:
    """Before ``left`` is frozen, its writes still flowing: fence rows written there, one after another, until one is
    applied on ``other`` within :data:`CAUGHT_UP_SECONDS` (a fence that took a minute says the replication was a
    minute behind when it arrived). The drain after the freeze then waits for the last moments only, not for a
    backlog (a DMS task started late, or applying slower than the writes): that wait would be write unavailability.
    Not within ``catch_up_timeout``: :class:`GatesFailed`, nothing frozen."""
    timeout = run.settings.catch_up_timeout
    deadline = time.monotonic() + timeout
    run.settings.say(f"catch-up: waiting for {what} to apply a fence row within {CAUGHT_UP_SECONDS:g} s (writes flowing)")
    rounds: list[float] = []
    while not rounds or rounds[-1] > CAUGHT_UP_SECONDS:
        token = f"catch-up {side}@{run.journal.data['started_at']}#{len(rounds) + 1}"  # a resumed step reuses round 1's
        fence.write(left, token, side)
        try:
            rounds.append(round(fence.wait_visible(other, token, max(0.0, deadline - time.monotonic())), 3))
        except fence.FenceTimeout:
            raise GatesFailed(
                f"{what} caught up: no fence row written before the freeze was applied within {CAUGHT_UP_SECONDS:g} s "
                f"of its writing in {timeout:.0f} s (rounds: {rounds or 'none arrived'}; migrationctl lag; "
                "--catch-up-timeout); nothing was frozen"
            ) from None
    result["caught_up_seconds"] = round(sum(rounds), 3)
    result["catch_up_rounds"] = rounds


def freeze_side(run: Run, conn: psycopg.Connection, side: str, lsn_fact: Fact[str], result: dict[str, Any]) -> str:
    """Stop every frozen role writing on ``conn`` (:mod:`.freeze`); the position that covers every commit before."""
    s = run.settings
    failed = [g for g in freeze_gates(s, conn, side=side) if not g.ok]
    if failed:  # checked again here: the rollback has no gates, and a cutover resumed hours later finds a new writer
        raise GatesFailed("; ".join(f"{g.name}: {g.detail}" for g in failed))
    fact = FREEZE_FACT[side]
    record = freeze.plan(conn, s.frozen_roles, exempt=s.exempt_roles).merged(freeze.Record.from_json(run.journal.get(fact)))
    run.journal.put(fact, record.to_json())  # before anything is revoked: a kill from here on loses nothing
    kept = freeze.kept(conn, s.exempt_roles)
    # Whose transactions begun before the revoke are ended: every role that can write before it, and (a run resumed
    # after a kill inside the revoke finds them already revoked) the frozen roles and the record's grantees.
    could_write = sorted({*freeze.writers(conn), *s.frozen_roles, *record.grantees} - {*kept, PUBLIC})
    freeze.revoke(conn, record)
    result["sessions_ended"] = freeze.end_writing_sessions(conn, could_write, nologin=record.nologin)
    result["tables"] = record.tables
    _freeze_holds(run, conn, side)
    lsn = insert_position(conn)  # for the record: the drain proves itself with the fence, not with this position
    run.journal.record({lsn_fact: lsn, facts.FROZEN_AT: s.clock()})
    s.say(f"freeze: no {', '.join(s.frozen_roles)} write on the {side} ({record.tables} tables) from {lsn}")
    return lsn


def _freeze_holds(run: Run, conn: psycopg.Connection, side: str) -> None:
    """The freeze's postcondition, asked of PostgreSQL after the revoke and the sessions ended: no role but the exempt
    ones (and the migration user) can write a user relation by any path, and no prepared transaction can still commit.
    If it does not hold, the side is given back (abort): nothing else has changed."""
    s = run.settings
    left = post.writers_left(s, conn)
    if left:
        abort_switch(s, run.journal, conn, side=side, why=f"the freeze does not hold on the {side}: {'; '.join(left)}")
    s.say(f"freeze holds: no role but {', '.join(freeze.kept(conn, s.exempt_roles))} can write on the {side}")


def recorded(journal: Journal | None, side: str) -> freeze.Record:
    return freeze.Record.from_json(journal.get(FREEZE_FACT[side]) if journal is not None else None)


def give_back(conn: psycopg.Connection, record: freeze.Record) -> None:
    """Undo a freeze on the side it was taken from."""
    freeze.restore(conn, record)


def _apps_part(s: Settings, conn: psycopg.Connection, record: freeze.Record) -> freeze.Record:
    """What of ``record`` the applications wrote through (their roles, their groups, PUBLIC) that this side has."""
    return freeze.only(freeze.present(conn, record), [*freeze.grantees(conn, s.app_roles), PUBLIC])


def open_to_apps(s: Settings, conn: psycopg.Connection, record: freeze.Record) -> None:
    """Give the applications on the side being opened the writes they had on the side being left (granted by the
    migration user: the grantors of the side being left need not exist here)."""
    freeze.restore(conn, _apps_part(s, conn, record), as_grantor=False)


def close_to_apps(s: Settings, conn: psycopg.Connection, record: freeze.Record) -> None:
    """Take back from the applications what :func:`_open_to_apps` gave (idempotent)."""
    freeze.revoke(conn, _apps_part(s, conn, record), as_grantor=False)


def drain(
    run: Run,
    result: dict[str, Any],
    *,
    left: psycopg.Connection,
    other: psycopg.Connection,
    slot: Callable[[], str],
    problems: Callable[[], list[str]],
    what: str,
    side: str,
) -> None:
    """Write the fence row on ``left`` (frozen) and wait until it can be read on ``other`` (:mod:`..pg.fence`): from then
    on every commit made on ``left`` before the freeze has been applied there — unless the replication set a table
    aside: DMS suspends a table on an apply error and keeps going, so the fence, in its own table, arrives anyway.
    Hence the postcondition, asked of the replication once the fence is there: no table in error, no change it could
    not apply (``problems``). On a timeout or a problem, abort (:func:`abort_switch`). The slot's position is read once,
    as the report's secondary signal."""
    token = f"{run.journal.operation}@{run.journal.data['started_at']}"
    fence_lsn = fence.write(left, token, side)
    run.journal.put(facts.FENCE, token)
    try:
        waited = fence.wait_visible(other, token, run.settings.drain_timeout)
    except fence.FenceTimeout as timeout:
        abort_switch(run.settings, run.journal, left, side=side, why=str(timeout))
    not_applied = problems()
    if not_applied:
        shown = "; ".join(not_applied[:5]) + (f" (+{len(not_applied) - 5} more)" if len(not_applied) > 5 else "")
        why = f"the fence arrived after {waited:.2f} s, but {what} did not apply every change: {shown}"
        abort_switch(run.settings, run.journal, left, side=side, why=why)
    result.update(fence=token, fence_lsn=fence_lsn, fence_seconds=round(waited, 3), **_slot_signal(left, slot, fence_lsn))
    run.settings.say(f"drain: {what} applied the fence {token} after {waited:.2f} s ({result['slot']})")


def _slot_signal(conn: psycopg.Connection, slot: Callable[[], str], fence_lsn: str) -> dict[str, Any]:
    """Where the replication's slot stands against the fence: reported, never waited for (DMS confirms what it has
    fetched, not what it applied)."""
    try:
        name = slot()
    except UsageError as unknown:
        return {"slot": f"slot unknown: {unknown}"}
    position = slot_position(conn, name)
    confirmed = position[0] if position else None
    past = confirmed is not None and lsn_value(confirmed) >= lsn_value(fence_lsn)
    return {
        "slot": f"slot {name} confirmed {confirmed} ({'past' if past else 'short of'} the fence at {fence_lsn})",
        "slot_past_fence": past,
    }


SIDE_LABELS = {"source": "the source", "target": "green"}
"""How the operator's messages name each side."""


def abort_switch(s: Settings, journal: Journal, conn: psycopg.Connection, *, side: str, why: str) -> NoReturn:
    """Give the side being left back to the applications. The journal says *aborting* before anything is undone, so a
    kill here leaves a state the next run finishes (:func:`_finish_abort`), never a frozen side behind a done step."""
    journal.record({facts.ABORT_SIDE: side, facts.ABORT_REASON: why})
    journal.finish(ABORTING)
    give_back(conn, recorded(journal, side))
    journal.finish(ABORTED)
    raise CutoverAborted(f"{why}; {SIDE_LABELS[side]} is writable again and nothing else changed")


def finish_abort(s: Settings, journal: Journal) -> NoReturn:
    """A run that finds an abort under way (killed after recording it) finishes it and reports it."""
    side = journal.get(facts.ABORT_SIDE) or "source"
    dsn, label = (s.source_dsn, "the source") if side == "source" else (s.target_dsn, "green")
    with connection(dsn, side) as conn:
        give_back(conn, recorded(journal, side))
    journal.finish(ABORTED)
    reason: str = journal.get(facts.ABORT_REASON) or "drain timeout"
    raise CutoverAborted(f"the interrupted abort is finished ({reason}); {label} is writable again")


def sync_sequences(writer: psycopg.Connection, follower: psycopg.Connection, gap: int) -> int:
    """Every sequence of ``follower`` to ``writer``'s position plus ``gap`` (never backwards); how many were set."""
    plan = sequences_mod.plan_sync(sequences_mod.positions(writer), sequences_mod.positions(follower), gap)
    sequences_mod.apply_sync(follower, plan)
    return sum(1 for p in plan if p.action == sequences_mod.SET)


def set_weights(run: Run, blue: int, green: int) -> None:
    if run.settings.elbv2 is not None and run.settings.listener is not None:
        switch_mod.set_weights(run.settings.elbv2, run.settings.listener, blue, green)


def release_snapshots(s: Settings) -> None:
    for side in SIDES:
        snapshot_holder.release(s.journal_dir, side)


def snapshots_alive(s: Settings, held: dict[str, str]) -> bool:
    return bool(held) and all(snapshot_holder.alive(held[side], s.journal_dir, side) for side in SIDES)


def arm_snapshots(run: Run) -> None:
    """Before the window: the holders started and connected, so taking the snapshots in it costs milliseconds
    (:func:`.snapshot_holder.arm`); nothing to do while the journal's snapshots are held."""
    s = run.settings
    if not snapshots_alive(s, run.journal.get(facts.SNAPSHOTS) or {}):
        snapshot_holder.arm({"source": s.source_dsn, "target": s.target_dsn}, s.journal_dir)


def disarm_snapshots(s: Settings) -> None:
    """At the run's end, whatever it was: armed holders never set off exit (they hold nothing)."""
    for side in SIDES:
        snapshot_holder.disarm(s.journal_dir, side)


def hold_snapshots(run: Run) -> dict[str, str]:
    """A snapshot of each side held by a detached process: those the journal records while their holders live (a
    re-run after a kill), else new ones."""
    s = run.settings
    held = run.journal.get(facts.SNAPSHOTS) or {}
    if snapshots_alive(s, held):
        return dict(held)
    return snapshot_holder.start({"source": s.source_dsn, "target": s.target_dsn}, s.journal_dir)


def verify_at_snapshots(run: Run, result: dict[str, Any], *, point: str, instead: str, alarm: tuple[str, str]) -> None:
    """Compare both sides as of the snapshots the journal holds (:func:`.switch_point.compare`); when a holder has
    ended, say so and what to run ``instead`` (no verdict: ``equal`` is ``None``)."""
    held = run.journal.get(facts.SNAPSHOTS) or {}
    if not snapshots_alive(run.settings, held):
        run.settings.say(f"verify: the {point} snapshots are gone (a holder ended): {instead}")
        result.update({"equal": None, "note": f"{point} snapshots lost"})
        return
    result.update(switch_point.compare(run.settings, run.source, run.target, held, alarm=alarm))


def identities_to(run: Run, result: dict[str, Any], writer: str) -> None:
    """GENERATED ALWAYS identity columns follow the writer (:mod:`..pg.identities`): ALWAYS on ``writer``, BY DEFAULT
    on the side replication writes. Done while both sides are closed to the applications."""
    sides = {"source": run.source, "target": run.target}
    replica = "target" if writer == "source" else "source"
    handed = identities.hand_over(writer=sides[writer], replica=sides[replica], writer_side=writer, replica_side=replica)
    result["identity_always_on"] = writer
    result["identity_columns"] = [str(c) for c in handed]


NAMES = {"source": "on-prem", "target": "Aurora"}


def sequences_to(run: Run, result: dict[str, Any], writer: str) -> None:
    """Hand the sequences and the identity columns to ``writer``, the side about to take the writes: its sequences past
    the other side's positions plus the gap, its identity columns ALWAYS (the other's BY DEFAULT) — then check both."""
    sides = {"source": run.source, "target": run.target}
    left = "target" if writer == "source" else "source"
    result["set"] = sync_sequences(sides[left], sides[writer], run.settings.sequence_gap)
    identities_to(run, result, writer)
    post.holds(
        "sequences", f"every {NAMES[writer]} sequence past {NAMES[left]}'s", post.sequences_behind(sides[left], sides[writer])
    )
    post.holds(
        "sequences",
        f"identity columns ALWAYS on {NAMES[writer]}, BY DEFAULT on {NAMES[left]}",
        post.identities_misplaced(sides[writer], sides[left]),
    )
