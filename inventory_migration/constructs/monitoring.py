"""Notifications and alarms: an encrypted SNS topic that CloudWatch, DMS and RDS events may publish to, e-mail
subscriptions, alarms on replication lag, DMS and Aurora health and green's health (to SNS on ALARM and OK), the
``cutover-blocked`` composite alarm over the ones that decide a cutover, an RDS event subscription and the migration
dashboard."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from enum import Enum

from inventory_migration.config import AlarmThresholds
from inventory_migration.contracts import metrics
from inventory_migration.dashboards.migration import (
    DashboardInputs,
    ImageSyncMetrics,
    LoadBalancerMetrics,
    ReplicationMetrics,
    build_dashboard,
)
from inventory_migration.synth.cdk import Construct, Fn, TerraformResourceLifecycle, Token, aws
from inventory_migration.synth.iam import policy_json, statement
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.rendering import hcl_output, templated_json_attribute, token_names
from inventory_migration.synth.tagging import name_tag

TOPIC_PUBLISHERS = (
    "cloudwatch.amazonaws.com",
    "dms.amazonaws.com",
    "events.rds.amazonaws.com",
    "events.amazonaws.com",
)
"""Services that publish to the alarm topic: alarms, DMS and RDS events, EventBridge rules (DataSync failures)."""
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
    emails: tuple[str, ...]
    """E-mail subscribers (``monitoring.notification_emails``)."""


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
                self,
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
    AT_LEAST = "GreaterThanOrEqualToThreshold"
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
    """CloudWatch's ``treat_missing_data``. Default: ``missing`` (the alarm keeps its state while data is missing)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplicationMonitoring:
    """What to watch of DMS (while it exists)."""

    replication_instance_id: str
    """DMS replication instance identifier."""
    task_arn: str
    """Forward DMS task ARN; its last segment is the ``ReplicationTaskIdentifier`` dimension."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApplicationMonitoring:
    """What to watch of the load balancer and ECS."""

    load_balancer_arn_suffix: str
    """``LoadBalancer`` dimension."""
    green_target_group_arn_suffix: str
    """``TargetGroup`` dimension of green."""
    ecs_cluster_name: str
    """``ClusterName`` dimension."""
    blue_target_group_arn_suffix: str | None = None
    """``TargetGroup`` dimension of blue; none once decommissioned. Default: none."""
    ecs_service_name: str | None = None
    """``ServiceName`` when the stack creates the service. Default: none."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrationMonitoringProps:
    """Props of :class:`MigrationMonitoring`."""

    namer: Namer
    """Derives alarm and dashboard names."""
    region: str
    """Region of the metrics."""
    topic_arn: str
    """Where alarms notify, on ALARM and on OK."""
    cluster_id: str
    """Aurora cluster identifier."""
    reader_instance_ids: Sequence[str]
    """Aurora reader identifiers, for AuroraReplicaLag."""
    application: ApplicationMonitoring
    """The load balancer and ECS."""
    replication: ReplicationMonitoring | None
    """DMS; none once decommissioned (its alarms go with it)."""
    image_sync: ImageSyncMetrics | None
    """The DataSync task; none until the agent is known and once decommissioned."""
    thresholds: AlarmThresholds
    """Thresholds (``monitoring.thresholds``)."""


def task_resource_id_expression(task_arn: str) -> str:
    """Terraform expression for the task ARN's last segment (``ReplicationTaskIdentifier``)."""
    return Token.as_string(Fn.element(Fn.split(":", task_arn), 6))


CUTOVER_BLOCKERS = (
    "dms-cdc-latency-source",
    "dms-cdc-latency-target",
    "dms-freeable-memory",
    "dms-free-storage",
    "aurora-writer-unavailable",
    "green-unhealthy-hosts",
    "green-target-5xx",
)
"""Alarms whose ALARM state blocks a cutover (and, after it, argues for a rollback): the composite
``cutover-blocked`` is in ALARM while any of those that exist is."""


class MigrationMonitoring(Construct):
    """Alarms, the ``cutover-blocked`` composite alarm, the RDS event subscription and the migration dashboard."""

    def __init__(self, scope: Construct, construct_id: str, *, props: MigrationMonitoringProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        p = props
        self.task_resource_id = task_resource_id_expression(p.replication.task_arn) if p.replication is not None else None
        specs = [*self._replication_specs(), *self._aurora_specs(), *self._application_specs()]
        self.alarms = {spec.qualifier: self._alarm(spec) for spec in specs}
        blockers = [self.alarms[q] for q in CUTOVER_BLOCKERS if q in self.alarms]
        name = p.namer.name(ResourceType.COMPOSITE_ALARM, "cutover-blocked")
        self.cutover_blocked = aws.cloudwatch_composite_alarm.CloudwatchCompositeAlarm(
            self,
            "cutover-blocked",
            alarm_name=name,
            alarm_description=(
                "ALARM while replication lags, DMS runs short of memory or storage, the Aurora writer is unavailable, "
                "or green is unhealthy: do not cut over (after the switch: consider migrationctl rollback)"
            ),
            alarm_rule=self._any_in_alarm(blockers),
            alarm_actions=[p.topic_arn],
            ok_actions=[p.topic_arn],
            tags=name_tag(name),
        )
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
        app = p.application
        self.dashboard = aws.cloudwatch_dashboard.CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.dashboard_name,
            dashboard_body=self._dashboard_body(
                DashboardInputs(
                    region=p.region,
                    cluster_id=p.cluster_id,
                    cutover_alarm_arn=self.cutover_blocked.arn,
                    alarm_arns=[a.arn for a in self.alarms.values()],
                    load_balancer=LoadBalancerMetrics(
                        load_balancer=app.load_balancer_arn_suffix,
                        green_target_group=app.green_target_group_arn_suffix,
                        blue_target_group=app.blue_target_group_arn_suffix,
                    ),
                    ecs_cluster_name=app.ecs_cluster_name,
                    ecs_service_name=app.ecs_service_name,
                    replication=ReplicationMetrics(
                        replication_instance_id=p.replication.replication_instance_id,
                        task_resource_id=self.task_resource_id,
                    )
                    if p.replication is not None and self.task_resource_id is not None
                    else None,
                    image_sync=p.image_sync,
                )
            ),
        )

    def _any_in_alarm(self, alarms: list[aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm]) -> str:
        """The composite rule ``ALARM("a") OR ALARM("b")...``. In HCL synth the quotes come from Terraform
        (``format("ALARM(%q)", …)``): cdktf's HCL renderer leaves quotes around a reference unescaped."""
        if hcl_output(self):
            return Token.as_string(Fn.join(" OR ", [Fn.format("ALARM(%q)", [a.alarm_name]) for a in alarms]))
        return " OR ".join(f'ALARM("{alarm.alarm_name}")' for alarm in alarms)

    def _dashboard_body(self, inputs: DashboardInputs) -> str:
        """The body as JSON text; in HCL synth, ``templatefile()`` of ``migration-dashboard.json`` (its own file)."""
        return templated_json_attribute(
            self, "dashboard-body", "migration-dashboard.json", build_dashboard(inputs), names=token_names(inputs)
        )

    def _replication_specs(self) -> list[AlarmSpec]:
        p, t = self._props, self._props.thresholds
        if p.replication is None or self.task_resource_id is None:
            return []
        task = {
            "ReplicationInstanceIdentifier": p.replication.replication_instance_id,
            "ReplicationTaskIdentifier": self.task_resource_id,
        }
        instance = {"ReplicationInstanceIdentifier": p.replication.replication_instance_id}
        return [
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
                "source-slot-wal",
                metrics.NAMESPACE,
                metrics.SOURCE_SLOT_WAL,
                "Maximum",
                Comparison.ABOVE,
                t.source_slot_retained_wal_bytes,
                {metrics.TASK_DIMENSION: self.task_resource_id},
                "On-prem keeps too much WAL for a replication slot (the stopped forward task's, in the rollback window): "
                "resume forward replication or drop the slot before the disk fills (migrationctl status)",
            ),
        ]

    def _aurora_specs(self) -> list[AlarmSpec]:
        p, t = self._props, self._props.thresholds
        cluster = {"DBClusterIdentifier": p.cluster_id}
        return [
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
            AlarmSpec(
                "aurora-writer-unavailable",
                "AWS/RDS",
                "EngineUptime",
                "Minimum",
                Comparison.BELOW,
                t.aurora_writer_min_uptime_seconds,
                {"DBClusterIdentifier": p.cluster_id, "Role": "WRITER"},
                "The Aurora writer restarted or failed over just now, or there is no writer (role metric: no datapoint)",
                "breaching",
            ),
        ]

    def _application_specs(self) -> list[AlarmSpec]:
        p, t = self._props, self._props.thresholds
        green = {
            "TargetGroup": p.application.green_target_group_arn_suffix,
            "LoadBalancer": p.application.load_balancer_arn_suffix,
        }
        return [
            AlarmSpec(
                "green-unhealthy-hosts",
                "AWS/ApplicationELB",
                "UnHealthyHostCount",
                "Maximum",
                Comparison.AT_LEAST,
                t.green_unhealthy_hosts,
                green,
                "Green (ECS Fargate) has unhealthy targets",
                "notBreaching",
            ),
            AlarmSpec(
                "green-target-5xx",
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                "Sum",
                Comparison.ABOVE,
                t.green_target_5xx_count,
                green,
                "Green (ECS Fargate) answers with server errors",
                "notBreaching",
            ),
        ]

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
            # A phase that drops an alarm also drops it from the composite's rule: the rule must change first.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True) if spec.qualifier in CUTOVER_BLOCKERS else None,
        )
