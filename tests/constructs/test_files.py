"""The DataSync image transfer construct (constructs/files.py) in a fresh stack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inventory_migration.contracts.phases import ImageSync
from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import BUCKET, NAMER, OPS, S3KEY, actions_of, policy, ref, settings_and_wiring


def transfer(stack: Any, **overrides: Any) -> Any:
    from inventory_migration.config import FilesConfig
    from inventory_migration.constructs.files import ImageTransfer, ImageTransferWiring

    props: dict[str, Any] = dict(
        namer=NAMER,
        region="us-east-1",
        account_id="123456789012",
        partition="aws",
        vpc_id="vpc-1",
        subnet_ids=["dms-1", "dms-2"],
        agent_address="192.168.30.10",
        bucket_arn=BUCKET,
        bucket_key_arn=S3KEY,
        report_bucket_arn="arn:aws:s3:::s3-access-logs-dev-t1",
        logs_key_arn=OPS,
        alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:alarms",
        server="files.corp.example",
        export_path="/exports/images",
        agent_arn="arn:aws:datasync:us-east-1:123456789012:agent/agent-0123456789abcdef0",
        bandwidth_limit_mbps=200,
        sync=ImageSync.SCHEDULED,
        log_retention_days=365,
    )
    props.update(overrides)
    return ImageTransfer(stack, "files", **settings_and_wiring(FilesConfig, ImageTransferWiring, props))


def test_datasync_task_options_and_locations(construct_stack: Any) -> None:
    files = transfer(construct_stack)
    synth = synth_of(construct_stack)
    task = one(synth, "aws_datasync_task")
    assert task["options"] == {
        "transfer_mode": "CHANGED",
        "verify_mode": "ONLY_FILES_TRANSFERRED",
        "overwrite_mode": "ALWAYS",
        "mtime": "PRESERVE",
        "atime": "BEST_EFFORT",
        "uid": "INT_VALUE",
        "gid": "INT_VALUE",
        "posix_permissions": "PRESERVE",
        "preserve_devices": "NONE",
        "preserve_deleted_files": "REMOVE",
        "bytes_per_second": 25_000_000,
        "task_queueing": "ENABLED",
        "log_level": "BASIC",
        "object_tags": "PRESERVE",
    }
    assert task["schedule"] == {"schedule_expression": "cron(0 1 * * ? *)"}
    assert task["cloudwatch_log_group_arn"] == ref(construct_stack, files.log_group, "arn")
    report = task["task_report_config"]
    assert report["report_level"] == "ERRORS_ONLY" and report["s3_destination"]["subdirectory"] == "datasync-reports"
    nfs = one(synth, "aws_datasync_location_nfs")
    assert (nfs["server_hostname"], nfs["subdirectory"]) == ("files.corp.example", "/exports/images")
    assert nfs["on_prem_config"]["agent_arns"] == ["arn:aws:datasync:us-east-1:123456789012:agent/agent-0123456789abcdef0"]
    s3 = one(synth, "aws_datasync_location_s3")
    assert (s3["s3_bucket_arn"], s3["subdirectory"]) == (BUCKET, "/")
    assert "aws_datasync_agent" not in synth["resource"]
    assert one(synth, "aws_cloudwatch_log_group")["kms_key_id"] == OPS


def test_datasync_bucket_access_role_has_exactly_the_documented_actions(construct_stack: Any) -> None:
    from inventory_migration.constructs.files import S3_LOCATION_BUCKET_ACTIONS, S3_LOCATION_OBJECT_ACTIONS

    transfer(construct_stack)
    synth = synth_of(construct_stack)
    role = one(synth, "aws_iam_role")
    trust = policy(role, "assume_role_policy")["Statement"][0]
    assert trust["Principal"] == {"Service": "datasync.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    statements = actions_of(policy(one(synth, "aws_iam_role_policy")))
    assert statements["AWSDataSyncS3BucketPermissions"][0] == set(S3_LOCATION_BUCKET_ACTIONS)
    assert statements["AWSDataSyncS3ObjectPermissions"][0] == set(S3_LOCATION_OBJECT_ACTIONS)
    assert statements["UseImageBucketKey"] == ({"kms:Decrypt", "kms:GenerateDataKey"}, [S3KEY])
    assert len(S3_LOCATION_OBJECT_ACTIONS) == 9 and not any("*" in a for a in S3_LOCATION_OBJECT_ACTIONS)


def test_datasync_endpoint_is_private_and_only_takes_the_agent_ports(construct_stack: Any) -> None:
    files = transfer(construct_stack)
    synth = synth_of(construct_stack)
    endpoint = one(synth, "aws_vpc_endpoint")
    assert endpoint["service_name"] == "com.amazonaws.us-east-1.datasync" and endpoint["vpc_endpoint_type"] == "Interface"
    assert endpoint["subnet_ids"] == ["dms-1"]
    assert endpoint["security_group_ids"] == [ref(construct_stack, files.endpoint_security_group, "id")]
    assert _endpoint_rules(synth) == [(443, 443, "192.168.30.10/32"), (1024, 1064, "192.168.30.10/32")]
    assert "aws_vpc_security_group_egress_rule" not in synth["resource"]


def _endpoint_rules(synth: Any) -> list[tuple[int, int, str]]:
    return sorted(
        (r["from_port"], r["to_port"], r["cidr_ipv4"]) for r in resources_of(synth, "aws_vpc_security_group_ingress_rule")
    )


def test_datasync_endpoint_opens_the_support_channel_only_when_asked(construct_stack: Any) -> None:
    transfer(construct_stack, support_channel=True)
    assert (22, 22, "192.168.30.10/32") in _endpoint_rules(synth_of(construct_stack))


def test_datasync_failure_notifies_the_topic(construct_stack: Any) -> None:
    files = transfer(construct_stack)
    synth = synth_of(construct_stack)
    rule = one(synth, "aws_cloudwatch_event_rule")
    pattern = json.loads(rule["event_pattern"])
    assert pattern["detail-type"] == ["DataSync Task Execution State Change"] and pattern["detail"] == {"State": ["ERROR"]}
    assert pattern["resources"] == [{"prefix": ref(construct_stack, files.task, "arn")}]
    assert one(synth, "aws_cloudwatch_event_target")["arn"] == "arn:aws:sns:us-east-1:123456789012:alarms"
    metric = one(synth, "aws_cloudwatch_log_metric_filter")
    assert metric["pattern"] == '"Verification failed"' and metric["metric_transformation"]["name"] == "VerificationErrors"
    log_policy = policy(one(synth, "aws_cloudwatch_log_resource_policy"), "policy_document")["Statement"][0]
    assert log_policy["Principal"] == {"Service": "datasync.amazonaws.com"}


def test_datasync_on_demand_smb_and_a_new_agent(construct_stack: Any) -> None:
    from inventory_migration.config.files import DeletedFiles, FileProtocol

    transfer(
        construct_stack,
        sync=ImageSync.ON_DEMAND,
        protocol=FileProtocol.SMB,
        smb_user="svc-datasync",
        agent_arn="",
        agent_activation_key="ABCDE-FGHIJ-KLMNO-PQRST-UVWXY",
        deleted_files=DeletedFiles.PRESERVE,
        s3_prefix="images",
    )
    synth = synth_of(construct_stack)
    task = one(synth, "aws_datasync_task")
    assert "schedule" not in task and task["options"]["preserve_deleted_files"] == "PRESERVE"
    smb = one(synth, "aws_datasync_location_smb")
    assert smb["user"] == "svc-datasync" and smb["password"] == "${var.datasync_smb_password}"
    assert synth["variable"]["datasync_smb_password"]["sensitive"] is True
    agent = one(synth, "aws_datasync_agent")
    assert agent["activation_key"] == "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY" and "aws_vpc_endpoint" in agent["vpc_endpoint_id"]
    assert one(synth, "aws_datasync_location_s3")["subdirectory"] == "/images"


def test_datasync_absent_keeps_only_the_evidence(construct_stack: Any) -> None:
    files = transfer(construct_stack, sync=ImageSync.ABSENT)
    synth = synth_of(construct_stack)
    assert files.task is None and set(synth["resource"]) == {"aws_cloudwatch_log_group"}


def test_datasync_settings_validation() -> None:
    from inventory_migration.config import ConfigError

    with pytest.raises(ConfigError, match="not both"):
        transfer(None, agent_activation_key="ABCDE-FGHIJ-KLMNO-PQRST-UVWXY")


def test_datasync_wiring_validation() -> None:
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError) as info:
        transfer(None, subnet_ids=[])
    assert "subnet_ids" in str(info.value)


def test_datasync_without_an_agent_creates_only_the_endpoint(construct_stack: Any) -> None:
    files = transfer(construct_stack, agent_arn="")
    synth = synth_of(construct_stack)
    assert files.task is None and files.endpoint is not None
    assert one(synth, "aws_vpc_endpoint")["service_name"] == "com.amazonaws.us-east-1.datasync"
    for absent in ("aws_datasync_task", "aws_datasync_location_s3", "aws_datasync_location_nfs", "aws_datasync_agent"):
        assert absent not in synth["resource"], absent
