"""The cutover's gates: every condition that must hold before anything changes. Evaluating them changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import psycopg

from inventory_migration.migrationctl.cutover import freeze as freeze_mod
from inventory_migration.migrationctl.cutover import switch as switch_mod
from inventory_migration.migrationctl.cutover.journal import RUNNING
from inventory_migration.migrationctl.cutover.settings import Settings
from inventory_migration.migrationctl.db import database_identity, query
from inventory_migration.migrationctl.pg import fence, privileges, schema_parity
from inventory_migration.migrationctl.pg import sequences as sequences_mod
from inventory_migration.migrationctl.pg.fence import FENCE
from inventory_migration.migrationctl.pg.objects import user_schemas
from inventory_migration.migrationctl.records import FILES_VERIFY_RECORD, JOURNALS, VERIFY_RECORD, read_json

ROLLBACK_JOURNAL = JOURNALS["rollback"]
"""The rollback's journal, under the journal directory."""
POST_DATA_KINDS = ("indexes", "constraints", "triggers")
"""Kinds of schema object ``schema post-data`` creates: none may be missing on the target."""


@dataclasses.dataclass(frozen=True)
class Gate:
    name: str
    ok: bool
    detail: str


def _age_hours(record: dict[str, Any], clock: Callable[[], float]) -> float:
    at = dt.datetime.fromisoformat(record["at"]).timestamp()
    return (clock() - at) / 3600


def record_gate(
    path: Path,
    label: str,
    max_age: float,
    clock: Callable[[], float],
    databases: dict[str, str] | None = None,
    *,
    schemas: Sequence[str] | None = None,
) -> Gate:
    """A recorded verdict (``verify``, ``files verify``): clean, recent, of these databases — and, for ``verify``
    (``schemas`` given), over every one of those schemas and at least one table: "equal" over nothing is no verdict."""
    if not path.is_file():
        return Gate(label, False, f"no record {path}: run it before the window")
    record = read_json(path)
    age = _age_hours(record, clock)
    other = [side for side, identity in (databases or {}).items() if record.get(side) != identity]
    uncovered: list[str] = []
    if schemas is not None:
        compared = record.get("schemas")
        if not isinstance(compared, list):
            uncovered = ["the record does not say which schemas it compared (an older migrationctl): run verify again"]
        else:
            missing = sorted(set(schemas) - set(compared))
            if missing:
                uncovered.append(f"schema(s) {', '.join(missing)} not compared")
            if not record.get("tables"):
                uncovered.append("no table compared")
    ok = bool(record.get("equal")) and age <= max_age and not other and not uncovered
    detail = f"{'equal' if record.get('equal') else 'DIFFERENCES'}, {age:.1f} h ago (limit {max_age:g} h)"
    if schemas is not None and not uncovered:
        detail += f", {record.get('tables')} table(s) in {len(schemas)} schema(s)"
    if other:
        detail += f"; recorded for another {' and '.join(other)} database"
    if uncovered:
        detail += "; " + "; ".join(uncovered)
    return Gate(label, ok, detail)


def unfinished_rollback(s: Settings) -> Gate:
    """A rollback (or the undo of an unswitched cutover) that was interrupted must be finished first: a new cutover
    on top of it would start from whatever state it left (a frozen side, a stale way-back slot)."""
    path = s.journal_dir / ROLLBACK_JOURNAL
    status = str(read_json(path).get("status")) if path.is_file() else "none"
    return Gate(
        "no rollback under way",
        status != RUNNING,
        f"rollback journal: {status}" + (": run `migrationctl rollback` again to finish it" if status == RUNNING else ""),
    )


def freeze_gates(s: Settings, conn: psycopg.Connection, *, side: str) -> list[Gate]:
    """What the freeze of ``side`` needs, asked of PostgreSQL: every role that can write there named (frozen or
    exempt); no prepared transaction that could still commit; and the freeze, done in a transaction that is rolled
    back (:func:`..freeze.trial`), leaves no other role a way to write and takes no write from an exempt role."""
    # Every named role exists on-prem (a typo is refused); on Aurora only the applications must (a batch job that stays
    # on-prem has no role there, and nothing to freeze).
    switch_mod.existing_roles(conn, s.frozen_roles if side == "source" else s.app_roles)
    here = _roles(conn)
    frozen = [r for r in s.frozen_roles if r in here]
    exempt = [r for r in s.exempt_roles if r in here]
    found = freeze_mod.writers(conn)
    named = {*s.frozen_roles, *s.exempt_roles, freeze_mod.me(conn)}
    unnamed = {r: how for r, how in found.items() if r not in named}
    prepared = freeze_mod.prepared_transactions(conn)
    trial = freeze_mod.trial(conn, frozen, exempt=exempt)
    open_paths = [f"{p.line} (remedy: {p.remedy})" for p in trial.residual if p.role not in unnamed]
    closes = not trial.error and not open_paths
    lost = [f"{r} would lose {len(t)} write(s), e.g. {t[0]}" for r, t in trial.exempt_lost.items()]
    return [
        Gate(
            f"every writer on the {side} named",
            not unnamed,
            "; ".join(f"{r}: {how}" for r, how in unnamed.items()) + " (name each in --freeze-roles or --exempt-roles)"
            if unnamed
            else f"{len(found)} role(s) can write: frozen {', '.join(s.frozen_roles)}"
            + (f"; exempt {', '.join(s.exempt_roles)}" if s.exempt_roles else ""),
        ),
        Gate(f"no prepared transaction on the {side}", not prepared, "; ".join(prepared) or "none"),
        Gate(
            f"the freeze closes every write path on the {side}",
            closes,
            f"the freeze fails: {trial.error}"
            if trial.error
            else "; ".join(open_paths)
            if open_paths
            else f"tried and rolled back: {len(trial.record.grants)} grant(s) on {trial.record.tables} relation(s) "
            f"revoked, then no role but {', '.join(freeze_mod.kept(conn, exempt))} could write",
        ),
        Gate(
            "the freeze leaves the exempt roles writing",
            not lost,
            "; ".join(lost) + " (grant them their writes directly, not through PUBLIC or a group a frozen role uses)"
            if lost
            else "nothing taken from them",
        ),
    ]


def replication_gates(s: Settings, source: psycopg.Connection, target: psycopg.Connection) -> list[Gate]:
    """The drain's fence can travel (the table on both sides, replicated), and the replication applies everything
    (no table in error, no apply exception)."""
    missing = [side for side, conn in (("source", source), ("target", target)) if not fence.exists(conn)]
    carried, how = s.backend.carries_fence(target) if not missing else (False, "")
    problems = s.backend.apply_problems(target)
    return [
        Gate(
            "the fence replicates",
            carried,
            f"no {FENCE} on the {' and '.join(missing)}: run `migrationctl schema pre-data` again" if missing else how,
        ),
        Gate(
            "replication applies every change",
            not problems,
            "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
            if problems
            else "no table in error, no apply exception",
        ),
    ]


def privilege_gates(s: Settings, source: psycopg.Connection, target: psycopg.Connection) -> list[Gate]:
    """Every row of :data:`.privileges.NEEDS` for the two sides: what the switch, the rollback and the way back will
    need, checked before anything changes — but the forward task's writes on Aurora (:func:`forward_writes_gates`),
    which the switch itself takes away."""
    out = []
    for side, conn, frozen in (("source", source, s.frozen_roles), ("target", target, s.app_roles)):
        nologin = freeze_mod.nologin_roles(conn, frozen)
        findings = privileges.check(
            conn,
            side,
            reverse_user=s.reverse_user if side == "source" else "",
            forward_user=s.dms_target_user if side == "target" else "",
            nologin=nologin,
        )
        findings = [f for f in findings if not privileges.is_forward_writes(f.need)]
        missing = [f.line for f in findings if not f.ok]
        checked = ", ".join(sorted({f"{f.need.who} {f.role}" for f in findings}))
        out.append(
            Gate(
                f"privileges on the {side}",
                not missing,
                "; ".join(missing) if missing else f"{len(findings)} checked ({checked})",
            )
        )
    return out


def forward_writes_gates(s: Settings, target: psycopg.Connection) -> list[Gate]:
    """The forward task's user can write every replicated table on Aurora (until the switch fences it)."""
    if not s.dms_target_user:
        return []
    findings = [
        f for f in privileges.check(target, "target", forward_user=s.dms_target_user) if privileges.is_forward_writes(f.need)
    ]
    missing = [f.line for f in findings if not f.ok]
    return [Gate("the forward task writes on the target", not missing, "; ".join(missing) or f"{s.dms_target_user} can")]


def _roles(conn: psycopg.Connection) -> set[str]:
    return {str(r[0]) for r in query(conn, "SELECT rolname FROM pg_roles")}


class Check(enum.Enum):
    """The gates in groups, each evaluated by one function; a cutover step declares the groups it depends on
    (:attr:`.steps.Step.needs`), and every run — fresh or resumed — evaluates the groups of every step still to run."""

    ROLLBACK = "no rollback under way"
    ALARM = "no cutover-blocked alarm"
    LAG = "forward replication running, lag under threshold"
    REPLICATION = "the fence replicates; replication applies every change"
    POST_DATA = "post-data done"
    SEQUENCES = "sequences present on the target"
    VERIFY = "recent clean verify (and files verify)"
    WAY_BACK = "way back prepared"
    FREEZE = "the freeze of the source"
    PRIVILEGES = "privileges on both sides"
    FORWARD_WRITES = "the forward task writes on the target"
    TARGET_CLOSED = "applications cannot write to the target yet"
    BLUE = "all traffic on blue"


UNTIL_STARTED = frozenset({Check.TARGET_CLOSED, Check.BLUE})
"""Groups that describe the state *before* their step: once it has started (green opened, weights moved), they are no
longer checked for it — its own progress made them false."""


def _alarm(s: Settings) -> list[Gate]:
    if s.cloudwatch is None or not s.cutover_alarm:
        return [Gate("no cutover-blocked alarm", True, "not checked: no alarm given (--stack-outputs)")]
    alarms = s.cloudwatch.describe_alarms(AlarmNames=[s.cutover_alarm], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    state = alarms[0]["StateValue"] if alarms else "MISSING"
    return [Gate("no cutover-blocked alarm", state in ("OK", "INSUFFICIENT_DATA"), f"{s.cutover_alarm}: {state}")]


def lag_gate(s: Settings, source: psycopg.Connection) -> Gate:
    """Running, and every lag measure the backend has (:attr:`~.replication.ReplicationBackend.lag_measures`) known and
    under its threshold: a lag nobody could measure is not a small lag."""
    running = s.backend.forward_running()
    lag = s.backend.forward_lag(source)
    limits = {"bytes": (lag.bytes, s.max_lag_bytes, "B"), "seconds": (lag.seconds, s.max_lag_seconds, "s")}
    problems = []
    for measure in s.backend.lag_measures:
        value, limit, unit = limits[measure]
        if value is None:
            problems.append(f"lag in {measure} unknown ({lag.why_unknown or 'no measurement'})")
        elif value > limit:
            problems.append(f"lag {value:g} {unit} over {limit:g} {unit}")
    shown = ", ".join(
        f"{value:g} {unit}" if value is not None else f"- {unit}"
        for measure, (value, _limit, unit) in limits.items()
        if measure in s.backend.lag_measures
    )
    detail = f"{s.backend.name} running={running}, lag {shown}" + (f": {'; '.join(problems)}" if problems else "")
    return Gate("forward replication running, lag under threshold", running and not problems, detail)


def _post_data(s: Settings, source: psycopg.Connection, target: psycopg.Connection) -> list[Gate]:
    schemas = list(s.schemas) or user_schemas(source)
    snapshot_s, snapshot_t = schema_parity.schema_snapshot(source, schemas), schema_parity.schema_snapshot(target, schemas)
    missing = [
        d
        for d in schema_parity.diff_schema(snapshot_s, snapshot_t)
        if d.kind in POST_DATA_KINDS and d.problem == "missing on target"
    ]
    return [
        Gate(
            "post-data done",
            not missing,
            f"{len(missing)} index/constraint/trigger missing on target" + (f": {missing[0].name}" if missing else ""),
        )
    ]


def _sequences(s: Settings, source: psycopg.Connection, target: psycopg.Connection) -> list[Gate]:
    seq_plan = sequences_mod.plan_sync(sequences_mod.positions(source), sequences_mod.positions(target), s.sequence_gap)
    absent = [p.sequence for p in seq_plan if p.action == sequences_mod.MISSING]
    return [Gate("sequences present on the target", not absent, f"{len(seq_plan)} sequences, {len(absent)} missing")]


def _verify_records(s: Settings, source: psycopg.Connection) -> list[Gate]:
    databases = {"source": database_identity(s.source_dsn), "target": database_identity(s.target_dsn)}
    out = [
        record_gate(
            s.state_dir / VERIFY_RECORD,
            "recent clean verify",
            s.verify_max_age_hours,
            s.clock,
            databases,
            schemas=list(s.schemas) or user_schemas(source),
        )
    ]
    if s.require_files_verify:
        out.append(record_gate(s.state_dir / FILES_VERIFY_RECORD, "files verify clean", s.verify_max_age_hours, s.clock))
    else:
        out.append(Gate("files verify clean", True, "not required (--require-files-verify)"))
    return out


def _way_back(s: Settings, target: psycopg.Connection) -> list[Gate]:
    wal_level = query(target, "SHOW wal_level")[0][0]
    free_slots = int(
        query(target, "SELECT current_setting('max_replication_slots')::int - count(*) FROM pg_replication_slots")[0][0]
    )
    reverse_exists = query(target, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (s.backend.reverse_slot,))
    return [
        Gate(
            "way back prepared",
            wal_level == "logical" and (free_slots >= 1 or bool(reverse_exists)),
            f"target wal_level={wal_level}, {free_slots} free slot(s)",
        )
    ]


def _target_closed(s: Settings, target: psycopg.Connection) -> list[Gate]:
    target_writers = freeze_mod.writers(target)
    writable = [r for r in switch_mod.existing_roles(target, s.app_roles) if r in target_writers]
    return [Gate("applications cannot write to the target yet", not writable, f"writable on target: {writable or 'none'}")]


def _blue(s: Settings) -> list[Gate]:
    if s.elbv2 is None or s.listener is None:
        return []
    current = switch_mod.weights(s.elbv2, s.listener)
    return [Gate("all traffic on blue", current == {"blue": 100, "green": 0}, f"weights {current}")]


def gates(
    s: Settings, source: psycopg.Connection, target: psycopg.Connection, checks: Collection[Check] = tuple(Check)
) -> list[Gate]:
    """The gates of ``checks`` (default: every one), evaluated in a fixed order (nothing changes)."""
    evaluate: dict[Check, Callable[[], list[Gate]]] = {
        Check.ROLLBACK: lambda: [unfinished_rollback(s)],
        Check.ALARM: lambda: _alarm(s),
        Check.LAG: lambda: [lag_gate(s, source)],
        Check.REPLICATION: lambda: replication_gates(s, source, target),
        Check.POST_DATA: lambda: _post_data(s, source, target),
        Check.SEQUENCES: lambda: _sequences(s, source, target),
        Check.VERIFY: lambda: _verify_records(s, source),
        Check.WAY_BACK: lambda: _way_back(s, target),
        Check.FREEZE: lambda: freeze_gates(s, source, side="source"),
        Check.PRIVILEGES: lambda: privilege_gates(s, source, target),
        Check.FORWARD_WRITES: lambda: forward_writes_gates(s, target),
        Check.TARGET_CLOSED: lambda: _target_closed(s, target),
        Check.BLUE: lambda: _blue(s),
    }
    return [gate for check in Check if check in checks for gate in evaluate[check]()]
