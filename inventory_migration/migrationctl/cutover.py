"""``migrationctl cutover`` and ``rollback``: the switch between on-prem (blue) and Aurora (green) as resumable,
journaled state machines, with seconds of write unavailability, nothing lost, and parity proven at the switch point.

Cutover (from ``cdc``):

1. **gates** — nothing changes unless all pass: no ``cutover-blocked`` alarm; forward replication running and its lag
   under the threshold; post-data schema on the target; every sequence present on the target; a recent clean
   ``migrationctl verify``; ``files verify`` clean when required; the way back possible (logical WAL and a free slot on
   the target); the applications cannot write to the target yet; all traffic on blue.
2. **freeze** the source for the application roles; the freeze LSN is recorded.
3. **drain**: wait until the forward slot on the source has confirmed the freeze LSN. A timeout aborts: the source is
   unfrozen and nothing else has changed.
4. **sequences** to the source's positions (``sequences sync``).
5. **way back**: the reverse slot is created on the target (its consistent point is the reverse start position), and a
   detached holder exports and holds a snapshot of the target — both before the first green write.
6. **switch**: forward replication stopped, the target opened for the application roles, the listener's weights to
   green (exactly as the ``cutover`` phase declares them), reverse replication started from the recorded position.
7. **verify** at the switch point: every target connection reads the held snapshot, the source is frozen; a difference
   notifies the alarm topic and names the rollback decision.

Rollback (from ``cutover`` / ``rollback-window``): freeze green, drain the way back to that freeze point, sequences
target -> source, weights to blue, advance the forward slot to the current source position, unfreeze blue, stop the way
back, resume forward replication from that position (not a new full load: parity held at both switches, and a 500 GB
load does not fit the window). A rollback of a cutover that never switched just undoes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from inventory_migration.migrationctl import sequences as sequences_mod
from inventory_migration.migrationctl import snapshot_holder
from inventory_migration.migrationctl import switch as switch_mod
from inventory_migration.migrationctl import verify as verify_mod
from inventory_migration.migrationctl.db import connection, query
from inventory_migration.migrationctl.errors import UsageError
from inventory_migration.migrationctl.journal import ABORTED, DONE, Journal
from inventory_migration.migrationctl.replication import (
    DrainTimeout,
    ReplicationBackend,
    advance_slot,
    sync_point,
    wait_for_slot,
)

CUTOVER_STEPS = ("gates", "freeze", "drain", "sequences", "way-back", "switch", "verify")
ROLLBACK_STEPS = (
    "freeze-green",
    "reverse-drain",
    "sequences",
    "weights-blue",
    "forward-position",
    "unfreeze-blue",
    "stop-reverse",
    "resume-forward",
)
ABORT_STEPS = ("close-green", "weights-blue", "stop-reverse", "resume-forward", "unfreeze-blue")
VERIFY_RECORD = verify_mod.RECORD_FILE
FILES_VERIFY_RECORD = "files-verify-last.json"
POST_DATA_KINDS = ("indexes", "constraints", "triggers")
SIDES = ("source", "target")


class GatesFailed(RuntimeError):
    """A gate said no: nothing has changed."""


class CutoverAborted(RuntimeError):
    """The cutover stopped and put the source back; nothing else has changed."""


@dataclasses.dataclass(frozen=True)
class Gate:
    name: str
    ok: bool
    detail: str


@dataclasses.dataclass
class Settings:
    """Everything a cutover or rollback works with."""

    source_dsn: str
    target_dsn: str
    app_roles: tuple[str, ...]
    backend: ReplicationBackend
    state_dir: Path
    listener: switch_mod.Listener | None = None
    elbv2: Any = None
    cloudwatch: Any = None
    cutover_alarm: str = ""
    sns: Any = None
    topic_arn: str = ""
    drain_timeout: float = 60.0
    max_lag_bytes: int = 64 * 1024 * 1024
    max_lag_seconds: float = 30.0
    verify_max_age_hours: float = 24.0
    require_files_verify: bool = False
    sequence_gap: int = sequences_mod.DEFAULT_GAP
    verify_jobs: int = 2
    schemas: tuple[str, ...] = ()
    say: Callable[[str], None] = print
    clock: Callable[[], float] = time.time

    @property
    def journal_dir(self) -> Path:
        return self.state_dir / "journal"


def _age_hours(record: dict[str, Any], clock: Callable[[], float]) -> float:
    at = dt.datetime.fromisoformat(record["at"]).timestamp()
    return (clock() - at) / 3600


def _record_gate(
    path: Path, label: str, max_age: float, clock: Callable[[], float], databases: dict[str, str] | None = None
) -> Gate:
    """A recorded verdict (``verify``, ``files verify``): clean, recent, and of these databases."""
    if not path.is_file():
        return Gate(label, False, f"no record {path}: run it before the window")
    record = json.loads(path.read_text(encoding="utf-8"))
    age = _age_hours(record, clock)
    other = [side for side, fingerprint in (databases or {}).items() if record.get(side) != fingerprint]
    ok = bool(record.get("equal")) and age <= max_age and not other
    detail = f"{'equal' if record.get('equal') else 'DIFFERENCES'}, {age:.1f} h ago (limit {max_age:g} h)"
    if other:
        detail += f"; recorded for another {' and '.join(other)} database"
    return Gate(label, ok, detail)


def _sync_sequences(writer: psycopg.Connection, follower: psycopg.Connection, gap: int) -> int:
    """Every sequence of ``follower`` to ``writer``'s position plus ``gap`` (never backwards); how many were set."""
    plan = sequences_mod.plan_sync(sequences_mod.positions(writer), sequences_mod.positions(follower), gap)
    sequences_mod.apply_sync(follower, plan)
    return sum(1 for p in plan if p.action == "set")


def gates(s: Settings, source: psycopg.Connection, target: psycopg.Connection) -> list[Gate]:
    """Every gate, evaluated (nothing changes)."""
    out: list[Gate] = []
    if s.cloudwatch is not None and s.cutover_alarm:
        alarms = s.cloudwatch.describe_alarms(AlarmNames=[s.cutover_alarm], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        state = alarms[0]["StateValue"] if alarms else "MISSING"
        out.append(Gate("no cutover-blocked alarm", state in ("OK", "INSUFFICIENT_DATA"), f"{s.cutover_alarm}: {state}"))
    else:
        out.append(Gate("no cutover-blocked alarm", True, "not checked: no alarm given (--stack-outputs)"))
    running = s.backend.forward_running()
    lag = s.backend.forward_lag(source)
    lag_ok = (
        running
        and (lag.bytes is None or lag.bytes <= s.max_lag_bytes)
        and (lag.seconds is None or lag.seconds <= s.max_lag_seconds)
    )
    detail = f"{s.backend.name} running={running}, lag {lag.bytes if lag.bytes is not None else '-'} B / {lag.seconds if lag.seconds is not None else '-'} s"
    out.append(Gate("forward replication running, lag under threshold", lag_ok, detail))
    schemas = list(s.schemas) or verify_mod.user_schemas(source)
    snapshot_s, snapshot_t = verify_mod.schema_snapshot(source, schemas), verify_mod.schema_snapshot(target, schemas)
    missing = [
        d
        for d in verify_mod.diff_schema(snapshot_s, snapshot_t)
        if d.kind in POST_DATA_KINDS and d.problem == "missing on target"
    ]
    out.append(
        Gate(
            "post-data done",
            not missing,
            f"{len(missing)} index/constraint/trigger missing on target" + (f": {missing[0].name}" if missing else ""),
        )
    )
    seq_plan = sequences_mod.plan_sync(sequences_mod.positions(source), sequences_mod.positions(target), s.sequence_gap)
    absent = [p.sequence for p in seq_plan if p.action == "missing on target"]
    out.append(Gate("sequences present on the target", not absent, f"{len(seq_plan)} sequences, {len(absent)} missing"))
    databases = {
        "source": verify_mod.source_dsn_fingerprint(s.source_dsn),
        "target": verify_mod.source_dsn_fingerprint(s.target_dsn),
    }
    out.append(_record_gate(s.state_dir / VERIFY_RECORD, "recent clean verify", s.verify_max_age_hours, s.clock, databases))
    if s.require_files_verify:
        out.append(_record_gate(s.state_dir / FILES_VERIFY_RECORD, "files verify clean", s.verify_max_age_hours, s.clock))
    else:
        out.append(Gate("files verify clean", True, "not required (--require-files-verify)"))
    wal_level = query(target, "SHOW wal_level")[0][0]
    free_slots = int(
        query(target, "SELECT current_setting('max_replication_slots')::int - count(*) FROM pg_replication_slots")[0][0]
    )
    reverse_exists = query(target, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (s.backend.reverse_slot,))
    out.append(
        Gate(
            "way back prepared",
            wal_level == "logical" and (free_slots >= 1 or bool(reverse_exists)),
            f"target wal_level={wal_level}, {free_slots} free slot(s)",
        )
    )
    writable = [r for r in switch_mod.existing_roles(target, s.app_roles) if not switch_mod.is_read_only(target, r)]
    out.append(Gate("applications cannot write to the target yet", not writable, f"writable on target: {writable or 'none'}"))
    if s.elbv2 is not None and s.listener is not None:
        current = switch_mod.weights(s.elbv2, s.listener)
        out.append(Gate("all traffic on blue", current == {"blue": 100, "green": 0}, f"weights {current}"))
    return out


def _journal(s: Settings, operation: str) -> Journal:
    return Journal(s.journal_dir / f"{operation}.json", operation)


def _ready_for(s: Settings, operation: str) -> Journal:
    """The journal to continue, or a new one (finished ones are archived when the other operation ran after them)."""
    journal = _journal(s, operation)
    other = _journal(s, "rollback" if operation == "cutover" else "cutover")
    if journal.status in (DONE, ABORTED) and journal.path.exists():
        newer_other = (
            other.path.exists() and other.status in (DONE, ABORTED) and other.path.stat().st_mtime > journal.path.stat().st_mtime
        )
        if journal.status == ABORTED or newer_other:
            journal.archive()
            journal = _journal(s, operation)
    return journal


def cutover(s: Settings, *, dry_run: bool = False) -> Journal:
    """Run (or resume) the cutover; returns its journal."""
    journal = _ready_for(s, "cutover")
    if journal.status == DONE:
        s.say(f"cutover already done ({journal.path}); nothing to do")
        return journal
    with connection(s.source_dsn, "source") as source, connection(s.target_dsn, "target") as target:
        if not journal.done("gates"):
            results = gates(s, source, target)
            for g in results:
                s.say(f"  gate {'ok  ' if g.ok else 'FAIL'} {g.name}: {g.detail}")
            if dry_run:
                s.say("dry run: the steps would be " + " -> ".join(CUTOVER_STEPS[1:]) + "; nothing changed")
                return journal
            if not all(g.ok for g in results):
                raise GatesFailed("; ".join(g.name for g in results if not g.ok))
            with journal.step("gates") as result:
                result["gates"] = {g.name: g.detail for g in results}
        elif dry_run:
            s.say(f"dry run: a cutover is under way ({journal.path}); next: {_next(journal, CUTOVER_STEPS)}")
            return journal

        if not journal.done("freeze"):
            with journal.step("freeze") as result:
                result["sessions_ended"] = switch_mod.freeze(source, s.app_roles)
                lsn = sync_point(source)
                journal.record(freeze_lsn=lsn, frozen_at=s.clock())
                result["freeze_lsn"] = lsn
                s.say(f"freeze: source read-only for {', '.join(s.app_roles)} at {lsn}")

        if not journal.done("drain"):
            try:
                with journal.step("drain") as result:
                    slot = s.backend.resolve_forward_slot(source)
                    waited = wait_for_slot(source, slot, journal.facts["freeze_lsn"], s.drain_timeout)
                    result["seconds"] = round(waited, 3)
                    s.say(f"drain: forward replication confirmed {journal.facts['freeze_lsn']} after {waited:.2f} s")
            except DrainTimeout as timeout:
                switch_mod.unfreeze(source, s.app_roles)
                journal.finish(ABORTED)
                raise CutoverAborted(f"{timeout}; the source is writable again and nothing else changed") from None

        if not journal.done("sequences"):
            with journal.step("sequences") as result:
                result["set"] = _sync_sequences(source, target, s.sequence_gap)

        if not journal.done("way-back"):
            with journal.step("way-back") as result:
                reverse_lsn = s.backend.prepare_reverse(target)
                snapshots = _hold_snapshots(s, journal)
                journal.record(reverse_start_lsn=reverse_lsn, snapshots=snapshots)
                result.update(reverse_start_lsn=reverse_lsn, snapshots=snapshots)
                s.say(f"way back: slot {s.backend.reverse_slot} on the target from {reverse_lsn}; switch-point snapshots held")

        if not journal.done("switch"):
            with journal.step("switch") as result:
                # Writes first (the source is frozen, so forward replication has nothing left to apply), then forward
                # replication stops before the way back starts: a change never travels in a circle.
                switch_mod.unfreeze(target, s.app_roles)
                if s.elbv2 is not None and s.listener is not None:
                    switch_mod.set_weights(s.elbv2, s.listener, 0, 100)
                journal.record(switched_at=s.clock())
                s.backend.stop_forward()
                result["reverse"] = s.backend.start_reverse(journal.facts["reverse_start_lsn"])
                s.say(f"switch: green serves; {result['reverse']}")

        if not journal.done("verify"):
            with journal.step("verify") as result:
                result.update(_switch_point_verify(s, journal, source, target))
        _release_snapshots(s)
        journal.finish(DONE)
    s.say(
        f"cutover done. Record the reverse start position for the stack: dms.reverse_cdc_start_position = "
        f'"{journal.facts["reverse_start_lsn"]}"; then migration_phase = "cutover", previous_phase = "cdc"; cdktf deploy'
    )
    return journal


def _next(journal: Journal, steps: tuple[str, ...]) -> str:
    return next((step for step in steps if not journal.done(step)), "nothing")


def _hold_snapshots(s: Settings, journal: Journal) -> dict[str, str]:
    """Snapshots of both sides at the switch point, held by detached processes (reused when a re-run finds them)."""
    held = journal.facts.get("snapshots") or {}
    if held and all(snapshot_holder.alive(held[side], s.journal_dir, side) for side in SIDES):
        return dict(held)
    return snapshot_holder.start({"source": s.source_dsn, "target": s.target_dsn}, s.journal_dir)


def _release_snapshots(s: Settings) -> None:
    for side in SIDES:
        snapshot_holder.release(s.journal_dir, side)


def _switch_point_verify(s: Settings, journal: Journal, source: psycopg.Connection, target: psycopg.Connection) -> dict[str, Any]:
    held = journal.facts.get("snapshots") or {}
    if not held or not all(snapshot_holder.alive(held[side], s.journal_dir, side) for side in SIDES):
        s.say("verify: the switch-point snapshots are gone (a holder ended): run `migrationctl verify` once drained")
        return {"equal": None, "note": "switch-point snapshots lost"}
    schemas = list(s.schemas) or verify_mod.user_schemas(source)
    tables_s, tables_t = verify_mod.list_tables(source, schemas), verify_mod.list_tables(target, schemas)
    started = time.monotonic()
    results = verify_mod.data_parity(
        s.source_dsn,
        s.target_dsn,
        tables_s,
        tables_t,
        verify_mod.DataParityOptions(jobs=s.verify_jobs, source_snapshot=held["source"], target_snapshot=held["target"]),
    )
    equal = all(r.equal for r in results)
    differing = [r.table for r in results if not r.equal]
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
    return {
        "equal": equal,
        "differing_tables": differing,
        "rows": sum(r.source_rows for r in results),
        "seconds": round(seconds, 3),
    }


# --------------------------------------------------------------------------------------------- rollback


def rollback(s: Settings, *, dry_run: bool = False) -> Journal:
    """Run (or resume) the way back; undoes a cutover that never switched."""
    cut = _journal(s, "cutover")
    if not cut.path.exists():
        raise UsageError(f"no cutover journal in {s.journal_dir}: nothing to roll back")
    if not cut.started("switch"):  # green never opened: nothing was written there
        return _abort(s, cut, dry_run=dry_run)
    journal = _ready_for(s, "rollback")
    if journal.status == DONE:
        s.say(f"rollback already done ({journal.path}); nothing to do")
        return journal
    if dry_run:
        s.say("dry run: the steps would be " + " -> ".join(ROLLBACK_STEPS) + f"; next: {_next(journal, ROLLBACK_STEPS)}")
        return journal
    with connection(s.source_dsn, "source") as source, connection(s.target_dsn, "target") as target:
        if not journal.done("freeze-green"):
            with journal.step("freeze-green") as result:
                _release_snapshots(s)
                result["sessions_ended"] = switch_mod.freeze(target, s.app_roles)
                lsn = sync_point(target)
                journal.record(green_freeze_lsn=lsn, frozen_at=s.clock())
                s.say(f"freeze: target read-only for {', '.join(s.app_roles)} at {lsn}")
        if not journal.done("reverse-drain"):
            try:
                with journal.step("reverse-drain") as result:
                    if not s.backend.reverse_running():
                        result["started"] = s.backend.start_reverse(cut.facts["reverse_start_lsn"])
                    waited = wait_for_slot(target, s.backend.reverse_slot, journal.facts["green_freeze_lsn"], s.drain_timeout)
                    result["seconds"] = round(waited, 3)
                    s.say(f"drain: the way back confirmed {journal.facts['green_freeze_lsn']} after {waited:.2f} s")
            except DrainTimeout as timeout:
                switch_mod.unfreeze(target, s.app_roles)
                journal.finish(ABORTED)
                raise CutoverAborted(f"{timeout}; green is writable again and nothing else changed") from None
        if not journal.done("sequences"):
            with journal.step("sequences") as result:
                result["set"] = _sync_sequences(target, source, s.sequence_gap)
        if not journal.done("weights-blue"):
            with journal.step("weights-blue"):
                if s.elbv2 is not None and s.listener is not None:
                    switch_mod.set_weights(s.elbv2, s.listener, 100, 0)
        if not journal.done("forward-position"):
            with journal.step("forward-position") as result:
                # Here on-prem equals Aurora: forward replication resumes from this point, so nothing the way back wrote
                # is sent again and nothing written on-prem from now on is missed.
                s.backend.stop_forward()  # already stopped unless the cutover was interrupted inside its switch
                position = advance_slot(source, s.backend.resolve_forward_slot(source), sync_point(source))
                journal.record(forward_resume_lsn=position)
                result["position"] = position
        if not journal.done("unfreeze-blue"):
            with journal.step("unfreeze-blue"):
                switch_mod.unfreeze(source, s.app_roles)
                journal.record(switched_at=s.clock())
                s.say("switch: blue serves again")
        if not journal.done("stop-reverse"):
            with journal.step("stop-reverse"):
                s.backend.stop_reverse(target)
        if not journal.done("resume-forward"):
            with journal.step("resume-forward") as result:
                result["position"] = s.backend.resume_forward(source, journal.facts["forward_resume_lsn"])
                s.say(f"forward replication resumed from {result['position']}")
        journal.finish(DONE)
    s.say('rollback done: set migration_phase = "cdc" (previous_phase = the deployed one) and cdktf deploy')
    return journal


def _abort(s: Settings, cut: Journal, *, dry_run: bool) -> Journal:
    """Undo a cutover that stopped before the switch: nothing was written on green."""
    journal = _ready_for(s, "rollback")
    if dry_run:
        s.say("dry run: the cutover never switched; the undo would be " + " -> ".join(ABORT_STEPS))
        return journal
    with connection(s.source_dsn, "source") as source, connection(s.target_dsn, "target") as target:
        with journal.step("close-green"):
            switch_mod.freeze(target, s.app_roles)
        with journal.step("weights-blue"):
            if s.elbv2 is not None and s.listener is not None:
                switch_mod.set_weights(s.elbv2, s.listener, 100, 0)
        with journal.step("stop-reverse"):
            _release_snapshots(s)
            s.backend.stop_reverse(target)
        with journal.step("resume-forward") as result:
            if not s.backend.forward_running():
                result["position"] = s.backend.resume_forward(source, sync_point(source))
        with journal.step("unfreeze-blue"):
            switch_mod.unfreeze(source, s.app_roles)
    cut.finish(ABORTED)
    journal.finish(DONE)
    s.say("the cutover was undone: blue serves, forward replication runs, nothing was written on green")
    return journal
