"""IAM and KMS policy building blocks: action lists as constants, documents as plain data.

Documents are built as Python dicts and rendered with :func:`policy_json`; references to other resources
stay cdktf tokens inside the strings and resolve at synth (JSON text, or ``jsonencode`` in HCL synth:
:mod:`inventory_migration.synth.rendering`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inventory_migration.synth.cdk import IConstruct
from inventory_migration.synth.rendering import json_attribute

KMS_ADMIN_ACTIONS = ("kms:*",)
KMS_USE_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)
KMS_GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
KMS_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")
FLOW_LOG_DELIVERY_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
"""What VPC flow logs do in their one log group."""
FLOW_LOG_DESCRIBE_ACTIONS = ("logs:DescribeLogGroups",)
"""Flow logs also list log groups: an action with no resource type in the IAM service authorization reference for
CloudWatch Logs, so it only works with ``Resource: "*"``. It reads names, never log data."""
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
"""Writing to one log group (ECS ``awslogs`` driver)."""
S3_OBJECT_READ_WRITE_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion")
S3_BUCKET_LIST_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
KMS_DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
"""What a client of an SSE-KMS bucket needs on its key (read: Decrypt; write: GenerateDataKey)."""
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
ECR_AUTH_ACTIONS = ("ecr:GetAuthorizationToken",)
"""Logging in to ECR: no resource type in the service authorization reference, so ``Resource: "*"``."""

Statement = dict[str, Any]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str] | str | None = "*",
    *,
    effect: str = "Allow",
    principal: Mapping[str, Any] | str | None = None,
    condition: Mapping[str, Mapping[str, Any]] | None = None,
) -> Statement:
    """One IAM statement with stable key order."""
    out: Statement = {"Sid": sid, "Effect": effect}
    if principal is not None:
        out["Principal"] = principal
    out["Action"] = list(actions) if len(actions) > 1 else actions[0]
    if resources is not None:
        out["Resource"] = resources if isinstance(resources, str) else list(resources)
    if condition:
        out["Condition"] = {k: dict(v) for k, v in condition.items()}
    return out


def policy_document(*statements: Statement) -> dict[str, Any]:
    """A policy document as data."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def policy_json(scope: IConstruct, *statements: Statement) -> str:
    """A policy document as the value of a ``policy`` attribute of a resource under ``scope``."""
    return json_attribute(scope, policy_document(*statements))


def service_assume_role_policy(scope: IConstruct, service: str, *, source_account: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role (optionally only for our account)."""
    condition = {"StringEquals": {"aws:SourceAccount": source_account}} if source_account else None
    return policy_json(
        scope, statement("AllowServiceAssume", ["sts:AssumeRole"], None, principal={"Service": service}, condition=condition)
    )
