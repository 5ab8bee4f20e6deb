"""The monitoring construct (constructs/monitoring.py) in a fresh stack."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import KEY, NAMER, policy


def test_alarm_topic(construct_stack: Any) -> None:
    from inventory_migration.constructs.monitoring import AlarmTopic, AlarmTopicProps

    AlarmTopic(
        construct_stack,
        "topic",
        props=AlarmTopicProps(namer=NAMER, account_id="123456789012", kms_key_arn=KEY, emails=("a@example.com", "b@example.com")),
    )
    synth = synth_of(construct_stack)
    topic = one(synth, "aws_sns_topic")
    assert topic["kms_master_key_id"] == KEY and topic["name"] == "sns-alarms-dev-t1"
    publish = policy(one(synth, "aws_sns_topic_policy"))["Statement"][0]
    assert set(publish["Principal"]["Service"]) == {
        "cloudwatch.amazonaws.com",
        "dms.amazonaws.com",
        "events.rds.amazonaws.com",
        "events.amazonaws.com",
    }
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert sorted(s["endpoint"] for s in resources_of(synth, "aws_sns_topic_subscription")) == ["a@example.com", "b@example.com"]


def monitoring_props(**overrides: Any) -> Any:
    from inventory_migration.config.monitoring import AlarmThresholds
    from inventory_migration.constructs.monitoring import ApplicationMonitoring, MigrationMonitoringProps, ReplicationMonitoring

    props: dict[str, Any] = dict(
        image_sync=None,
        thresholds=AlarmThresholds(),
        namer=NAMER,
        region="us-east-1",
        topic_arn="arn:topic",
        cluster_id="aurora-dev-t1",
        reader_instance_ids=["aurora-2-dev-t1"],
        replication=ReplicationMonitoring(replication_instance_id="dms-instance-dev-t1", task_arn=TASK_ARN),
        application=ApplicationMonitoring(
            load_balancer_arn_suffix="app/alb-app-dev-t1/1234",
            green_target_group_arn_suffix="targetgroup/tg-green-dev-t1/5678",
            blue_target_group_arn_suffix="targetgroup/tg-blue-dev-t1/9abc",
            ecs_cluster_name="ecs-app-dev-t1",
            ecs_service_name="ecs-service-app-dev-t1",
        ),
    )
    props.update(overrides)
    return MigrationMonitoringProps(**props)


TASK_ARN = "arn:aws:dms:us-east-1:123456789012:task:TASKRESOURCEID"


def dashboard_of(synth: dict[str, Any]) -> dict[str, Any]:
    template = one(synth, "aws_cloudwatch_dashboard")["dashboard_body"]
    return dict(json.loads(re.sub(r"\$\{[^}]*\}", "EXPR", template)))  # Terraform interpolates, then it is JSON


def test_monitoring_alarms_and_dashboard(construct_stack: Any) -> None:
    from inventory_migration.constructs.monitoring import CUTOVER_BLOCKERS, MigrationMonitoring

    MigrationMonitoring(construct_stack, "monitoring", props=monitoring_props())
    synth = synth_of(construct_stack)
    alarms = {a["metric_name"] + ":" + a["namespace"]: a for a in resources_of(synth, "aws_cloudwatch_metric_alarm")}
    expected = {
        "CDCLatencySource:AWS/DMS",
        "CDCLatencyTarget:AWS/DMS",
        "CPUUtilization:AWS/DMS",
        "FreeableMemory:AWS/DMS",
        "FreeStorageSpace:AWS/DMS",
        "SourceSlotRetainedWalBytes:InventoryMigration",
        "CPUUtilization:AWS/RDS",
        "DatabaseConnections:AWS/RDS",
        "FreeableMemory:AWS/RDS",
        "FreeLocalStorage:AWS/RDS",
        "AuroraReplicaLag:AWS/RDS",
        "EngineUptime:AWS/RDS",
        "UnHealthyHostCount:AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count:AWS/ApplicationELB",
    }
    assert set(alarms) == expected
    assert all(a["alarm_actions"] == ["arn:topic"] and a["ok_actions"] == ["arn:topic"] for a in alarms.values())
    latency = alarms["CDCLatencySource:AWS/DMS"]
    assert latency["threshold"] == 300 and latency["comparison_operator"] == "GreaterThanThreshold"
    assert latency["dimensions"]["ReplicationTaskIdentifier"] == f'${{element(split(":", "{TASK_ARN}"), 6)}}'
    assert alarms["FreeableMemory:AWS/RDS"]["comparison_operator"] == "LessThanThreshold"
    assert alarms["AuroraReplicaLag:AWS/RDS"]["dimensions"] == {"DBInstanceIdentifier": "aurora-2-dev-t1"}
    slot_wal = alarms["SourceSlotRetainedWalBytes:InventoryMigration"]  # what `status --publish-metrics` sends
    assert slot_wal["dimensions"] == {"ReplicationTaskIdentifier": latency["dimensions"]["ReplicationTaskIdentifier"]}
    assert slot_wal["threshold"] == 64 * 1024**3 and slot_wal["statistic"] == "Maximum"
    writer = alarms["EngineUptime:AWS/RDS"]
    assert writer["dimensions"] == {"DBClusterIdentifier": "aurora-dev-t1", "Role": "WRITER"}
    assert writer["treat_missing_data"] == "breaching" and writer["comparison_operator"] == "LessThanThreshold"
    unhealthy = alarms["UnHealthyHostCount:AWS/ApplicationELB"]
    assert unhealthy["dimensions"] == {
        "TargetGroup": "targetgroup/tg-green-dev-t1/5678",
        "LoadBalancer": "app/alb-app-dev-t1/1234",
    }
    assert unhealthy["comparison_operator"] == "GreaterThanOrEqualToThreshold" and unhealthy["threshold"] == 1
    # cutover-blocked: ALARM while any blocker is, notifying the topic both ways.
    composite = one(synth, "aws_cloudwatch_composite_alarm")
    assert composite["alarm_name"] == "alarm-cutover-blocked-dev-t1"
    assert composite["alarm_actions"] == ["arn:topic"] and composite["ok_actions"] == ["arn:topic"]
    children = re.findall(
        r'ALARM\("\$\{aws_cloudwatch_metric_alarm\.monitoring_([a-z0-9-]+)_[0-9A-F]+\.alarm_name\}"\)', composite["alarm_rule"]
    )
    assert children == list(CUTOVER_BLOCKERS)
    assert composite["alarm_rule"].count(" OR ") == len(CUTOVER_BLOCKERS) - 1
    events = one(synth, "aws_db_event_subscription")
    assert events["source_type"] == "db-cluster" and events["source_ids"] == ["aurora-dev-t1"]
    template = one(synth, "aws_cloudwatch_dashboard")["dashboard_body"]
    assert f'"${{element(split(":", "{TASK_ARN}"), 6)}}"' in template
    body = dashboard_of(synth)
    verdict, lag = body["widgets"][0], body["widgets"][1]
    assert verdict["type"] == "alarm" and (verdict["x"], verdict["y"], verdict["width"]) == (0, 0, 6)
    assert (lag["x"], lag["y"], lag["width"]) == (6, 0, 18)
    assert [m[1] for m in lag["properties"]["metrics"]] == ["CDCLatencySource", "CDCLatencyTarget"]
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert any(t.startswith("Load balancer") for t in titles) and any(t.startswith("ECS") for t in titles)
    assert body["widgets"][-1]["type"] == "alarm" and len(body["widgets"][-1]["properties"]["alarms"]) == len(expected)


def test_monitoring_without_replication_keeps_the_other_blockers(construct_stack: Any) -> None:
    from inventory_migration.constructs.monitoring import MigrationMonitoring

    MigrationMonitoring(construct_stack, "monitoring", props=monitoring_props(replication=None))
    synth = synth_of(construct_stack)
    assert not [a for a in resources_of(synth, "aws_cloudwatch_metric_alarm") if a["namespace"] == "AWS/DMS"]
    rule = one(synth, "aws_cloudwatch_composite_alarm")["alarm_rule"]
    assert "dms" not in rule and rule.count("ALARM(") == 3
    body = dashboard_of(synth)
    assert not [w for w in body["widgets"] if "DMS" in json.dumps(w)]


def test_dashboard_rows_span_the_full_width() -> None:
    from inventory_migration.dashboards.migration import layout

    placed = layout([[({"type": "text"}, 12), ({"type": "text"}, 12)], [({"type": "text"}, 24)]])
    assert [(w["x"], w["y"], w["width"]) for w in placed] == [(0, 0, 12), (12, 0, 12), (0, 6, 24)]
    with pytest.raises(ValueError, match="row 0"):
        layout([[({"type": "text"}, 12)]])


def test_dashboard_in_the_stack_keys_task_metrics_by_the_arn_tail(synthesized: Any, dev_stack: Any) -> None:
    task_id = dev_stack.get_logical_id(dev_stack.dms.task)
    body = one(synthesized("dev"), "aws_cloudwatch_dashboard")["dashboard_body"]
    assert f'${{element(split(":", aws_dms_replication_task.{task_id}.replication_task_arn), 6)}}' in body
    assert "dms-task-full-load-cdc-dev-inv" not in body  # the task name is not the dimension
