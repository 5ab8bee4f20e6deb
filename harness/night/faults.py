"""The night's fault cases: each one an operator's or a machine's bad moment, and what must hold after it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg

from harness.night.night import REVERSE_SLOT, Night, RehearsalFailed, log
from inventory_migration.migrationctl.cutover.replication import slot_position
from inventory_migration.migrationctl.cutover.steps import CUTOVER_STEPS, ROLLBACK_STEPS
from inventory_migration.outputs import StackOutput


@contextlib.contextmanager
def stalled_apply(source_dsn: str, target_dsn: str, *, row: int = 1) -> Iterator[None]:
    """The forward apply stuck for the block's duration, while everything else on both servers goes on.

    A transaction on the target holds the row lock of ``shop.customer`` ``row``; then the source changes that row. The
    apply worker reaches the change, waits for the lock, and applies nothing after it until the block ends. Row locks
    never block readers, so the gates' catalogue queries and any verify run as usual: only the drain waits, as it
    would behind a stuck DMS apply. (A table lock would do less well: any lock stronger than ROW EXCLUSIVE that the
    apply queues behind also queues the catalogue reads that need the table, and the gates would wait instead.)
    """
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(target_dsn) as conn:
            conn.execute("UPDATE shop.customer SET email = email WHERE id = %s", (row,))
            locked.set()
            release.wait(120)
            conn.rollback()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        if not locked.wait(10):
            raise RuntimeError("could not take the row lock on the target")
        with psycopg.connect(source_dsn, autocommit=True) as conn:
            conn.execute("UPDATE shop.customer SET created_at = now() WHERE id = %s", (row,))  # the apply waits for the row
        yield
    finally:
        release.set()
        holder.join(30)


def _fault(night: Night, name: str, outcome: str, **facts: Any) -> None:
    night.faults.append({"case": name, "outcome": outcome, **facts})
    log(f"fault {name}: {outcome}")


def assert_blue_untouched(night: Night, case: str) -> None:
    problems = []
    if night.weights() != {"blue": 100, "green": 0}:
        problems.append(f"weights {night.weights()}")
    if night.frozen(night.source):
        problems.append("the source is frozen")
    if not night.frozen(night.target):
        problems.append("the target is open to the application")
    with psycopg.connect(night.target_dsn, autocommit=True) as conn:
        if slot_position(conn, REVERSE_SLOT) is not None:
            problems.append("a way-back slot exists")
    if problems:
        raise RehearsalFailed(f"{case}: {'; '.join(problems)}")


def failing_gate(night: Night) -> None:
    night.cloudwatch.set_alarm_state(
        AlarmName=night.outputs[StackOutput.CUTOVER_BLOCKED_ALARM_NAME], StateValue="ALARM", StateReason="rehearsal: blocked"
    )
    try:
        op = night.expect(night.run_operation("cutover", "cutover with a failing gate"), 1)
    finally:
        night.cloudwatch.set_alarm_state(
            AlarmName=night.outputs[StackOutput.CUTOVER_BLOCKED_ALARM_NAME], StateValue="OK", StateReason="rehearsal"
        )
    if "NOT STARTED" not in op.output or op.journal:
        raise RehearsalFailed(f"a failing gate must change nothing:\n{op.output}")
    assert_blue_untouched(night, "failing gate")
    _fault(
        night,
        "failing gate (cutover-blocked alarm in ALARM)",
        "exit 1, nothing changed: no journal, blue serves, source writable",
    )


def drain_timeout(night: Night) -> None:
    """The forward apply stuck (:func:`stalled_apply`): the drain times out, the source is writable again."""
    with stalled_apply(night.source_dsn, night.target_dsn):
        time.sleep(0.5)  # the workload's writes queue up behind the stuck change
        op = night.expect(night.run_operation("cutover", "cutover with a stuck replication", "--drain-timeout", "3"), 3)
    if "ABORTED" not in op.output:
        raise RehearsalFailed(f"a drain timeout must abort:\n{op.output}")
    assert_blue_untouched(night, "drain timeout")
    night.writes_for(1.5, "blue")
    frozen_for = op.steps().get("freeze", (0, 0, 0))[2] + 3
    _fault(
        night,
        "drain timeout (forward apply stuck on a locked row)",
        f"aborted after ~{frozen_for:.1f} s frozen; source writable, blue serves",
    )


def abort_unswitched(night: Night) -> None:
    op = night.run_operation("cutover", "cutover killed after way-back", fault="way-back")
    if op.exit_code != -9:
        raise RehearsalFailed(f"the kill did not happen: exit {op.exit_code}\n{op.output}")
    night.expect(night.run_operation("rollback", "rollback of an unswitched cutover"), 0)
    assert_blue_untouched(night, "undo of an unswitched cutover")
    night.writes_for(1.5, "blue")
    _fault(
        night, "cutover killed after way-back, then rollback", "undone: slot and snapshots released, blue serves, no green write"
    )


def killed(night: Night, operation: str, step: str, colour_after: str) -> None:
    op = night.run_operation(operation, f"{operation} killed after {step}", fault=step)
    if op.exit_code != -9:
        raise RehearsalFailed(f"{operation} was not killed after {step}: exit {op.exit_code}\n{op.output}")
    again = night.expect(night.run_operation(operation, f"{operation} re-run after a kill at {step}"), 0)
    if again.journal.get("status") != "done":
        raise RehearsalFailed(f"re-run of {operation} after {step}: journal {again.journal.get('status')}")
    night.writes_for(1.0, colour_after)
    redone = [s for s, e in again.journal.get("steps", {}).items() if e.get("attempts", 1) > 1]
    _fault(night, f"{operation} SIGKILL after {step}", f"re-run finished ({', '.join(redone) or 'nothing'} repeated)")


def run_faults(night: Night) -> None:
    """From green: each rollback and cutover step killed in turn, the gate, drain and undo cases on the way."""
    for i in range(max(len(CUTOVER_STEPS), len(ROLLBACK_STEPS))):
        if i < len(ROLLBACK_STEPS):
            killed(night, "rollback", ROLLBACK_STEPS[i], "blue")
        else:
            night.expect(night.run_operation("rollback", "rollback"), 0)
        if i == 0:
            failing_gate(night)
            drain_timeout(night)
            abort_unswitched(night)
        if i < len(CUTOVER_STEPS):
            killed(night, "cutover", CUTOVER_STEPS[i], "green")
        else:
            night.expect(night.run_operation("cutover", "cutover"), 0)
