"""Each policy rule: one compliant and one non-compliant case (plus not-applicable where it has one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.rules import (
    Compliance,
    RuleContext,
    construct_path,
    evaluate,
    rule_destroyable,
    rule_encrypted_with_cmk,
    rule_named_with_suffix,
    rule_no_open_ingress,
    rule_no_wildcard_actions,
    rule_rules_described,
    rule_tagged,
)

CTX = RuleContext(name_tail="-dev-inv", default_tags={"Environment": "dev", "MigrationPhase": "cdc", "CostCenter": "x"})
KMS = "${aws_kms_key.kms_ops_1234.arn}"
C, N, NA = Compliance.COMPLIANT, Compliance.NON_COMPLIANT, Compliance.NOT_APPLICABLE


def POLICY(actions: list[str] | str, effect: str = "Allow") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": effect, "Action": actions, "Resource": "*"}]}
    )


@pytest.mark.parametrize(
    ("rule", "resource_type", "logical_id", "config", "expected"),
    [
        (rule_encrypted_with_cmk, "aws_sns_topic", "t_1", {"kms_master_key_id": KMS}, C),
        (rule_encrypted_with_cmk, "aws_sns_topic", "t_1", {}, N),
        (
            rule_encrypted_with_cmk,
            "aws_rds_cluster",
            "c_1",
            {"kms_key_id": KMS, "master_user_secret_kms_key_id": KMS, "storage_encrypted": True},
            C,
        ),
        (rule_encrypted_with_cmk, "aws_rds_cluster", "c_1", {"kms_key_id": KMS, "master_user_secret_kms_key_id": KMS}, N),
        (rule_encrypted_with_cmk, "aws_kms_key", "k_1", {"enable_key_rotation": True}, C),
        (rule_encrypted_with_cmk, "aws_kms_key", "k_1", {}, N),
        (
            rule_encrypted_with_cmk,
            "aws_s3_bucket_server_side_encryption_configuration",
            "storage_images-encryption_AB",
            {"rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": KMS}}]},
            C,
        ),
        (
            rule_encrypted_with_cmk,
            "aws_s3_bucket_server_side_encryption_configuration",
            "storage_images-encryption_AB",
            {"rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]},
            N,
        ),
        (
            rule_encrypted_with_cmk,
            "aws_s3_bucket_server_side_encryption_configuration",
            "storage_access-logs-encryption_AB",
            {"rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]},
            NA,
        ),
        (rule_encrypted_with_cmk, "aws_vpc", "v_1", {}, NA),
        (rule_encrypted_with_cmk, "aws_ebs_volume", "e_1", {}, N),  # unclassified types cannot slip through
        (rule_destroyable, "aws_rds_cluster", "c_1", {"deletion_protection": False, "skip_final_snapshot": True}, C),
        (rule_destroyable, "aws_rds_cluster", "c_1", {"deletion_protection": True, "skip_final_snapshot": True}, N),
        (rule_destroyable, "aws_s3_bucket", "b_1", {"force_destroy": False}, N),
        (rule_destroyable, "aws_secretsmanager_secret", "s_1", {"recovery_window_in_days": 0}, C),
        (rule_destroyable, "aws_kms_key", "k_1", {"deletion_window_in_days": 30}, N),
        (rule_destroyable, "aws_vpc", "v_1", {"lifecycle": {"prevent_destroy": True}}, N),
        (rule_no_open_ingress, "aws_vpc_security_group_ingress_rule", "r_1", {"referenced_security_group_id": "sg"}, C),
        (rule_no_open_ingress, "aws_vpc_security_group_ingress_rule", "r_1", {"cidr_ipv4": "0.0.0.0/0"}, N),
        (rule_no_open_ingress, "aws_vpc_security_group_ingress_rule", "r_1", {"cidr_ipv6": "::/0"}, N),
        (rule_no_open_ingress, "aws_vpc_security_group_ingress_rule", "r_1", {"cidr_ipv4": "10.0.0.0/8"}, C),
        (rule_no_open_ingress, "aws_security_group", "g_1", {"ingress": [{"cidr_blocks": ["10.0.0.0/8"]}]}, C),
        (rule_no_open_ingress, "aws_security_group", "g_1", {"ingress": [{"cidr_blocks": ["0.0.0.0/0"]}]}, N),
        (rule_no_open_ingress, "aws_vpc_security_group_egress_rule", "r_1", {"cidr_ipv4": "0.0.0.0/0"}, NA),
        (rule_rules_described, "aws_vpc_security_group_egress_rule", "r_1", {"description": "why"}, C),
        (rule_rules_described, "aws_vpc_security_group_egress_rule", "r_1", {"description": " "}, N),
        (rule_rules_described, "aws_vpc", "v_1", {}, NA),
        (rule_tagged, "aws_vpc", "v_1", {"tags": {"Name": "vpc-dev-inv"}}, C),
        (rule_tagged, "aws_vpc", "v_1", {}, N),
        (rule_tagged, "aws_default_security_group", "d_1", {}, C),
        (rule_tagged, "aws_route", "r_1", {}, NA),
        (rule_named_with_suffix, "aws_s3_bucket", "b_1", {"bucket": "s3-images-dev-inv"}, C),
        (rule_named_with_suffix, "aws_s3_bucket", "b_1", {"bucket": "product-images"}, N),
        (rule_named_with_suffix, "aws_cloudwatch_log_group", "l_1", {"name": "/aws/rds/cluster/aurora-dev-inv/postgresql"}, C),
        (rule_named_with_suffix, "aws_iam_role", "r_1", {"name": "dms-vpc-role"}, C),
        (rule_named_with_suffix, "aws_vpc", "v_1", {"tags": {"Name": "vpc-prod-inv"}}, N),
        (rule_named_with_suffix, "aws_route", "r_1", {}, NA),
        (
            rule_encrypted_with_cmk,
            "aws_ecs_cluster",
            "c_1",
            {"configuration": [{"managed_storage_configuration": [{"fargate_ephemeral_storage_kms_key_id": KMS}]}]},
            C,
        ),
        (rule_encrypted_with_cmk, "aws_ecs_cluster", "c_1", {"configuration": []}, N),
        (rule_destroyable, "aws_lb", "l_1", {"enable_deletion_protection": True}, N),
        (rule_destroyable, "aws_lb", "l_1", {"enable_deletion_protection": False}, C),
        (rule_no_wildcard_actions, "aws_iam_role_policy", "p_1", {"policy": POLICY(["s3:GetObject", "s3:PutObject"])}, C),
        (rule_no_wildcard_actions, "aws_iam_role_policy", "p_1", {"policy": POLICY(["s3:*"])}, N),
        (rule_no_wildcard_actions, "aws_iam_role_policy", "p_1", {"policy": POLICY("kms:GenerateDataKey*")}, N),
        (rule_no_wildcard_actions, "aws_iam_role_policy", "p_1", {"policy": POLICY(["s3:*"], effect="Deny")}, C),
        (rule_no_wildcard_actions, "aws_iam_role_policy", "p_1", {"policy": "not json"}, N),
        (rule_no_wildcard_actions, "aws_kms_key", "k_1", {"policy": POLICY(["kms:*"])}, NA),
    ],
)
def test_rule(rule, resource_type: str, logical_id: str, config: dict, expected: Compliance) -> None:  # type: ignore[no-untyped-def]
    finding = rule(resource_type, logical_id, config, CTX)
    assert finding.compliance is expected, finding.reason
    assert bool(finding.reason) == (expected is N)


def test_destroyable_does_not_apply_to_protected_environments() -> None:
    ctx = RuleContext(name_tail="-prod-inv", default_tags=CTX.default_tags, destroyable=False)
    assert rule_destroyable("aws_rds_cluster", "c_1", {"deletion_protection": True}, ctx).compliance is NA


def test_missing_default_tags_make_every_taggable_resource_non_compliant() -> None:
    ctx = RuleContext(name_tail="-dev-inv", default_tags={"Environment": "dev"})
    finding = rule_tagged("aws_vpc", "v_1", {"tags": {"Name": "x"}}, ctx)
    assert finding.compliance is N and "MigrationPhase, CostCenter" in finding.reason


def test_evaluate_walks_every_resource() -> None:
    synth = {"resource": {"aws_vpc": {"a_1": {"tags": {"Name": "vpc-dev-inv"}}, "b_2": {}}, "aws_sns_topic": {"t_3": {}}}}
    lines = evaluate(synth, CTX)
    assert "tagged: aws_vpc.b_2: no Name tag" in lines
    assert any(line.startswith("encrypted-with-cmk: aws_sns_topic.t_3") for line in lines)
    assert not any(".a_1:" in line for line in lines)


def test_construct_path() -> None:
    assert construct_path("storage_access-logs-encryption_DFC39B18") == "storage_access-logs-encryption"


@pytest.mark.wide
def test_untaggable_types_match_the_provider_schema(offline_terraform: Any, tmp_path: Path) -> None:
    """UNTAGGABLE lists exactly the resource types we use that have no ``tags`` argument in hashicorp/aws 5.100."""
    from inventory_migration.rules import CMK_ATTRIBUTES, NO_DATA_AT_REST, UNTAGGABLE

    (tmp_path / "main.tf.json").write_text(
        json.dumps({"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}}})
    )
    assert offline_terraform.run("init", "-backend=false", "-input=false", cwd=tmp_path).ok
    schema = json.loads(offline_terraform.run("providers", "schema", "-json", cwd=tmp_path).output)
    resources = schema["provider_schemas"]["registry.terraform.io/hashicorp/aws"]["resource_schemas"]
    used = set(NO_DATA_AT_REST) | set(CMK_ATTRIBUTES) | {"aws_s3_bucket_server_side_encryption_configuration"}
    without_tags = {t for t in used if "tags" not in resources[t]["block"]["attributes"]}
    assert without_tags == set(UNTAGGABLE)
