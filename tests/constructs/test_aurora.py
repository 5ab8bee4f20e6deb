"""The Aurora construct (constructs/aurora.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from inventory_migration.config import EngineLifecycleSupport
from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import KEY, NAMER, settings_and_wiring


def aurora_props(**overrides: Any) -> Any:
    from inventory_migration.config import AuroraConfig
    from inventory_migration.constructs.aurora import AuroraWiring

    props = dict(
        namer=NAMER,
        partition="aws",
        engine_major=16,
        engine_version="16.6",
        subnet_ids=["a", "b", "c"],
        availability_zones=["us-east-1a", "us-east-1b", "us-east-1c"],
        security_group_ids=["sg-1"],
        storage_key_arn=KEY,
        secret_key_arn=KEY + "ops",
        logs_key_arn=KEY + "logs",
        log_retention_days=365,
    )
    props.update(overrides)
    return settings_and_wiring(AuroraConfig, AuroraWiring, props)


def test_aurora_cluster(construct_stack: Any) -> None:
    from inventory_migration.constructs.aurora import AuroraCluster

    AuroraCluster(construct_stack, "aurora", **aurora_props(source_parameters={"work_mem": "16384", "max_connections": "800"}))
    synth = synth_of(construct_stack)
    cluster = one(synth, "aws_rds_cluster")
    assert cluster["engine"] == "aurora-postgresql" and cluster["engine_version"] == "16.6"
    assert cluster["storage_encrypted"] is True and cluster["kms_key_id"] == KEY
    assert cluster["manage_master_user_password"] is True and cluster["master_user_secret_kms_key_id"] == KEY + "ops"
    assert cluster["iam_database_authentication_enabled"] is True
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert cluster["copy_tags_to_snapshot"] is True
    assert "engine_lifecycle_support" not in cluster and "final_snapshot_identifier" not in cluster
    instances = resources_of(synth, "aws_rds_cluster_instance")
    assert [i["availability_zone"] for i in instances] == ["us-east-1a", "us-east-1b"]
    assert all(i["performance_insights_enabled"] and i["performance_insights_kms_key_id"] == KEY for i in instances)
    assert all(i["monitoring_interval"] == 60 and not i["publicly_accessible"] for i in instances)
    group = one(synth, "aws_rds_cluster_parameter_group")
    assert group["family"] == "aurora-postgresql16"
    params = {p["name"]: (p["value"], p["apply_method"]) for p in group["parameter"]}
    assert params["rds.logical_replication"] == ("1", "pending-reboot")
    assert params["rds.force_ssl"] == ("1", "immediate")
    assert params["max_connections"] == ("800", "pending-reboot")
    assert params["work_mem"] == ("16384", "immediate")
    assert params["log_statement"] == ("ddl", "immediate")
    log_group = one(synth, "aws_cloudwatch_log_group")
    assert log_group["name"] == "/aws/rds/cluster/aurora-dev-t1/postgresql"
    assert "aws_db_option_group" not in synth["resource"]


def test_aurora_13_with_extended_support_and_final_snapshot(construct_stack: Any) -> None:
    from inventory_migration.constructs.aurora import AuroraCluster

    AuroraCluster(
        construct_stack,
        "aurora",
        **aurora_props(
            engine_major=13,
            engine_version="13.18",
            engine_lifecycle_support=EngineLifecycleSupport.EXTENDED_SUPPORT,
            skip_final_snapshot=False,
            deletion_protection=True,
            instance_count=4,
        ),
    )
    synth = synth_of(construct_stack)
    cluster = one(synth, "aws_rds_cluster")
    assert cluster["engine_lifecycle_support"] == "open-source-rds-extended-support"
    assert cluster["final_snapshot_identifier"] == "aurora-dev-t1-final" and cluster["deletion_protection"] is True
    assert one(synth, "aws_rds_cluster_parameter_group")["family"] == "aurora-postgresql13"
    azs = [i["availability_zone"] for i in resources_of(synth, "aws_rds_cluster_instance")]
    assert azs == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"]


def test_source_cannot_override_what_the_migration_needs() -> None:
    from inventory_migration.constructs.aurora import cluster_parameters

    params = {p["name"]: p["value"] for p in cluster_parameters({"rds.logical_replication": "0", "log_statement": "all"})}
    assert params["rds.logical_replication"] == "1" and params["log_statement"] == "all"


def test_aurora_settings_validation() -> None:
    from inventory_migration.config import ConfigError

    with pytest.raises(ConfigError) as info:
        aurora_props(instance_count=1, engine_version="15.1")
    text = str(info.value)
    assert all(s in text for s in ("instance_count = 1", "engine_version = '15.1'"))


def test_aurora_wiring_validation() -> None:
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError) as info:
        aurora_props(subnet_ids=["a"], availability_zones=["x"])
    assert all(s in str(info.value) for s in ("subnet_ids", "availability_zones"))
