"""``lag``: replication lag from both sides.

Source: how far each logical slot's confirmed flush LSN trails ``pg_current_wal_lsn()``, in bytes.
DMS: CDCLatencySource / CDCLatencyTarget from CloudWatch, keyed by the replication instance identifier and the
task's resource id (the last segment of its ARN, not its name).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import psycopg

from inventory_migration.contracts.names import task_resource_id
from inventory_migration.migrationctl.db import query

SLOT_LAG_SQL = """
    SELECT slot_name, plugin, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint,
           pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint
    FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY slot_name
"""
METRICS = ("CDCLatencySource", "CDCLatencyTarget")


@dataclasses.dataclass(frozen=True)
class SlotLag:
    slot: str
    plugin: str
    active: bool
    confirmed_lag_bytes: int
    retained_wal_bytes: int


@dataclasses.dataclass(frozen=True)
class DmsLag:
    task_arn: str
    task_resource_id: str
    instance_identifier: str
    source_seconds: float | None
    target_seconds: float | None
    at: str | None

    @property
    def total_seconds(self) -> float | None:
        if self.source_seconds is None or self.target_seconds is None:
            return None
        return self.source_seconds + self.target_seconds


def slot_lag(conn: psycopg.Connection) -> list[SlotLag]:
    return [SlotLag(r[0], r[1], bool(r[2]), int(r[3] or 0), int(r[4] or 0)) for r in query(conn, SLOT_LAG_SQL)]


def instance_identifier(dms: Any, task_arn: str) -> str:
    """The replication instance identifier of a task (the CloudWatch ``ReplicationInstanceIdentifier``)."""
    tasks = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [task_arn]}])["ReplicationTasks"]
    instance_arn = tasks[0]["ReplicationInstanceArn"]
    instances = dms.describe_replication_instances(Filters=[{"Name": "replication-instance-arn", "Values": [instance_arn]}])[
        "ReplicationInstances"
    ]
    return str(instances[0]["ReplicationInstanceIdentifier"])


def dms_lag(cloudwatch: Any, dms: Any, task_arn: str, *, now: dt.datetime | None = None, minutes: int = 10) -> DmsLag:
    resource_id = task_resource_id(task_arn)
    instance = instance_identifier(dms, task_arn)
    end = now or dt.datetime.now(dt.UTC)
    latest: dict[str, tuple[dt.datetime, float]] = {}
    for metric in METRICS:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/DMS",
            MetricName=metric,
            Dimensions=[
                {"Name": "ReplicationInstanceIdentifier", "Value": instance},
                {"Name": "ReplicationTaskIdentifier", "Value": resource_id},
            ],
            StartTime=end - dt.timedelta(minutes=minutes),
            EndTime=end,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        if points:
            newest = max(points, key=lambda p: p["Timestamp"])
            latest[metric] = (newest["Timestamp"], float(newest["Maximum"]))
    at = max((v[0] for v in latest.values()), default=None)
    return DmsLag(
        task_arn,
        resource_id,
        instance,
        latest.get("CDCLatencySource", (None, None))[1],
        latest.get("CDCLatencyTarget", (None, None))[1],
        at.isoformat() if at else None,
    )
