"""The migration dashboard: replication lag first and widest, then throughput, errors and validation,
Aurora health, and the alarm status that says whether cutover can start.

``task_resource_id`` is the ``ReplicationTaskIdentifier`` dimension: the last segment of the task ARN,
not the task's name (see :func:`inventory_migration.dms_settings.task_resource_id`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

FULL_WIDTH = 24
HALF_WIDTH = 12
PERIOD_SECONDS = 60


@dataclasses.dataclass(frozen=True, kw_only=True)
class DashboardInputs:
    """What the dashboard shows; values may be cdktf tokens."""

    region: str
    """Region of every metric."""
    replication_instance_id: str
    """``ReplicationInstanceIdentifier``: the replication instance's identifier."""
    task_resource_id: str
    """``ReplicationTaskIdentifier``: the task ARN's last segment."""
    cluster_id: str
    """``DBClusterIdentifier`` of the Aurora cluster."""
    alarm_arns: Sequence[str]
    """Alarms whose state decides cutover readiness."""


def _metric_widget(
    title: str,
    metrics: list[list[Any]],
    inputs: DashboardInputs,
    *,
    x: int,
    y: int,
    width: int,
    height: int = 6,
    stat: str = "Average",
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "properties": {
            "title": title,
            "region": inputs.region,
            "stat": stat,
            "period": PERIOD_SECONDS,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def build_dashboard(inputs: DashboardInputs) -> dict[str, Any]:
    """The dashboard as a dict (see :func:`dashboard_body` for JSON)."""
    task = ["ReplicationInstanceIdentifier", inputs.replication_instance_id, "ReplicationTaskIdentifier", inputs.task_resource_id]
    instance = ["ReplicationInstanceIdentifier", inputs.replication_instance_id]
    cluster = ["DBClusterIdentifier", inputs.cluster_id]
    widgets = [
        _metric_widget(
            "Replication lag (seconds): CDCLatencySource + CDCLatencyTarget",
            [["AWS/DMS", "CDCLatencySource", *task], ["AWS/DMS", "CDCLatencyTarget", *task]],
            inputs,
            x=0,
            y=0,
            width=FULL_WIDTH,
            stat="Maximum",
        ),
        _metric_widget(
            "Throughput: full load and CDC",
            [
                ["AWS/DMS", "FullLoadThroughputRowsSource", *task],
                ["AWS/DMS", "FullLoadThroughputRowsTarget", *task],
                ["AWS/DMS", "CDCThroughputRowsSource", *task],
                ["AWS/DMS", "CDCThroughputRowsTarget", *task],
            ],
            inputs,
            x=0,
            y=6,
            width=HALF_WIDTH,
        ),
        _metric_widget(
            "Changes waiting: incoming and on disk",
            [
                ["AWS/DMS", "CDCIncomingChanges", *task],
                ["AWS/DMS", "CDCChangesDiskSource", *task],
                ["AWS/DMS", "CDCChangesDiskTarget", *task],
            ],
            inputs,
            x=HALF_WIDTH,
            y=6,
            width=HALF_WIDTH,
        ),
        _metric_widget(
            "Errors and validation",
            [
                ["AWS/DMS", "ValidationFailedOverallCount", *task],
                ["AWS/DMS", "ValidationSuspendedOverallCount", *task],
                ["AWS/DMS", "ValidationPendingOverallCount", *task],
                ["AWS/DMS", "ValidationSucceededRecordCount", *task],
            ],
            inputs,
            x=0,
            y=12,
            width=HALF_WIDTH,
            stat="Maximum",
        ),
        _metric_widget(
            "DMS instance health",
            [
                ["AWS/DMS", "CPUUtilization", *instance],
                ["AWS/DMS", "FreeableMemory", *instance, {"yAxis": "right"}],
                ["AWS/DMS", "FreeStorageSpace", *instance, {"yAxis": "right"}],
                ["AWS/DMS", "SwapUsage", *instance, {"yAxis": "right"}],
            ],
            inputs,
            x=HALF_WIDTH,
            y=12,
            width=HALF_WIDTH,
        ),
        _metric_widget(
            "Aurora health",
            [
                ["AWS/RDS", "CPUUtilization", *cluster],
                ["AWS/RDS", "DatabaseConnections", *cluster],
                ["AWS/RDS", "FreeableMemory", *cluster, {"yAxis": "right"}],
                ["AWS/RDS", "FreeLocalStorage", *cluster, {"yAxis": "right"}],
                ["AWS/RDS", "AuroraReplicaLagMaximum", *cluster],
            ],
            inputs,
            x=0,
            y=18,
            width=HALF_WIDTH,
        ),
        {
            "type": "alarm",
            "x": HALF_WIDTH,
            "y": 18,
            "width": HALF_WIDTH,
            "height": 6,
            "properties": {
                "title": "Cutover readiness: every alarm OK",
                "alarms": list(inputs.alarm_arns),
                "sortBy": "stateUpdatedTimestamp",
            },
        },
    ]
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": widgets}


def dashboard_body(inputs: DashboardInputs) -> str:
    """The dashboard body as deterministic JSON text."""
    return json.dumps(build_dashboard(inputs), sort_keys=True)
