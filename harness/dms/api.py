"""The DMS API calls ``migrationctl`` makes, answered by stand-in tasks (:mod:`.standin`) in this process: a client
object with boto3's method names and answer shapes, to hand to :class:`~inventory_migration.migrationctl.cutover.
replication.DmsReplication` as its ``dms`` client.

Served: ``DescribeReplicationTasks`` (filters ``replication-task-arn``, ``replication-task-id``), ``DescribeTable
Statistics`` (filters ``schema-name``, ``table-name``), ``StartReplicationTask`` (``start-replication``,
``resume-processing``; ``CdcStartPosition`` is accepted: the stand-in reads its slot from where the slot is, which is
what the cutover records as the position), ``StopReplicationTask``, ``DescribeReplicationInstances``. Not served:
everything else (an AttributeError names it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from harness.dms.standin import StandInTask, Status

INSTANCE_ARN = "arn:aws:dms:us-east-1:123456789012:rep:STANDININSTANCE"
INSTANCE_ID = "dms-standin"


def task_arn(task_id: str) -> str:
    return f"arn:aws:dms:us-east-1:123456789012:task:{task_id.upper().replace('-', '')}"


class StandInDms:
    """``boto3.client("dms")`` for the tasks given, by identifier."""

    def __init__(self, tasks: dict[str, StandInTask]) -> None:
        self.tasks = {task_arn(task_id): (task_id, task) for task_id, task in tasks.items()}
        self.calls: list[str] = []

    def _matching(self, filters: list[dict[str, Any]]) -> list[tuple[str, str, StandInTask]]:
        found = [(arn, task_id, task) for arn, (task_id, task) in self.tasks.items()]
        for f in filters:
            key = {"replication-task-arn": 0, "replication-task-id": 1}[f["Name"]]
            found = [row for row in found if row[key] in f["Values"]]
        return found

    def describe_replication_tasks(self, Filters: list[dict[str, Any]] | None = None, **_: Any) -> dict[str, Any]:
        self.calls.append("DescribeReplicationTasks")
        out = []
        for arn, task_id, task in self._matching(Filters or []):
            started = dt.datetime.fromtimestamp(task.started_at, dt.UTC).replace(tzinfo=None) if task.started_at else None
            out.append(
                {
                    "ReplicationTaskArn": arn,
                    "ReplicationTaskIdentifier": task_id,
                    "ReplicationInstanceArn": INSTANCE_ARN,
                    "Status": "ready" if task.status is Status.READY else task.status.value,
                    "ReplicationTaskStats": {"StartDate": started} if started else {},
                }
            )
        return {"ReplicationTasks": out}

    def describe_table_statistics(
        self, ReplicationTaskArn: str, Filters: list[dict[str, Any]] | None = None, **_: Any
    ) -> dict[str, Any]:
        self.calls.append("DescribeTableStatistics")
        _task_id, task = self.tasks[ReplicationTaskArn]
        rows = task.table_statistics()
        for f in Filters or []:
            key = {"schema-name": "SchemaName", "table-name": "TableName"}[f["Name"]]
            rows = [r for r in rows if r[key] in f["Values"]]
        return {"TableStatistics": rows}

    def start_replication_task(self, ReplicationTaskArn: str, StartReplicationTaskType: str, **_: Any) -> dict[str, Any]:
        self.calls.append(f"StartReplicationTask {StartReplicationTaskType}")
        self.tasks[ReplicationTaskArn][1].start()
        return {}

    def stop_replication_task(self, ReplicationTaskArn: str, **_: Any) -> dict[str, Any]:
        self.calls.append("StopReplicationTask")
        self.tasks[ReplicationTaskArn][1].stop()
        return {}

    def describe_replication_instances(self, **_: Any) -> dict[str, Any]:
        return {"ReplicationInstances": [{"ReplicationInstanceArn": INSTANCE_ARN, "ReplicationInstanceIdentifier": INSTANCE_ID}]}


class StandInCloudWatch:
    """``boto3.client("cloudwatch")`` for the CDC latency the lag gate reads: a task that is running and has applied
    all it read reports 0 s (the stand-in applies as it reads)."""

    def __init__(self, dms: StandInDms) -> None:
        self.dms = dms

    def get_metric_statistics(self, **request: Any) -> dict[str, Any]:
        task_id = next(d["Value"] for d in request["Dimensions"] if d["Name"] == "ReplicationTaskIdentifier")
        running = [
            t for arn, (_i, t) in self.dms.tasks.items() if arn.rsplit(":", 1)[-1] == task_id and t.status is Status.RUNNING
        ]
        now = dt.datetime.now(dt.UTC)
        return {"Datapoints": [{"Timestamp": now, "Maximum": 0.0}] if running else []}
