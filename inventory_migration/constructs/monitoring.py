"""Notifications and alarms: an encrypted SNS topic that CloudWatch, DMS and RDS events may publish to,
e-mail subscriptions, alarms on replication lag and on DMS and Aurora health (to SNS on ALARM and OK),
an RDS event subscription and the migration dashboard."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from enum import Enum

from inventory_migration.cdk import Construct, Fn, Token, aws
from inventory_migration.config import AlarmThresholds
from inventory_migration.dashboards.migration import DashboardInputs, dashboard_body
from inventory_migration.iam import policy_json, statement
from inventory_migration.naming import Namer, ResourceType
from inventory_migration.tagging import name_tag

TOPIC_PUBLISHERS = ("cloudwatch.amazonaws.com", "dms.amazonaws.com", "events.rds.amazonaws.com")
RDS_CLUSTER_EVENT_CATEGORIES = ("failover", "failure", "maintenance", "notification", "migration")
PERIOD_SECONDS = 60


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    """Props of :class:`AlarmTopic`."""

    namer: Namer
    """Derives the topic name."""
    account_id: str
    """Only this account's resources may publish."""
    kms_key_arn: str
    """CMK of the topic."""
    emails: tuple[str, ...] = ()
    """E-mail subscribers. Default: none."""


class AlarmTopic(Construct):
    """The SNS topic every alarm and event goes to."""

    def __init__(self, scope: Construct, construct_id: str, *, props: AlarmTopicProps) -> None:
        super().__init__(scope, construct_id)
        name = props.namer.name(ResourceType.SNS_TOPIC, "alarms")
        self.topic = aws.sns_topic.SnsTopic(self, "topic", name=name, kms_master_key_id=props.kms_key_arn, tags=name_tag(name))
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "policy",
            arn=self.topic.arn,
            policy=policy_json(
                statement(
                    "AccountServicesPublish",
                    ["sns:Publish"],
                    [self.topic.arn],
                    principal={"Service": list(TOPIC_PUBLISHERS)},
                    condition={"StringEquals": {"aws:SourceAccount": props.account_id}},
                ),
                statement(
                    "DenyInsecureTransport",
                    ["sns:Publish"],
                    [self.topic.arn],
                    effect="Deny",
                    principal="*",
                    condition={"Bool": {"aws:SecureTransport": "false"}},
                ),
            ),
        )
        for i, email in enumerate(props.emails):
            aws.sns_topic_subscription.SnsTopicSubscription(
                self, f"email-{i + 1}", topic_arn=self.topic.arn, protocol="email", endpoint=email
            )

    @property
    def arn(self) -> str:
        return str(self.topic.arn)


class Comparison(Enum):
    ABOVE = "GreaterThanThreshold"
    BELOW = "LessThanThreshold"


@dataclasses.dataclass(frozen=True)
class AlarmSpec:
    """One alarm: metric, statistic, direction and threshold."""

    qualifier: str
    namespace: str
    metric: str
    statistic: str
    comparison: Comparison
    threshold: float
    dimensions: dict[str, str]
    description: str
    missing_data: str = "missing"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrationMonitoringProps:
    """Props of :class:`MigrationMonitoring`."""

    namer: Namer
    """Derives alarm and dashboard names."""
    region: str
    """Region of the metrics."""
    topic_arn: str
    """Where alarms notify, on ALARM and on OK."""
    replication_instance_id: str
    """DMS replication instance identifier."""
    task_arn: str
    """DMS task ARN; its last segment is the ``ReplicationTaskIdentifier`` dimension."""
    cluster_id: str
    """Aurora cluster identifier."""
    reader_instance_ids: Sequence[str]
    """Aurora reader identifiers, for AuroraReplicaLag."""
    thresholds: AlarmThresholds = dataclasses.field(default_factory=AlarmThresholds)
    """Thresholds. Default: :class:`AlarmThresholds` defaults."""


def task_resource_id_expression(task_arn: str) -> str:
    """Terraform expression for the task ARN's last segment (``ReplicationTaskIdentifier``)."""
    return Token.as_string(Fn.element(Fn.split(":", task_arn), 6))


class MigrationMonitoring(Construct):
    """Alarms, the RDS event subscription and the migration dashboard."""

    def __init__(self, scope: Construct, construct_id: str, *, props: MigrationMonitoringProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        p, t = props, props.thresholds
        self.task_resource_id = task_resource_id_expression(p.task_arn)
        task = {"ReplicationInstanceIdentifier": p.replication_instance_id, "ReplicationTaskIdentifier": self.task_resource_id}
        instance = {"ReplicationInstanceIdentifier": p.replication_instance_id}
        cluster = {"DBClusterIdentifier": p.cluster_id}
        specs = [
            AlarmSpec(
                "dms-cdc-latency-source",
                "AWS/DMS",
                "CDCLatencySource",
                "Maximum",
                Comparison.ABOVE,
                t.cdc_latency_source_seconds,
                task,
                "Changes wait too long to be read from the source",
                "notBreaching",
            ),
            AlarmSpec(
                "dms-cdc-latency-target",
                "AWS/DMS",
                "CDCLatencyTarget",
                "Maximum",
                Comparison.ABOVE,
                t.cdc_latency_target_seconds,
                task,
                "Changes wait too long to be applied to Aurora",
                "notBreaching",
            ),
            AlarmSpec(
                "dms-cpu",
                "AWS/DMS",
                "CPUUtilization",
                "Average",
                Comparison.ABOVE,
                t.dms_cpu_percent,
                instance,
                "DMS replication instance CPU is high",
            ),
            AlarmSpec(
                "dms-freeable-memory",
                "AWS/DMS",
                "FreeableMemory",
                "Minimum",
                Comparison.BELOW,
                t.dms_freeable_memory_bytes,
                instance,
                "DMS replication instance runs out of memory for CDC buffers",
            ),
            AlarmSpec(
                "dms-free-storage",
                "AWS/DMS",
                "FreeStorageSpace",
                "Minimum",
                Comparison.BELOW,
                t.dms_free_storage_bytes,
                instance,
                "DMS replication instance runs out of storage for cached changes",
            ),
            AlarmSpec(
                "aurora-cpu",
                "AWS/RDS",
                "CPUUtilization",
                "Average",
                Comparison.ABOVE,
                t.aurora_cpu_percent,
                cluster,
                "Aurora CPU is high",
            ),
            AlarmSpec(
                "aurora-connections",
                "AWS/RDS",
                "DatabaseConnections",
                "Maximum",
                Comparison.ABOVE,
                t.aurora_connections,
                cluster,
                "Aurora has too many connections",
            ),
            AlarmSpec(
                "aurora-freeable-memory",
                "AWS/RDS",
                "FreeableMemory",
                "Minimum",
                Comparison.BELOW,
                t.aurora_freeable_memory_bytes,
                cluster,
                "Aurora runs out of memory",
            ),
            AlarmSpec(
                "aurora-free-local-storage",
                "AWS/RDS",
                "FreeLocalStorage",
                "Minimum",
                Comparison.BELOW,
                t.aurora_free_local_storage_bytes,
                cluster,
                "Aurora runs out of local (temporary) storage",
            ),
            *[
                AlarmSpec(
                    f"aurora-replica-lag-{i + 2}",
                    "AWS/RDS",
                    "AuroraReplicaLag",
                    "Maximum",
                    Comparison.ABOVE,
                    t.aurora_replica_lag_ms,
                    {"DBInstanceIdentifier": reader},
                    f"Aurora reader {reader} lags the writer",
                )
                for i, reader in enumerate(p.reader_instance_ids)
            ],
        ]
        self.alarms = {spec.qualifier: self._alarm(spec) for spec in specs}
        self.rds_events = aws.db_event_subscription.DbEventSubscription(
            self,
            "rds-events",
            name=p.namer.name(ResourceType.EVENT_SUBSCRIPTION, "aurora-cluster"),
            sns_topic=p.topic_arn,
            source_type="db-cluster",
            source_ids=[p.cluster_id],
            event_categories=list(RDS_CLUSTER_EVENT_CATEGORIES),
            tags=name_tag(p.namer.name(ResourceType.EVENT_SUBSCRIPTION, "aurora-cluster")),
        )
        self.dashboard_name = p.namer.name(ResourceType.DASHBOARD, "migration")
        self.dashboard = aws.cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=dashboard_body(
                DashboardInputs(
                    region=p.region,
                    replication_instance_id=p.replication_instance_id,
                    task_resource_id=self.task_resource_id,
                    cluster_id=p.cluster_id,
                    alarm_arns=[a.arn for a in self.alarms.values()],
                )
            ),
        )

    def _alarm(self, spec: AlarmSpec) -> aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm:
        p = self._props
        name = p.namer.name(ResourceType.ALARM, spec.qualifier)
        return aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self,
            spec.qualifier,
            alarm_name=name,
            alarm_description=spec.description,
            namespace=spec.namespace,
            metric_name=spec.metric,
            statistic=spec.statistic,
            comparison_operator=spec.comparison.value,
            threshold=spec.threshold,
            period=PERIOD_SECONDS,
            evaluation_periods=p.thresholds.evaluation_periods,
            datapoints_to_alarm=p.thresholds.evaluation_periods,
            dimensions=spec.dimensions,
            treat_missing_data=spec.missing_data,
            alarm_actions=[p.topic_arn],
            ok_actions=[p.topic_arn],
            tags=name_tag(name),
        )
