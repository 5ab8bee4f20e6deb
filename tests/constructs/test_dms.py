"""The DMS construct (constructs/dms.py) in a fresh stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inventory_migration.contracts.names import CONTROL_SCHEMA
from inventory_migration.contracts.phases import TaskState
from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import KEY, NAMER, policy, settings_and_wiring


def dms_props(**overrides: Any) -> Any:
    from inventory_migration.config import DmsConfig
    from inventory_migration.constructs.dms import DmsWiring, EndpointSpec

    props = dict(
        namer=NAMER,
        region="us-east-1",
        partition="aws",
        subnet_ids=["a", "b"],
        security_group_ids=["sg-1"],
        kms_key_arn=KEY,
        source=EndpointSpec(database_name="inventory", engine_name="postgres"),
        target=EndpointSpec(database_name="inventory", engine_name="aurora-postgresql"),
        schemas=("inventory", "catalog"),
        alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        replication=True,
        forward_task=TaskState.CREATED,
        reverse_task=TaskState.ABSENT,
        secret_recovery_window_days=0,
        log_retention_days=365,
    )
    props.update(overrides)
    return settings_and_wiring(DmsConfig, DmsWiring, props)


def test_the_subnet_group_and_instance_wait_for_the_account_roles_policies(construct_stack: Any) -> None:
    """terraform-provider-aws #11025: a subnet group created before dms-vpc-role's policy is attached fails."""
    from inventory_migration.constructs.dms import DmsReplication

    DmsReplication(construct_stack, "dms", **dms_props())
    synth = synth_of(construct_stack)
    attachments = {f"aws_iam_role_policy_attachment.{name}" for name in synth["resource"]["aws_iam_role_policy_attachment"]}
    account = {a for a in attachments if "dms-vpc-role" in a or "dms-cloudwatch" in a}
    assert len(account) == 2, attachments
    for kind in ("aws_dms_replication_subnet_group", "aws_dms_replication_instance"):
        waits_for = set(one(synth, kind)["depends_on"])
        assert account <= waits_for, (kind, waits_for)


def test_dms_replication(construct_stack: Any) -> None:
    from inventory_migration.constructs.dms import DmsReplication

    dms = DmsReplication(construct_stack, "dms", **dms_props())
    synth = synth_of(construct_stack)
    instance = one(synth, "aws_dms_replication_instance")
    assert instance["multi_az"] is True and instance["publicly_accessible"] is False and instance["kms_key_arn"] == KEY
    assert instance["replication_instance_id"] == "dms-instance-dev-t1"
    roles = {r["name"] for r in resources_of(synth, "aws_iam_role")}
    assert {"dms-vpc-role", "dms-cloudwatch-logs-role", "role-dms-secrets-access-dev-t1"} <= roles
    endpoints = {e["endpoint_type"]: e for e in resources_of(synth, "aws_dms_endpoint")}
    source, target = endpoints["source"], endpoints["target"]
    assert source["engine_name"] == "postgres" and target["engine_name"] == "aurora-postgresql"
    assert source["ssl_mode"] == "require" and "certificate_arn" not in source
    assert source["postgres_settings"]["heartbeat_enable"] is True
    assert source["postgres_settings"]["map_boolean_as_boolean"] is True
    assert target["postgres_settings"]["map_boolean_as_boolean"] is True
    assert target["postgres_settings"]["after_connect_script"] == "SET session_replication_role = 'replica'"
    assert "password" not in source and "username" not in source
    access = policy(one(synth, "aws_iam_role_policy"))["Statement"]
    secret_ids = {
        f"${{aws_secretsmanager_secret.{construct_stack.get_logical_id(s)}.arn}}" for s in (dms.source_secret, dms.target_secret)
    }
    assert set(access[0]["Resource"]) == secret_ids
    assert access[1]["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    trust = policy(resources_of(synth, "aws_iam_role")[2], "assume_role_policy")["Statement"][0]["Principal"]
    assert trust == {"Service": "dms.us-east-1.amazonaws.com"}
    task = one(synth, "aws_dms_replication_task")
    assert task["migration_type"] == "full-load-and-cdc" and task["start_replication_task"] is False
    settings = json.loads(task["replication_task_settings"])
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"
    assert settings["TargetMetadata"]["LimitedSizeLobMode"] is True and settings["ValidationSettings"]["EnableValidation"] is True
    assert settings["Logging"]["EnableLogging"] is True
    mappings = json.loads(task["table_mappings"])["rules"]
    assert [r["object-locator"]["schema-name"] for r in mappings] == ["inventory", "catalog", CONTROL_SCHEMA]
    subs = {s["source_type"]: s for s in resources_of(synth, "aws_dms_event_subscription")}
    assert set(subs) == {"replication-task", "replication-instance"}
    assert one(synth, "aws_cloudwatch_log_group")["name"] == "dms-tasks-dms-instance-dev-t1"


def test_dms_verify_full_with_ca_and_existing_account_roles(construct_stack: Any) -> None:
    from inventory_migration.constructs.dms import DmsReplication, EndpointSpec

    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    DmsReplication(
        construct_stack,
        "dms",
        **dms_props(
            source=EndpointSpec(database_name="inventory", engine_name="postgres", ca_certificate_pem=pem),
            create_account_roles=False,
            forward_task=TaskState.RUNNING,
            secret_recovery_window_days=30,
        ),
    )
    synth = synth_of(construct_stack)
    source = next(e for e in resources_of(synth, "aws_dms_endpoint") if e["endpoint_type"] == "source")
    assert source["ssl_mode"] == "verify-full" and "aws_dms_certificate" in source["certificate_arn"]
    assert one(synth, "aws_dms_certificate")["certificate_pem"] == pem
    assert {r["name"] for r in resources_of(synth, "aws_iam_role")} == {"role-dms-secrets-access-dev-t1"}
    assert one(synth, "aws_dms_replication_task")["start_replication_task"] is True


def test_dms_settings_validation() -> None:
    from inventory_migration.config import ConfigError

    with pytest.raises(ConfigError, match="schemas"):
        dms_props(schemas=())


def test_dms_wiring_validation() -> None:
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError) as info:
        dms_props(subnet_ids=["a"], secret_recovery_window_days=3)
    assert all(s in str(info.value) for s in ("subnet_ids", "secret_recovery_window_days = 3"))


def test_dms_reverse_task_needs_its_start_position(construct_stack: Any) -> None:
    from inventory_migration.constructs.dms import DmsReplication
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError, match="reverse_cdc_start_position"):
        DmsReplication(construct_stack, "dms", **dms_props(reverse_task=TaskState.CREATED))
