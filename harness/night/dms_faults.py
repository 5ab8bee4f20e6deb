"""The night's fault cases on DMS's semantics (``--faults`` with ``--replication dms``).

* **A table suspended during the drain**, forward (cutover) and reverse (rollback): the stack's ``ErrorBehavior``
  suspends a table on an apply error and the task goes on, so the fence still arrives. Made so the error happens
  after the gates passed and before the fence: the apply is held on a locked row of ``shop.trap`` on the applying
  side (:func:`~harness.night.faults.stalled_apply`), the next change of that table is an UPDATE of a row that side
  lost behind the replication's back (DMS: an apply error), and the hold ends once the operation's freeze is done.
  The operation must abort (exit 3) with the side that was writable writable again, and nothing lost (the night's
  final checks). Then the operator's repair: ``ReloadTables`` and the apply exceptions reviewed and cleared.
* **The task stops slowly**: every switch runs with the stand-in's stop time (30 s by default); the write
  unavailability stays far under it, and the forward task applies nothing on open green (the night's
  ``stale_applies`` check over the apply log).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from harness.aws.clients import client
from harness.night import dms as dms_night
from harness.night.faults import NO_CATCH_UP, assert_blue_untouched, stalled_apply
from harness.night.night import FREEZE_STEPS, Night, Operation, RehearsalFailed, wait

TRAP_SCHEMA, TRAP_TABLE = "shop", "trap"
TRAP = f"{TRAP_SCHEMA}.{TRAP_TABLE}"
TRAP_DDL = f"CREATE TABLE IF NOT EXISTS {TRAP} (id int PRIMARY KEY, note text NOT NULL)"
"""A table the application never writes: its reload races nothing."""


def _release_after(night: Night, operation: str, step: str, release: Any, seen: dict[str, float]) -> None:
    """Release the held apply once ``operation``'s ``step`` is done in the journal (in S3) of the run begun after
    ``seen["since"]`` (not the last run's)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        journal = night.journal(operation)
        started = dt.datetime.fromisoformat(journal["started_at"]).timestamp() if journal.get("started_at") else 0.0
        if started >= seen["since"] and journal["steps"].get(step, {}).get("status") == "done":
            seen["released_at"] = time.time()
            release()
            return
        time.sleep(0.02)
    release()


def _trap_rows(night: Night, server: Any) -> list[tuple[Any, ...]]:
    return night.sql(server, f"SELECT id, note FROM {TRAP} ORDER BY id")


def suspended_during_drain(night: Night, operation: str) -> Operation:
    """``operation`` (cutover: blue writable; rollback: green writable) with a table suspended during its drain."""
    assert night.tasks is not None
    forward = operation == "cutover"
    writing, applying = (night.source, night.target) if forward else (night.target, night.source)
    task_arn = night.tasks.forward_arn if forward else night.tasks.reverse_arn
    night.sql(writing, f"INSERT INTO {TRAP} VALUES (1, 'one'), (2, 'two') ON CONFLICT (id) DO UPDATE SET note = excluded.note")
    wait(lambda: _trap_rows(night, applying) == _trap_rows(night, writing), 60, f"{TRAP} replicated before the fault")
    night.sql(applying, f"SET session_replication_role = replica; DELETE FROM {TRAP} WHERE id = 2")
    seen: dict[str, float] = {"since": time.time()}
    label = f"{operation} with {TRAP} suspended during the drain"
    freeze = next(step for step, colour in FREEZE_STEPS.items() if colour == ("blue" if forward else "green"))
    with stalled_apply(
        writing.dsn("shop"), applying.dsn("shop"), table=TRAP, hold_set="note = note", change="note = note || '+'"
    ) as release:
        night.sql(writing, f"UPDATE {TRAP} SET note = note || '!' WHERE id = 2")  # no row there: an apply error
        watcher = threading.Thread(target=_release_after, args=(night, operation, freeze, release, seen), daemon=True)
        watcher.start()
        # The catch-up would wait for the held apply and refuse (exit 1, nothing frozen): the hostile order — the
        # error lands under the freeze — needs it off.
        op = night.expect(night.run_operation(operation, label, *NO_CATCH_UP), 3)
        watcher.join(10)
    if "ABORTED" not in op.output or f"{TRAP}: Table error" not in op.output:
        raise RehearsalFailed(f"{label}: must abort naming the suspended table:\n{op.output}")
    if forward:
        assert_blue_untouched(night, label)
    elif night.weights() != {"blue": 0, "green": 100} or night.frozen(night.target) or not night.frozen(night.source):
        raise RehearsalFailed(f"{label}: green must serve and stay writable, blue frozen ({night.weights()})")
    night.writes_for(1.0, "blue" if forward else "green")
    # The operator's repair: the table reloaded, the apply exceptions read and cleared.
    client(night.endpoint, "dms").reload_tables(
        ReplicationTaskArn=task_arn,
        TablesToReload=[{"SchemaName": TRAP_SCHEMA, "TableName": TRAP_TABLE}],
        ReloadOption="data-reload",
    )
    night.sql(applying, "TRUNCATE public.awsdms_apply_exceptions")
    if _trap_rows(night, applying) != _trap_rows(night, writing):
        raise RehearsalFailed(f"{label}: the reload left {TRAP} different")
    held = seen.get("released_at", op.started) - op.started
    night.record_fault(
        f"a table suspended during the drain ({'forward' if forward else 'reverse'})",
        f"exit 3 after the fence arrived ({TRAP}: Table error; apply held {held:.1f} s until the freeze); "
        f"{'blue' if forward else 'green'} writable again; repaired by ReloadTables",
    )
    return op


def slow_stop(night: Night) -> None:
    """Every successful switch ran with the stand-in's stop time: the stop after the switch, not before it."""
    stop = dms_night.stop_seconds()
    rows = []
    for op in night.operations:
        steps = op.steps()
        stopped = steps.get("stop-forward") or steps.get("stop-reverse")
        opened = steps.get("switch") or steps.get("unfreeze-blue")
        if op.exit_code != 0 or not stopped or not opened:
            continue
        if stopped[0] < opened[1]:
            raise RehearsalFailed(f"{op.label}: the task's stop began before the switch opened the other side")
        rows.append(f"{op.label} {stopped[2]:.0f} s")
    if not rows:
        raise RehearsalFailed("no switch on DMS to show the slow stop")
    night.record_fault(
        "the task stops slowly",
        f"stop time {stop:.0f} s, each after its switch: " + ", ".join(rows),
    )


def run_dms_faults(night: Night) -> None:
    """From green: the reverse case, a rollback, the forward case, a cutover; then the slow stop, shown."""
    for server in (night.source, night.target):
        night.sql(server, TRAP_DDL)
    # The applier's grants, as on every table: it reads Aurora for the way back; its writes were fenced at the
    # cutover and come back with the rollback, so a table made meanwhile gets them once blue serves again.
    night.sql(night.target, f"GRANT SELECT ON {TRAP} TO {dms_night.APPLIER}")
    for server in (night.source, night.target):  # the forward task's reader, carried to Aurora by roles copy
        night.sql(server, f"GRANT SELECT ON {TRAP} TO {dms_night.SOURCE_USER}")
    suspended_during_drain(night, "rollback")
    night.expect(night.run_operation("rollback", "rollback after the repair"), 0)
    night.writes_for(1.0, "blue")
    night.sql(night.target, f"GRANT INSERT, UPDATE, DELETE ON {TRAP} TO {dms_night.APPLIER}")
    night.wait_forward_applied()  # the case's cutover runs without its catch-up: no backlog for its drain
    suspended_during_drain(night, "cutover")
    night.expect(night.run_operation("cutover", "cutover after the repair"), 0)
    night.writes_for(1.0, "green")
    slow_stop(night)
