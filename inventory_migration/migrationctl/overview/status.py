"""``status``: one screen for the night — what an operator at 2 a.m. would otherwise collect from five consoles.

Each part is read only when its input is there (a DSN, the stack's outputs, the state), and a part that cannot be
read says why instead of failing the whole screen:

* the deployed **phase** (stack output ``migration_phase``);
* each **DMS task**: its status, and its tables from ``DescribeTableStatistics`` (loaded / total, in error), its CDC
  latency from CloudWatch;
* the source's **logical slots** and how far each trails — with ``--publish-metrics``, the most WAL any of them keeps
  is published to CloudWatch (:data:`~inventory_migration.contracts.metrics.SOURCE_SLOT_WAL`), which the stack
  alarms on and the dashboard shows: run it every minute from the on-prem side during the rollback window;
* the last **verify** and **files verify** records (verdict and age);
* the **journals**: the cutover's and the rollback's status and the step they are at;
* the **snapshot holders** still alive: each pins its database's oldest visible row (vacuum waits) until released —
  a holder with no cutover or rollback running is left behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inventory_migration.contracts import metrics
from inventory_migration.contracts.names import task_resource_id
from inventory_migration.contracts.outputs import StackOutput
from inventory_migration.migrationctl.db import connection
from inventory_migration.migrationctl.pg import lag as lag_mod
from inventory_migration.migrationctl.records import JOURNAL_DIR, JOURNALS, read_json, snapshot_holders

LOADED_STATES = ("Table completed",)
FAILED_STATES = ("Table error", "Table cancelled")


@dataclasses.dataclass
class Part:
    """One line (or a few) of the screen."""

    name: str
    ok: bool | None
    """``None``: not known (its input is missing)."""
    text: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


def phase(outputs: dict[str, Any]) -> Part:
    value = outputs.get(StackOutput.MIGRATION_PHASE.value)
    return Part("phase", None, f"phase: {value}" if value else "phase: unknown (no --stack-outputs)", {"phase": value})


def dms_task(dms: Any, cloudwatch: Any, label: str, arn: str) -> Part:
    tasks = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])["ReplicationTasks"]
    if not tasks:
        return Part(f"dms {label}", False, f"DMS {label} task: not found ({arn})")
    task = tasks[0]
    tables: list[dict[str, Any]] = []
    request: dict[str, Any] = {"ReplicationTaskArn": arn}
    while True:
        page = dms.describe_table_statistics(**request)
        tables += page.get("TableStatistics", [])
        if not page.get("Marker"):
            break
        request["Marker"] = page["Marker"]
    loaded = sum(1 for t in tables if t.get("TableState") in LOADED_STATES)
    failed = [f"{t['SchemaName']}.{t['TableName']}" for t in tables if t.get("TableState") in FAILED_STATES]
    text = (
        f"DMS {label} task {task.get('ReplicationTaskIdentifier', arn)}: {task['Status']}; tables {loaded}/{len(tables)} loaded"
    )
    text += f", {len(failed)} in error ({', '.join(failed[:5])})" if failed else ", 0 in error"
    data: dict[str, Any] = {"status": task["Status"], "tables": len(tables), "loaded": loaded, "in_error": failed}
    if cloudwatch is not None:
        latency = lag_mod.dms_lag(cloudwatch, dms, arn)
        data["cdc_latency_seconds"] = latency.total_seconds
        text += f"; CDC latency {latency.total_seconds if latency.total_seconds is not None else '-'} s"
    return Part(f"dms {label}", not failed and task["Status"] in ("running", "stopped", "ready"), text, data)


def slots(dsn: str) -> Part:
    with connection(dsn, "source", read_only=True) as conn:
        found = lag_mod.slot_lag(conn)
    if not found:
        return Part("slots", None, "source slots: none")
    lines = [
        f"{s.slot} ({s.plugin}, {'active' if s.active else 'inactive'}): {s.confirmed_lag_bytes / 1024**2:.1f} MiB behind, "
        f"{s.retained_wal_bytes / 1024**3:.2f} GiB of WAL kept"
        for s in found
    ]
    return Part("slots", None, "source slots: " + "; ".join(lines), {"slots": [vars(s) for s in found]})


def record(state: Path, name: str, label: str, clock: Callable[[], float]) -> Part:
    path = state / name
    if not path.is_file():
        return Part(label, None, f"{label}: no record in {state}")
    data = read_json(path)
    age = (clock() - dt.datetime.fromisoformat(data["at"]).timestamp()) / 3600
    verdict = "equal" if data.get("equal") else "DIFFERENCES"
    return Part(
        label, bool(data.get("equal")), f"{label}: {verdict}, {age:.1f} h ago", {"equal": data.get("equal"), "hours": age}
    )


def journals(state: Path) -> Part:
    lines, data = [], {}
    for operation, name in JOURNALS.items():
        path = state / JOURNAL_DIR / name
        if not path.is_file():
            lines.append(f"{operation}: none")
            continue
        journal = read_json(path)
        done = [s for s, e in journal.get("steps", {}).items() if e.get("status") == "done"]  # the journal holds only its steps
        running = [s for s, e in journal.get("steps", {}).items() if e.get("status") in ("running", "failed")]
        where = f" at {running[0]}" if running else f" ({len(done)} step(s) done)"
        lines.append(f"{operation}: {journal.get('status')}{where} since {journal.get('started_at', '?')}")
        data[operation] = {"status": journal.get("status"), "at": running[0] if running else None}
    return Part("journals", None, "journals: " + "; ".join(lines), data)


def holders(state: Path, clock: Callable[[], float]) -> Part:
    """The switch-point snapshot holders alive; one is left behind when no cutover or rollback journal is running."""
    alive = snapshot_holders(state / JOURNAL_DIR)
    if not alive:
        return Part("snapshot holders", None, "snapshot holders: none")
    running = any(
        read_json(path).get("status") == "running"
        for path in (state / JOURNAL_DIR / name for name in JOURNALS.values())
        if path.is_file()
    )
    lines = [
        f"{side} since {(clock() - float(info.get('at', clock()))) / 60:.0f} min (pid {info.get('pid')}, backend {info.get('backend_pid')})"
        for side, info in alive.items()
    ]
    text = "snapshot holders: " + "; ".join(lines)
    if not running:
        text += ": LEFT BEHIND (no cutover or rollback running): each holds back vacuum on its side; `migrationctl rollback` or a re-run of the cutover releases them, or end the pid"
    return Part("snapshot holders", running, text, {"holders": alive, "run_under_way": running})


def publish_slot_wal(cloudwatch: Any, forward_task_arn: str, slots_part: Part) -> Part:
    """Publish the most WAL any source slot keeps (0 with none) under the forward task's dimension."""
    if not forward_task_arn:
        return Part("metrics", False, "metrics not published: no forward DMS task (--stack-outputs) to publish them under")
    kept = max((int(s["retained_wal_bytes"]) for s in slots_part.data.get("slots", [])), default=0)
    task = task_resource_id(forward_task_arn)
    cloudwatch.put_metric_data(
        Namespace=metrics.NAMESPACE,
        MetricData=[
            {
                "MetricName": metrics.SOURCE_SLOT_WAL,
                "Dimensions": [{"Name": metrics.TASK_DIMENSION, "Value": task}],
                "Value": float(kept),
                "Unit": "Bytes",
            }
        ],
    )
    return Part("metrics", True, f"published {metrics.NAMESPACE}/{metrics.SOURCE_SLOT_WAL} = {kept / 1024**3:.2f} GiB for {task}")
