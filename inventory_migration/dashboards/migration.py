"""The migration dashboard: the ``cutover-blocked`` verdict and replication lag first, then throughput, errors and
validation, the load balancer (blue and green), ECS, Aurora health, and every alarm.

``task_resource_id`` is the ``ReplicationTaskIdentifier`` dimension: the last segment of the task ARN, not the task's
name (see :func:`inventory_migration.contracts.names.task_resource_id`). Widgets are laid out in rows; each row's widths
add up to the dashboard's 24 columns, so nothing overlaps whatever is shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from inventory_migration.contracts import metrics

FULL_WIDTH = 24
HALF_WIDTH = 12
ROW_HEIGHT = 6
PERIOD_SECONDS = 60


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplicationMetrics:
    """The DMS dimensions (absent once DMS is decommissioned)."""

    replication_instance_id: str
    """``ReplicationInstanceIdentifier``: the replication instance's identifier."""
    task_resource_id: str
    """``ReplicationTaskIdentifier``: the forward task ARN's last segment."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoadBalancerMetrics:
    """The ``AWS/ApplicationELB`` dimensions."""

    load_balancer: str
    """``LoadBalancer``: the load balancer's ARN suffix."""
    green_target_group: str
    """``TargetGroup`` of green: its ARN suffix."""
    blue_target_group: str | None = None
    """``TargetGroup`` of blue; none once decommissioned. Default: none."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageSyncMetrics:
    """The DataSync task of the images (absent once decommissioned)."""

    task_id: str
    """``TaskId`` dimension: ``task-…``, the last part of the task ARN."""
    log_group_name: str
    """The task's log group, for the last executions."""
    verification_namespace: str
    """Namespace of the verification-error metric (from the task log)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DashboardInputs:
    """What the dashboard shows; values may be cdktf tokens."""

    region: str
    """Region of every metric."""
    cluster_id: str
    """``DBClusterIdentifier`` of the Aurora cluster."""
    cutover_alarm_arn: str
    """The composite ``cutover-blocked`` alarm."""
    alarm_arns: Sequence[str]
    """Every metric alarm."""
    load_balancer: LoadBalancerMetrics
    """The blue-green load balancer."""
    ecs_cluster_name: str
    """``ClusterName`` of the ECS cluster."""
    ecs_service_name: str | None = None
    """``ServiceName``, when the stack creates the service. Default: none."""
    replication: ReplicationMetrics | None = None
    """DMS, while it exists. Default: none."""
    image_sync: ImageSyncMetrics | None = None
    """DataSync, while it exists. Default: none."""


Widget = dict[str, Any]


def metric_widget(title: str, metrics: list[list[Any]], region: str, *, stat: str = "Average") -> Widget:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "stat": stat,
            "period": PERIOD_SECONDS,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def alarm_widget(title: str, alarm_arns: Sequence[str]) -> Widget:
    return {"type": "alarm", "properties": {"title": title, "alarms": list(alarm_arns), "sortBy": "stateUpdatedTimestamp"}}


def layout(rows: list[list[tuple[Widget, int]]]) -> list[Widget]:
    """Place rows of (widget, width) top to bottom; every row spans the full width."""
    placed: list[Widget] = []
    for y, row in enumerate(rows):
        if sum(width for _, width in row) != FULL_WIDTH:
            raise ValueError(f"dashboard row {y} does not span {FULL_WIDTH} columns")
        x = 0
        for widget, width in row:
            placed.append({**widget, "x": x, "y": y * ROW_HEIGHT, "width": width, "height": ROW_HEIGHT})
            x += width
    return placed


def _replication_rows(inputs: DashboardInputs, r: ReplicationMetrics) -> list[list[tuple[Widget, int]]]:
    task = ["ReplicationInstanceIdentifier", r.replication_instance_id, "ReplicationTaskIdentifier", r.task_resource_id]
    instance = ["ReplicationInstanceIdentifier", r.replication_instance_id]
    region = inputs.region
    return [
        [
            (
                metric_widget(
                    "Throughput: full load and CDC",
                    [
                        ["AWS/DMS", "FullLoadThroughputRowsSource", *task],
                        ["AWS/DMS", "FullLoadThroughputRowsTarget", *task],
                        ["AWS/DMS", "CDCThroughputRowsSource", *task],
                        ["AWS/DMS", "CDCThroughputRowsTarget", *task],
                    ],
                    region,
                ),
                HALF_WIDTH,
            ),
            (
                metric_widget(
                    "Changes waiting: incoming and on disk",
                    [
                        ["AWS/DMS", "CDCIncomingChanges", *task],
                        ["AWS/DMS", "CDCChangesDiskSource", *task],
                        ["AWS/DMS", "CDCChangesDiskTarget", *task],
                    ],
                    region,
                ),
                HALF_WIDTH,
            ),
        ],
        [
            (
                metric_widget(
                    "Errors and validation",
                    [
                        ["AWS/DMS", "ValidationFailedOverallCount", *task],
                        ["AWS/DMS", "ValidationSuspendedOverallCount", *task],
                        ["AWS/DMS", "ValidationPendingOverallCount", *task],
                        ["AWS/DMS", "ValidationSucceededRecordCount", *task],
                    ],
                    region,
                    stat="Maximum",
                ),
                HALF_WIDTH,
            ),
            (
                metric_widget(
                    "DMS instance health",
                    [
                        ["AWS/DMS", "CPUUtilization", *instance],
                        ["AWS/DMS", "FreeableMemory", *instance, {"yAxis": "right"}],
                        ["AWS/DMS", "FreeStorageSpace", *instance, {"yAxis": "right"}],
                        ["AWS/DMS", "SwapUsage", *instance, {"yAxis": "right"}],
                    ],
                    region,
                ),
                HALF_WIDTH,
            ),
        ],
        [
            (
                metric_widget(
                    "WAL kept on-prem for replication slots (bytes; migrationctl status --publish-metrics)",
                    [[metrics.NAMESPACE, metrics.SOURCE_SLOT_WAL, metrics.TASK_DIMENSION, r.task_resource_id]],
                    region,
                    stat="Maximum",
                ),
                FULL_WIDTH,
            ),
        ],
    ]


def _image_sync_row(inputs: DashboardInputs, s: ImageSyncMetrics) -> list[tuple[Widget, int]]:
    task = ["TaskId", s.task_id]
    return [
        (
            metric_widget(
                "Images (DataSync): bytes and files transferred",
                [
                    ["AWS/DataSync", "BytesTransferred", *task],
                    ["AWS/DataSync", "FilesTransferred", *task, {"yAxis": "right"}],
                ],
                inputs.region,
                stat="Sum",
            ),
            8,
        ),
        (
            metric_widget(
                "Images (DataSync): verified files and verification errors",
                [
                    ["AWS/DataSync", "FilesVerifiedSource", *task],
                    ["AWS/DataSync", "FilesVerifiedDestination", *task],
                    [s.verification_namespace, "VerificationErrors", {"yAxis": "right"}],
                ],
                inputs.region,
                stat="Sum",
            ),
            8,
        ),
        (
            {
                "type": "log",
                "properties": {
                    "title": "Images (DataSync): last executions",
                    "region": inputs.region,
                    "view": "table",
                    "query": f"SOURCE '{s.log_group_name}' | fields @timestamp, @message "
                    "| filter @message like /Execution|status|ERROR/ | sort @timestamp desc | limit 10",
                },
            },
            8,
        ),
    ]


def build_dashboard(inputs: DashboardInputs) -> dict[str, Any]:
    """The dashboard as a dict (see :func:`dashboard_body` for JSON)."""
    region, lb = inputs.region, inputs.load_balancer
    cluster = ["DBClusterIdentifier", inputs.cluster_id]
    colours = [("green", lb.green_target_group)] + ([("blue", lb.blue_target_group)] if lb.blue_target_group else [])
    verdict = (alarm_widget("cutover-blocked: must be OK to cut over or stay", [inputs.cutover_alarm_arn]), 6)
    if inputs.replication is not None:
        r = inputs.replication
        task = ["ReplicationInstanceIdentifier", r.replication_instance_id, "ReplicationTaskIdentifier", r.task_resource_id]
        top: tuple[Widget, int] = (
            metric_widget(
                "Replication lag (seconds): CDCLatencySource + CDCLatencyTarget",
                [["AWS/DMS", "CDCLatencySource", *task], ["AWS/DMS", "CDCLatencyTarget", *task]],
                region,
                stat="Maximum",
            ),
            18,
        )
    else:
        top = (
            metric_widget(
                "Requests per target group",
                [["AWS/ApplicationELB", "RequestCountPerTarget", "TargetGroup", tg, {"label": colour}] for colour, tg in colours],
                region,
                stat="Sum",
            ),
            18,
        )
    rows: list[list[tuple[Widget, int]]] = [[verdict, top]]
    if inputs.replication is not None:
        rows += _replication_rows(inputs, inputs.replication)
    rows.append(
        [
            (
                metric_widget(
                    "Load balancer: requests and target 5xx by colour",
                    [
                        *[
                            [
                                "AWS/ApplicationELB",
                                "RequestCount",
                                "TargetGroup",
                                tg,
                                "LoadBalancer",
                                lb.load_balancer,
                                {"label": f"{colour} requests"},
                            ]
                            for colour, tg in colours
                        ],
                        *[
                            [
                                "AWS/ApplicationELB",
                                "HTTPCode_Target_5XX_Count",
                                "TargetGroup",
                                tg,
                                "LoadBalancer",
                                lb.load_balancer,
                                {"label": f"{colour} 5xx", "yAxis": "right"},
                            ]
                            for colour, tg in colours
                        ],
                    ],
                    region,
                    stat="Sum",
                ),
                HALF_WIDTH,
            ),
            (
                metric_widget(
                    "Load balancer: healthy hosts and response time",
                    [
                        *[
                            [
                                "AWS/ApplicationELB",
                                metric,
                                "TargetGroup",
                                tg,
                                "LoadBalancer",
                                lb.load_balancer,
                                {"label": f"{colour} {label}"},
                            ]
                            for colour, tg in colours
                            for metric, label in (("HealthyHostCount", "healthy"), ("UnHealthyHostCount", "unhealthy"))
                        ],
                        ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lb.load_balancer, {"yAxis": "right"}],
                    ],
                    region,
                    stat="Maximum",
                ),
                HALF_WIDTH,
            ),
        ]
    )
    ecs_dims = ["ClusterName", inputs.ecs_cluster_name] + (
        ["ServiceName", inputs.ecs_service_name] if inputs.ecs_service_name else []
    )
    rows.append(
        [
            (
                metric_widget(
                    "ECS (green): CPU and memory",
                    [["AWS/ECS", "CPUUtilization", *ecs_dims], ["AWS/ECS", "MemoryUtilization", *ecs_dims]],
                    region,
                ),
                HALF_WIDTH,
            ),
            (
                metric_widget(
                    "ECS (green): running tasks (Container Insights)",
                    [["ECS/ContainerInsights", "RunningTaskCount", *ecs_dims]],
                    region,
                    stat="Maximum",
                ),
                HALF_WIDTH,
            ),
        ]
    )
    if inputs.image_sync is not None:
        rows.append(_image_sync_row(inputs, inputs.image_sync))
    rows.append(
        [
            (
                metric_widget(
                    "Aurora health",
                    [
                        ["AWS/RDS", "CPUUtilization", *cluster],
                        ["AWS/RDS", "DatabaseConnections", *cluster],
                        ["AWS/RDS", "FreeableMemory", *cluster, {"yAxis": "right"}],
                        ["AWS/RDS", "FreeLocalStorage", *cluster, {"yAxis": "right"}],
                        ["AWS/RDS", "AuroraReplicaLagMaximum", *cluster],
                    ],
                    region,
                ),
                HALF_WIDTH,
            ),
            (alarm_widget("Every alarm", inputs.alarm_arns), HALF_WIDTH),
        ]
    )
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": layout(rows)}
