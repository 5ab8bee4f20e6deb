"""The steps of ``migrationctl cutover`` and ``rollback``: the switch between on-prem (blue) and Aurora (green) as
resumable, journaled step tables, with seconds of write unavailability, nothing lost, and parity proven at the switch
point. Which table runs, and when, is :mod:`.operations`.

Each operation is an ordered table of (name, function) — :data:`CUTOVER`, :data:`ROLLBACK`, :data:`ABORT` — and one
loop (:func:`run_steps`) runs a table with the journal: a step already done is skipped, so a re-run after a kill
resumes with the first unfinished one. The table is the one definition of the step names: the journal refuses any
other, and the rehearsal kills the process after each of them.

Cutover (from ``cdc``):

1. **gates** — nothing changes unless all pass (:mod:`.gates`).
2. **freeze** the source for the application roles; the freeze LSN is recorded.
3. **drain**: wait until the forward slot on the source has confirmed the freeze LSN. A timeout aborts: the source is
   unfrozen and nothing else has changed.
4. **sequences** to the source's positions (``sequences sync``), and GENERATED ALWAYS identity columns handed over: ALWAYS
   on the target, BY DEFAULT on the source, which the way back writes (:mod:`..pg.identities`).
5. **way-back**: the reverse slot is created on the target (its consistent point is the reverse start position), and a
   detached holder exports and holds a snapshot of each side — both before the first green write.
6. **switch**: the target opened for the application roles, the listener's weights to green (exactly as the
   ``cutover`` phase declares them), forward replication stopped, reverse replication started from the recorded
   position.
7. **verify** at the switch point: every connection reads the held snapshots; a difference notifies the alarm topic and
   names the rollback decision.

Rollback (from ``cutover`` / ``rollback-window``): freeze green, drain the way back to that freeze point, sequences
target -> source (and identity columns handed back), weights to blue, advance the forward slot to the current source position, unfreeze blue, stop the way
back, resume forward replication from that position (not a new full load: parity held at both switches, and a 500 GB
load does not fit the window). A rollback of a cutover that never switched runs :data:`ABORT` instead: it undoes it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import psycopg

from inventory_migration.migrationctl.cutover import facts, freeze, snapshot_holder
from inventory_migration.migrationctl.cutover import switch as switch_mod
from inventory_migration.migrationctl.cutover.facts import Fact
from inventory_migration.migrationctl.cutover.gates import UNTIL_STARTED, Check, Gate, freeze_gates, privilege_gates
from inventory_migration.migrationctl.cutover.journal import ABORTED, ABORTING, Journal
from inventory_migration.migrationctl.cutover.settings import CutoverAborted, GatesFailed, Settings
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.pg import chunks, data_parity, fence, identities
from inventory_migration.migrationctl.pg import sequences as sequences_mod
from inventory_migration.migrationctl.pg.grants import PUBLIC
from inventory_migration.migrationctl.pg.objects import user_schemas
from inventory_migration.migrationctl.pg.slots import advance_slot, insert_position, lsn_value, slot_position, sync_point

SIDES = ("source", "target")


@dataclasses.dataclass
class Run:
    """One cutover or rollback under way: its settings, journal and connections, and what the steps share."""

    settings: Settings
    journal: Journal
    source: psycopg.Connection
    target: psycopg.Connection
    gate_results: list[Gate] = dataclasses.field(default_factory=list)
    cut: Journal | None = None
    """A rollback's view of the cutover it undoes."""


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of an operation's table: its name (the journal's), its work, and the facts it reads and writes."""

    name: str
    do: Callable[[Run, dict[str, Any]], None]
    """The step's work; it fills the result dict the journal keeps."""
    reads: tuple[Fact[Any], ...] = ()
    """Facts an earlier step (or, for the way back, the cutover) recorded, which this one needs."""
    writes: tuple[Fact[Any], ...] = ()
    """Facts this step records; the journal refuses any other while it runs."""
    checks_gates: bool = False
    """The step that records the gates' verdict: run only after every gate passed (:func:`cutover`)."""
    opens_target: bool = False
    """The step from whose start green may hold writes: an undo before it is an abort, after it a rollback."""
    needs: tuple[Check, ...] = ()
    """The gates this step depends on: every run — fresh or resumed — evaluates them while the step is still to run
    (:func:`pending_checks`)."""


def pending_checks(steps: Sequence[Step], journal: Journal) -> list[Check]:
    """The gate groups to evaluate before this run's steps: those of every step not yet done (a step begun and
    interrupted is resumed, so what it depends on is checked again), except the groups that describe the state before
    a step it has already begun to change (:data:`.gates.UNTIL_STARTED`); and always whether a rollback is under way."""
    wanted = {Check.ROLLBACK}
    for step in steps:
        if not journal.done(step.name):
            wanted |= {c for c in step.needs if not (c in UNTIL_STARTED and journal.started(step.name))}
    return [c for c in Check if c in wanted]


def step_writes(*tables: Sequence[Step]) -> dict[str, tuple[str, ...]]:
    """Step name -> the fact names it may record, over ``tables`` (one journal may hold the steps of two tables)."""
    out: dict[str, tuple[str, ...]] = {}
    for table in tables:
        for step in table:
            out[step.name] = tuple(dict.fromkeys(out.get(step.name, ()) + tuple(f.name for f in step.writes)))
    return out


def run_steps(steps: Sequence[Step], run: Run) -> None:
    """Run every step of the table that the journal does not have as done, in order."""
    for step in steps:
        if not run.journal.done(step.name):
            with run.journal.step(step.name) as result:
                step.do(run, result)


# --------------------------------------------------------------------------------------------- shared by both ways


FREEZE_FACT = {"source": facts.FREEZE_SOURCE, "target": facts.FREEZE_TARGET}
"""The journal fact holding what the freeze of each side took away."""


def _freeze(run: Run, conn: psycopg.Connection, side: str, lsn_fact: Fact[str], result: dict[str, Any]) -> str:
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
    paths = freeze.residual(conn, s.exempt_roles)
    prepared = freeze.prepared_transactions(conn)
    if paths or prepared:
        why = "; ".join([*(p.line for p in paths), *(f"prepared transaction {t}" for t in prepared)])
        _abort_switch(s, run.journal, conn, side=side, why=f"the freeze does not hold on the {side}: {why}")
    s.say(f"freeze holds: no role but {', '.join(freeze.kept(conn, s.exempt_roles))} can write on the {side}")


def _recorded(journal: Journal | None, side: str) -> freeze.Record:
    return freeze.Record.from_json(journal.get(FREEZE_FACT[side]) if journal is not None else None)


def _give_back(conn: psycopg.Connection, record: freeze.Record) -> None:
    """Undo a freeze on the side it was taken from."""
    freeze.restore(conn, record)


def _apps_part(s: Settings, conn: psycopg.Connection, record: freeze.Record) -> freeze.Record:
    """What of ``record`` the applications wrote through (their roles, their groups, PUBLIC) that this side has."""
    return freeze.only(freeze.present(conn, record), [*freeze.grantees(conn, s.app_roles), PUBLIC])


def _open_to_apps(s: Settings, conn: psycopg.Connection, record: freeze.Record) -> None:
    """Give the applications on the side being opened the writes they had on the side being left (granted by the
    migration user: the grantors of the side being left need not exist here)."""
    freeze.restore(conn, _apps_part(s, conn, record), as_grantor=False)


def _close_to_apps(s: Settings, conn: psycopg.Connection, record: freeze.Record) -> None:
    """Take back from the applications what :func:`_open_to_apps` gave (idempotent)."""
    freeze.revoke(conn, _apps_part(s, conn, record), as_grantor=False)


def _drain(
    run: Run,
    result: dict[str, Any],
    *,
    left: psycopg.Connection,
    other: psycopg.Connection,
    slot: Callable[[], str],
    what: str,
    side: str,
) -> None:
    """Write the fence row on ``left`` (frozen) and wait until it can be read on ``other`` (:mod:`..pg.fence`): from then
    on every commit made on ``left`` before the freeze has been applied there. On a timeout, abort
    (:func:`_abort_switch`). The slot's position is read once, as the report's secondary signal."""
    token = f"{run.journal.operation}@{run.journal.data['started_at']}"
    fence_lsn = fence.write(left, token, side)
    run.journal.put(facts.FENCE, token)
    try:
        waited = fence.wait_visible(other, token, run.settings.drain_timeout)
    except fence.FenceTimeout as timeout:
        _abort_switch(run.settings, run.journal, left, side=side, why=str(timeout))
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


def _abort_switch(s: Settings, journal: Journal, conn: psycopg.Connection, *, side: str, why: str) -> NoReturn:
    """Give the side being left back to the applications. The journal says *aborting* before anything is undone, so a
    kill here leaves a state the next run finishes (:func:`_finish_abort`), never a frozen side behind a done step."""
    journal.record({facts.ABORT_SIDE: side, facts.ABORT_REASON: why})
    journal.finish(ABORTING)
    _give_back(conn, _recorded(journal, side))
    journal.finish(ABORTED)
    raise CutoverAborted(f"{why}; {SIDE_LABELS[side]} is writable again and nothing else changed")


def finish_abort(s: Settings, journal: Journal) -> NoReturn:
    """A run that finds an abort under way (killed after recording it) finishes it and reports it."""
    side = journal.get(facts.ABORT_SIDE) or "source"
    dsn, label = (s.source_dsn, "the source") if side == "source" else (s.target_dsn, "green")
    with connection(dsn, side) as conn:
        _give_back(conn, _recorded(journal, side))
    journal.finish(ABORTED)
    reason: str = journal.get(facts.ABORT_REASON) or "drain timeout"
    raise CutoverAborted(f"the interrupted abort is finished ({reason}); {label} is writable again")


def _sync_sequences(writer: psycopg.Connection, follower: psycopg.Connection, gap: int) -> int:
    """Every sequence of ``follower`` to ``writer``'s position plus ``gap`` (never backwards); how many were set."""
    plan = sequences_mod.plan_sync(sequences_mod.positions(writer), sequences_mod.positions(follower), gap)
    sequences_mod.apply_sync(follower, plan)
    return sum(1 for p in plan if p.action == sequences_mod.SET)


def _weights(run: Run, blue: int, green: int) -> None:
    if run.settings.elbv2 is not None and run.settings.listener is not None:
        switch_mod.set_weights(run.settings.elbv2, run.settings.listener, blue, green)


def release_snapshots(s: Settings) -> None:
    for side in SIDES:
        snapshot_holder.release(s.journal_dir, side)


def _snapshots_alive(s: Settings, held: dict[str, str]) -> bool:
    return bool(held) and all(snapshot_holder.alive(held[side], s.journal_dir, side) for side in SIDES)


# --------------------------------------------------------------------------------------------- cutover


def _record_gates(run: Run, result: dict[str, Any]) -> None:
    result["gates"] = {g.name: g.detail for g in run.gate_results}


def _freeze_blue(run: Run, result: dict[str, Any]) -> None:
    result["freeze_lsn"] = _freeze(run, run.source, "source", facts.FREEZE_LSN, result)


def _forward_drain(run: Run, result: dict[str, Any]) -> None:
    _drain(
        run,
        result,
        left=run.source,
        other=run.target,
        slot=lambda: run.settings.backend.resolve_forward_slot(run.source),
        what="forward replication",
        side="source",
    )


def _identities_to(run: Run, result: dict[str, Any], writer: str) -> None:
    """GENERATED ALWAYS identity columns follow the writer (:mod:`..pg.identities`): ALWAYS on ``writer``, BY DEFAULT
    on the side replication writes. Done while both sides are closed to the applications."""
    sides = {"source": run.source, "target": run.target}
    replica = "target" if writer == "source" else "source"
    handed = identities.hand_over(writer=sides[writer], replica=sides[replica], writer_side=writer, replica_side=replica)
    result["identity_always_on"] = writer
    result["identity_columns"] = [str(c) for c in handed]


def _sequences_to_green(run: Run, result: dict[str, Any]) -> None:
    result["set"] = _sync_sequences(run.source, run.target, run.settings.sequence_gap)
    _identities_to(run, result, "target")


def _way_back(run: Run, result: dict[str, Any]) -> None:
    s = run.settings
    reverse_lsn = s.backend.prepare_reverse(run.target)
    held = run.journal.get(facts.SNAPSHOTS) or {}
    snapshots = (
        dict(held)
        if _snapshots_alive(s, held)
        else snapshot_holder.start({"source": s.source_dsn, "target": s.target_dsn}, s.journal_dir)
    )
    run.journal.record({facts.REVERSE_START_LSN: reverse_lsn, facts.SNAPSHOTS: snapshots})
    result.update(reverse_start_lsn=reverse_lsn, snapshots=snapshots)
    s.say(f"way back: slot {s.backend.reverse_slot} on the target from {reverse_lsn}; switch-point snapshots held")


def _stop_forward(run: Run, result: dict[str, Any]) -> None:
    """The forward replication has applied the fence (drain); stopped now, it can apply nothing more on green. Only
    then is the way back's slot created (:func:`_way_back`), so no change — an exempt role's write on-prem after the
    fence included — can be applied on green, captured by that slot and sent back: nothing travels in a circle. What an
    exempt role writes on-prem from here on stays there, and the switch-point verify names its table."""
    backend = run.settings.backend
    backend.stop_forward()
    if backend.forward_running():
        raise CutoverAborted("the forward replication still runs after it was stopped: nothing else has changed")
    result["forward_running"] = False
    run.settings.say(f"forward replication stopped ({backend.name}): it applies nothing more on green")


def _switch_to_green(run: Run, result: dict[str, Any]) -> None:
    s = run.settings
    # The forward replication stopped before the way back's slot existed (stop-forward); green opens, and the way back
    # starts last.
    if s.backend.forward_running():  # a forward task someone restarted since would write on an open green
        raise GatesFailed("the forward replication runs again since it was stopped: stop it, then run cutover again")
    _open_to_apps(s, run.target, _recorded(run.journal, "source"))
    _weights(run, 0, 100)
    run.journal.put(facts.SWITCHED_AT, s.clock())
    result["reverse"] = s.backend.start_reverse(run.journal.require(facts.REVERSE_START_LSN))
    s.say(f"switch: green serves; {result['reverse']}")


def _switch_point_verify(run: Run, result: dict[str, Any]) -> None:
    s = run.settings
    held = run.journal.get(facts.SNAPSHOTS) or {}
    if not _snapshots_alive(s, held):
        s.say("verify: the switch-point snapshots are gone (a holder ended): run `migrationctl verify` once drained")
        result.update({"equal": None, "note": "switch-point snapshots lost"})
        return
    schemas = list(s.schemas) or user_schemas(run.source)
    tables_s, tables_t = chunks.list_tables(run.source, schemas), chunks.list_tables(run.target, schemas)
    started = time.monotonic()
    results = data_parity.data_parity(
        s.source_dsn,
        s.target_dsn,
        tables_s,
        tables_t,
        data_parity.DataParityOptions(jobs=s.verify_jobs, source_snapshot=held["source"], target_snapshot=held["target"]),
    )
    equal = bool(results) and all(r.equal for r in results)  # equal over no table is no verdict
    differing = [r.table for r in results if not r.equal] or ([] if results else ["(no table compared)"])
    seconds = time.monotonic() - started
    s.say(f"verify at the switch point: {'equal' if equal else 'DIFFERENT: ' + ', '.join(differing)} ({seconds:.1f} s)")
    if not equal and s.sns is not None and s.topic_arn:
        s.sns.publish(
            TopicArn=s.topic_arn,
            Subject="Cutover: data differs at the switch point",
            Message=(
                f"migrationctl cutover: Aurora differs from on-prem as of the switch in {', '.join(differing)}. "
                "Green has served since the switch; its writes are replicated back to on-prem. Decide now: "
                "`migrationctl rollback` returns to blue without losing them."
            ),
        )
    result.update(
        {"equal": equal, "differing_tables": differing, "rows": sum(r.source_rows for r in results), "seconds": round(seconds, 3)}
    )


CUTOVER: tuple[Step, ...] = (
    Step("gates", _record_gates, checks_gates=True),
    Step(
        "freeze",
        _freeze_blue,
        writes=(facts.FREEZE_SOURCE, facts.FREEZE_LSN, facts.FROZEN_AT),
        needs=(Check.LAG, Check.FREEZE, Check.PRIVILEGES),
    ),
    Step("drain", _forward_drain, reads=(facts.FREEZE_SOURCE,), writes=(facts.FENCE,), needs=(Check.REPLICATION,)),
    Step("stop-forward", _stop_forward),
    Step("sequences", _sequences_to_green, needs=(Check.SEQUENCES,)),
    Step(
        "way-back",
        _way_back,
        reads=(facts.SNAPSHOTS,),
        writes=(facts.REVERSE_START_LSN, facts.SNAPSHOTS),
        needs=(Check.WAY_BACK,),
    ),
    Step(
        "switch",
        _switch_to_green,
        reads=(facts.FREEZE_SOURCE, facts.REVERSE_START_LSN),
        writes=(facts.SWITCHED_AT,),
        opens_target=True,
        needs=(
            Check.ALARM,
            Check.REPLICATION,
            Check.POST_DATA,
            Check.VERIFY,
            Check.PRIVILEGES,
            Check.TARGET_CLOSED,
            Check.BLUE,
        ),
    ),
    Step("verify", _switch_point_verify, reads=(facts.SNAPSHOTS,)),
)

# --------------------------------------------------------------------------------------------- rollback


def _freeze_green(run: Run, result: dict[str, Any]) -> None:
    missing = [g for g in privilege_gates(run.settings, run.source, run.target) if not g.ok]
    if missing:  # before green is frozen: a rollback that cannot finish must not start
        raise GatesFailed("; ".join(f"{g.name}: {g.detail}" for g in missing))
    release_snapshots(run.settings)
    _freeze(run, run.target, "target", facts.GREEN_FREEZE_LSN, result)


def _reverse_drain(run: Run, result: dict[str, Any]) -> None:
    backend = run.settings.backend
    backend.stop_forward()  # before the way back runs: never both directions at once (a cutover killed in its switch)
    if not backend.reverse_running():
        assert run.cut is not None
        result["started"] = backend.start_reverse(run.cut.require(facts.REVERSE_START_LSN))
    _drain(run, result, left=run.target, other=run.source, slot=lambda: backend.reverse_slot, what="the way back", side="target")


def _sequences_to_blue(run: Run, result: dict[str, Any]) -> None:
    result["set"] = _sync_sequences(run.target, run.source, run.settings.sequence_gap)
    _identities_to(run, result, "source")


def _weights_to_blue(run: Run, _result: dict[str, Any]) -> None:
    _weights(run, 100, 0)


def _forward_position(run: Run, result: dict[str, Any]) -> None:
    # Here on-prem equals Aurora: forward replication resumes from this point, so nothing the way back wrote is sent
    # again and nothing written on-prem from now on is missed.
    backend = run.settings.backend
    backend.stop_forward()  # already stopped unless the cutover was interrupted inside its switch
    position = advance_slot(run.source, backend.resolve_forward_slot(run.source), sync_point(run.source))
    run.journal.put(facts.FORWARD_RESUME_LSN, position)
    result["position"] = position


def _unfreeze_blue(run: Run, _result: dict[str, Any]) -> None:
    _give_back(run.source, _recorded(run.cut, "source"))  # blue as it was before the cutover froze it
    run.journal.put(facts.SWITCHED_AT, run.settings.clock())
    run.settings.say("switch: blue serves again")


def _stop_reverse(run: Run, _result: dict[str, Any]) -> None:
    run.settings.backend.stop_reverse(run.target)


def _resume_forward(run: Run, result: dict[str, Any]) -> None:
    result["position"] = run.settings.backend.resume_forward(run.source, run.journal.require(facts.FORWARD_RESUME_LSN))
    run.settings.say(f"forward replication resumed from {result['position']}")


ROLLBACK: tuple[Step, ...] = (
    Step("freeze-green", _freeze_green, writes=(facts.FREEZE_TARGET, facts.GREEN_FREEZE_LSN, facts.FROZEN_AT)),
    Step("reverse-drain", _reverse_drain, reads=(facts.FREEZE_TARGET, facts.REVERSE_START_LSN), writes=(facts.FENCE,)),
    Step("stop-reverse", _stop_reverse),
    Step("sequences", _sequences_to_blue),
    Step("weights-blue", _weights_to_blue),
    Step("forward-position", _forward_position, writes=(facts.FORWARD_RESUME_LSN,)),
    Step("unfreeze-blue", _unfreeze_blue, reads=(facts.FREEZE_SOURCE,), writes=(facts.SWITCHED_AT,)),
    Step("resume-forward", _resume_forward, reads=(facts.FORWARD_RESUME_LSN,)),
)

# --------------------------------------------------------------------------------------------- undo of an unswitched cutover


def _close_green(run: Run, _result: dict[str, Any]) -> None:
    _close_to_apps(run.settings, run.target, _recorded(run.cut, "source"))


def _release_way_back(run: Run, _result: dict[str, Any]) -> None:
    release_snapshots(run.settings)
    run.settings.backend.stop_reverse(run.target)


def _forward_running_again(run: Run, result: dict[str, Any]) -> None:
    # The cutover never switched: nothing of green has to be skipped, and whatever the forward replication has not
    # applied yet must still be. It resumes from its own slot's position, never from "now".
    _identities_to(run, result, "source")  # the cutover's sequences step may have handed them to green
    if not run.settings.backend.forward_running():
        result["position"] = run.settings.backend.resume_forward(run.source, None)


def _unfreeze_source(run: Run, _result: dict[str, Any]) -> None:
    _give_back(run.source, _recorded(run.cut, "source"))


ABORT: tuple[Step, ...] = (
    Step("close-green", _close_green, reads=(facts.FREEZE_SOURCE,)),
    Step("weights-blue", _weights_to_blue),
    Step("stop-reverse", _release_way_back),
    Step("resume-forward", _forward_running_again),
    Step("unfreeze-blue", _unfreeze_source, reads=(facts.FREEZE_SOURCE,)),
)

CUTOVER_STEPS = tuple(step.name for step in CUTOVER)
ROLLBACK_STEPS = tuple(step.name for step in ROLLBACK)
ABORT_STEPS = tuple(step.name for step in ABORT)
JOURNAL_WRITES = {"cutover": step_writes(CUTOVER), "rollback": step_writes(ROLLBACK, ABORT)}
JOURNAL_STEPS = {operation: tuple(writes) for operation, writes in JOURNAL_WRITES.items()}
"""Each operation's steps and the facts each may record: what its journal accepts."""
GATE_STEP = next(step.name for step in CUTOVER if step.checks_gates)
"""The cutover's step that records the gates' verdict."""
OPENS_TARGET = next(step.name for step in CUTOVER if step.opens_target)
"""The cutover's step from whose start green may hold writes."""
"""The names each operation's journal accepts (a rollback's journal records a rollback or the undo of a cutover)."""
