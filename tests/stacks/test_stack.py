"""The whole stack of every shipped environment: invariants over all resources, outputs, snapshots."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from inventory_migration.config import load_config
from inventory_migration.rules import RuleContext, evaluate, resources
from inventory_migration.synth.tagging import REQUIRED_TAG_KEYS, standard_tags
from tests.conftest import ENVIRONMENTS, one, resources_of


def context(environment: str, synth: dict[str, Any]) -> RuleContext:
    config = load_config(environment)
    default_tags = synth["provider"]["aws"][0]["default_tags"][0]["tags"]
    return RuleContext(
        name_tail=f"-{config.environment}-{config.environment_suffix}",
        default_tags=default_tags,
        destroyable=not config.aurora.deletion_protection,
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_resource_passes_every_rule(synthesized: Any, environment: str) -> None:
    synth = synthesized(environment)
    assert sum(1 for _ in resources(synth)) > 100
    assert evaluate(synth, context(environment, synth)) == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_provider_owns_region_and_default_tags(synthesized: Any, environment: str) -> None:
    provider = synthesized(environment)["provider"]["aws"][0]
    assert provider["region"] == "us-east-1"
    tags = provider["default_tags"][0]["tags"]
    assert tags == standard_tags(load_config(environment))
    assert set(REQUIRED_TAG_KEYS) <= set(tags)
    assert tags["Environment"] == environment and tags["MigrationPhase"] == "foundation"


def test_backends(synthesized: Any) -> None:
    backend = synthesized("dev")["terraform"]["backend"]
    assert backend == {"local": {"path": "../../../terraform.inventory-migration-dev.tfstate"}}  # the project's root
    s3 = synthesized("prod")["terraform"]["backend"]["s3"]
    assert s3["use_lockfile"] is True and s3["encrypt"] is True
    assert s3["key"] == "inventory-migration/prod/terraform.tfstate"
    assert "dynamodb_table" not in s3
    assert synthesized("prod")["terraform"]["required_version"] == ">= 1.10"


def test_dev_is_destroyable_and_prod_is_protected(synthesized: Any) -> None:
    dev, prod = one(synthesized("dev"), "aws_rds_cluster"), one(synthesized("prod"), "aws_rds_cluster")
    assert dev["deletion_protection"] is False and dev["skip_final_snapshot"] is True
    assert prod["deletion_protection"] is True and prod["skip_final_snapshot"] is False
    assert prod["final_snapshot_identifier"] == "aurora-prod-inv-final"
    assert all(b["force_destroy"] for b in resources_of(synthesized("dev"), "aws_s3_bucket"))
    assert not any(b["force_destroy"] for b in resources_of(synthesized("prod"), "aws_s3_bucket"))
    assert {s["recovery_window_in_days"] for s in resources_of(synthesized("prod"), "aws_secretsmanager_secret")} == {30}
    assert {k["deletion_window_in_days"] for k in resources_of(synthesized("dev"), "aws_kms_key")} == {7}


def test_outputs_are_described_and_secrets_sensitive(synthesized: Any) -> None:
    outputs = synthesized("dev")["output"]
    expected = {
        "migration_phase",
        "aurora_writer_endpoint",
        "aurora_reader_endpoint",
        "aurora_port",
        "aurora_master_secret_arn",
        "dms_source_secret_arn",
        "dms_target_secret_arn",
        "dms_task_arn",
        "dms_replication_instance_id",
        "images_bucket_name",
        "state_bucket_name",
        "alarm_topic_arn",
        "cutover_blocked_alarm_name",
        "dashboard_name",
        "vpc_id",
        "ecs_cluster_name",
        "ecs_cluster_arn",
        "app_subnet_ids",
        "app_security_group_id",
        "task_execution_role_arn",
        "task_role_arn",
        "app_database_secret_arn",
        "green_target_group_arn",
        "blue_target_group_arn",
        "https_listener_arn",
        "load_balancer_dns_name",
        # The first pass of the first deploy: no DataSync agent yet, so no task; what the agent's activation needs.
        "datasync_endpoint_id",
        "datasync_endpoint_private_ip",
        "datasync_endpoint_subnet_arn",
        "datasync_endpoint_security_group_arn",
        "vpn_connection_id",
        "vpn_tunnel_addresses",
        "security_group_ids",
    }
    assert set(outputs) == expected
    assert all(o["description"] for o in outputs.values())
    sensitive = {k for k, o in outputs.items() if o.get("sensitive")}
    assert sensitive == {"aurora_master_secret_arn", "dms_source_secret_arn", "dms_target_secret_arn", "app_database_secret_arn"}


def test_resource_counts(synthesized: Any) -> None:
    def count(env: str) -> collections.Counter[str]:
        return collections.Counter(t for t, _id, _c in resources(synthesized(env)))

    dev, prod = count("dev"), count("prod")
    assert (dev["aws_nat_gateway"], prod["aws_nat_gateway"]) == (1, 3)
    assert (dev["aws_rds_cluster_instance"], prod["aws_rds_cluster_instance"]) == (2, 3)
    assert dev["aws_subnet"] == 12 and dev["aws_kms_key"] == 3
    assert dev["aws_cloudwatch_metric_alarm"] == 14 and prod["aws_cloudwatch_metric_alarm"] == 15
    assert dev["aws_cloudwatch_composite_alarm"] == 1 and dev["aws_lb_target_group"] == 2
    assert (dev["aws_lb_target_group_attachment"], prod["aws_lb_target_group_attachment"]) == (2, 3)
