"""The night's fault cases: each one an operator's or a machine's bad moment, and what must hold after it."""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from harness.night import relay
from harness.night.hostile import freeze_lifters, privilege_paths, resumed_after_a_gate_turned_false
from harness.night.night import DATABASE, Night, Operation, RehearsalFailed
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.cutover.steps import CUTOVER_STEPS, ROLLBACK_STEPS
from inventory_migration.migrationctl.pg.slots import FORWARD_NAME, lsn_value, slot_position


@contextlib.contextmanager
def stalled_apply(
    source_dsn: str,
    target_dsn: str,
    *,
    row: int = 1,
    table: str = "shop.customer",
    hold_set: str = "email = email",
    change: str = "created_at = now()",
) -> Iterator[Callable[[], None]]:
    """The forward apply stuck for the block's duration, while everything else on both servers goes on.

    A transaction on the target holds the row lock of ``table`` (``shop.customer``) ``row``; then the source changes that
    row. The
    apply worker reaches the change, waits for the lock, and applies nothing after it until the block ends. Row locks
    never block readers, so the gates' catalogue queries and any verify run as usual: only the drain waits, as it
    would behind a stuck DMS apply. (A table lock would do less well: any lock stronger than ROW EXCLUSIVE that the
    apply queues behind also queues the catalogue reads that need the table, and the gates would wait instead.)
    """
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(target_dsn) as conn:
            conn.execute(f"UPDATE {table} SET {hold_set} WHERE id = %s", (row,))
            locked.set()
            release.wait(120)
            conn.rollback()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        if not locked.wait(10):
            raise RuntimeError("could not take the row lock on the target")
        with psycopg.connect(source_dsn, autocommit=True) as conn:
            conn.execute(f"UPDATE {table} SET {change} WHERE id = %s", (row,))  # the apply waits for the row
        yield release.set
    finally:
        release.set()
        holder.join(30)


def assert_blue_untouched(night: Night, case: str) -> None:
    problems = []
    if night.weights() != {"blue": 100, "green": 0}:
        problems.append(f"weights {night.weights()}")
    if night.frozen(night.source):
        problems.append("the source is frozen")
    if not night.frozen(night.target):
        problems.append("the target is open to the application")
    with psycopg.connect(night.target_dsn, autocommit=True) as conn:
        if slot_position(conn, night.reverse_slot) is not None:
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
    night.record_fault(
        "failing gate (cutover-blocked alarm in ALARM)",
        "exit 1, nothing changed: no journal, blue serves, source writable",
    )


NO_CATCH_UP = ("--catch-up-timeout", "0")
"""For a case about the drain itself: with the catch-up on, a replication held before the freeze is refused with
nothing frozen (exit 1), and the drain never sees it."""


def drain_timeout(night: Night) -> None:
    """The forward apply stuck (:func:`stalled_apply`): the drain times out, the source is writable again."""
    with stalled_apply(night.source_dsn, night.target_dsn):
        time.sleep(0.5)  # the workload's writes queue up behind the stuck change
        op = night.expect(
            night.run_operation("cutover", "cutover with a stuck replication", *NO_CATCH_UP, "--drain-timeout", "3"), 3
        )
    if "ABORTED" not in op.output:
        raise RehearsalFailed(f"a drain timeout must abort:\n{op.output}")
    assert_blue_untouched(night, "drain timeout")
    night.writes_for(1.5, "blue")
    frozen_for = op.steps().get("freeze", (0, 0, 0))[2] + 3
    night.record_fault(
        "drain timeout (forward apply stuck on a locked row)",
        f"aborted after ~{frozen_for:.1f} s frozen; source writable, blue serves",
    )


def late_apply(night: Night) -> None:
    """DMS's shape (:mod:`.relay`): the source's slot confirms on receipt, the apply comes seconds later. The cutover
    must wait for its fence to be *applied*; green opens only then, and nothing stale lands on it afterwards (the
    night's :func:`~harness.night.writers.stale_applies` check)."""
    proof: dict[str, Any] = {}
    with relay.relayed(night.source_dsn, night.target, DATABASE), stalled_apply(night.source_dsn, night.target_dsn) as release:
        watcher = threading.Thread(target=_release_after_the_slot_lies, args=(night, release, proof), daemon=True)
        watcher.start()
        op = night.expect(night.run_operation("cutover", "cutover through a replication that applies late", *NO_CATCH_UP), 0)
        watcher.join(60)
    if not proof.get("slot_ahead"):
        raise RehearsalFailed(f"late apply: the slot never ran ahead of the apply ({proof}):\n{op.output}")
    night.writes_for(1.0, "green")
    drain = op.journal["steps"]["drain"]["result"]
    night.record_fault(
        "replication confirms before applying (relay + stalled apply, DMS's shape)",
        f"the slot confirmed the fence {proof['slot_ahead']:.1f} s before green applied it; the drain waited "
        f"{drain['fence_seconds']:.1f} s for the fence; green opened after it",
    )
    night.expect(night.run_operation("rollback", "rollback after the late-apply cutover"), 0)


def _release_after_the_slot_lies(night: Night, release: Callable[[], None], proof: dict[str, Any]) -> None:
    """Wait for the cutover's fence on the source, then for the source's slot to confirm past it while green still lacks
    it (a slot-based drain would have ended here); hold the apply a further second, then let it go."""
    fence_sql = "SELECT token FROM migration_control.fence ORDER BY written_at DESC LIMIT 1"
    try:
        with (
            psycopg.connect(night.source_dsn, autocommit=True) as source,
            psycopg.connect(night.target_dsn, autocommit=True) as target,
        ):
            before = source.execute(fence_sql).fetchall()
            deadline = time.monotonic() + 45
            token = None
            while time.monotonic() < deadline and token is None:
                rows = source.execute(fence_sql).fetchall()
                token = rows[0][0] if rows and rows != before else None
                time.sleep(0.02)
            if token is None:
                return
            written = lsn_value(str(source.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]))  # type: ignore[index]
            seen = time.monotonic()
            while time.monotonic() < deadline:
                position = slot_position(source, FORWARD_NAME)
                if position and position[0] and lsn_value(position[0]) >= written:
                    if not target.execute("SELECT 1 FROM migration_control.fence WHERE token = %s", (token,)).fetchone():
                        time.sleep(1.0)
                        proof["slot_ahead"] = time.monotonic() - seen
                    break
                time.sleep(0.02)
    finally:
        release()


def abort_unswitched(night: Night) -> None:
    op = night.run_operation("cutover", "cutover killed after way-back", fault="way-back")
    if op.exit_code != -9:
        raise RehearsalFailed(f"the kill did not happen: exit {op.exit_code}\n{op.output}")
    night.expect(night.run_operation("rollback", "rollback of an unswitched cutover"), 0)
    assert_blue_untouched(night, "undo of an unswitched cutover")
    night.writes_for(1.5, "blue")
    night.record_fault(
        "cutover killed after way-back, then rollback", "undone: slot and snapshots released, blue serves, no green write"
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
    night.record_fault(f"{operation} SIGKILL after {step}", f"re-run finished ({', '.join(redone) or 'nothing'} repeated)")


KILLS_INSIDE_STEPS = 12
"""Random-moment kills of each operation in ``make rehearse-cutover``."""


def killed_inside_steps(night: Night, kills: int = KILLS_INSIDE_STEPS, *, seed: int = 14) -> None:
    """Cutover and rollback each killed ``kills`` times at a random moment (inside whatever step runs then, journal
    and state writes included) and re-run until done, alternating so that every kind of history is met: a rollback of
    a cutover killed after its switch, a cutover after a rolled-back one."""
    rng = random.Random(seed)
    where: dict[str, int] = {}
    order = [("rollback", "blue"), ("cutover", "green")]
    if night.weights() != {"blue": 0, "green": 100}:
        order.reverse()
    for n in range(kills):
        for operation, colour in order:
            duration = max(0.3, statistics.median(o.finished - o.started for o in night.operations if o.name == operation))
            delay = rng.uniform(0.0, duration * 1.2)
            op = night.run_operation(operation, f"{operation} killed at +{delay:.2f} s", kill_after=delay)
            inside = [s for s, e in op.journal.get("steps", {}).items() if e.get("status") == "running"]
            if op.exit_code != -9:
                key = "finished before the kill"
            else:
                key = f"inside {inside[0]}" if inside else "before or between steps"
            where[f"{operation} {key}"] = where.get(f"{operation} {key}", 0) + 1
            again = night.run_operation(operation, f"{operation} re-run after kill #{n + 1}")
            if again.exit_code != 0 or again.journal.get("status") != "done":
                raise RehearsalFailed(
                    f"{operation} re-run after a kill at +{delay:.2f} s: exit {again.exit_code}, "
                    f"journal {again.journal.get('status')}\n{again.output}"
                )
            night.writes_for(0.5, colour)
    night.record_fault(
        f"{2 * kills} kills at random moments",
        "every one recovered by re-running; " + "; ".join(f"{k} x{v}" for k, v in sorted(where.items())),
    )


def second_operator(night: Night) -> None:
    """Two operators: while one cutover runs (held in its drain by a stuck apply), a second one is refused by the
    state's lock and changes nothing; the first then aborts on its own timeout."""
    with stalled_apply(night.source_dsn, night.target_dsn):
        result: dict[str, Operation] = {}
        first = threading.Thread(
            target=lambda: result.setdefault(
                "first", night.run_operation("cutover", "cutover held in its drain", *NO_CATCH_UP, "--drain-timeout", "6")
            ),
            daemon=True,
        )
        first.start()
        deadline = time.monotonic() + 30

        def draining() -> bool:  # this cutover's journal (not the last one's) is in its drain
            journal = night.journal("cutover")
            return journal.get("status") == "running" and journal.get("steps", {}).get("drain", {}).get("status") == "running"

        while time.monotonic() < deadline and not draining():
            time.sleep(0.05)
        if not draining():
            raise RehearsalFailed("the first operator's cutover never reached its drain")
        second = night.run_operation("cutover", "a second operator's cutover")
        first.join(60)
    if second.exit_code != 1 or "another run holds the state" not in second.output:
        raise RehearsalFailed(f"a second operator must be refused (exit 1):\n{second.output}")
    night.expect(result["first"], 3)
    assert_blue_untouched(night, "second operator")
    night.record_fault(
        "a second operator runs cutover while one runs",
        "refused by the state lock in S3 (exit 1, nothing changed); the first aborted on its drain timeout (exit 3)",
    )


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
            late_apply(night)
            freeze_lifters(night)
            second_operator(night)
            privilege_paths(night)
            resumed_after_a_gate_turned_false(night)
        if i < len(CUTOVER_STEPS):
            killed(night, "cutover", CUTOVER_STEPS[i], "green")
        else:
            night.expect(night.run_operation("cutover", "cutover"), 0)
    killed_inside_steps(night)
