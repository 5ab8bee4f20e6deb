"""Data at rest is encrypted with one of our customer-managed keys; every resource type is classified, so a new one
cannot slip past."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inventory_migration.rules.core import NA, OK, Finding, Resource, RuleContext, bad, construct_path, lookup

CMK_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "aws_rds_cluster": ("kms_key_id", "master_user_secret_kms_key_id"),
    "aws_rds_cluster_instance": ("performance_insights_kms_key_id",),
    "aws_cloudwatch_log_group": ("kms_key_id",),
    "aws_sns_topic": ("kms_master_key_id",),
    "aws_secretsmanager_secret": ("kms_key_id",),
    "aws_dms_replication_instance": ("kms_key_arn",),
    "aws_dms_endpoint": ("kms_key_arn",),
    "aws_ecs_cluster": ("configuration.managed_storage_configuration.fargate_ephemeral_storage_kms_key_id",),
}
"""Resources that store data, and the attributes (dotted paths through nested blocks) that must name one of our
customer-managed keys."""

NO_DATA_AT_REST = frozenset(
    {
        "aws_cloudwatch_composite_alarm",
        "aws_cloudwatch_dashboard",
        "aws_cloudwatch_event_rule",
        "aws_cloudwatch_event_target",
        "aws_cloudwatch_log_metric_filter",
        "aws_cloudwatch_log_resource_policy",
        "aws_cloudwatch_metric_alarm",
        "aws_customer_gateway",
        "aws_datasync_agent",
        "aws_datasync_location_nfs",
        "aws_datasync_location_s3",
        "aws_datasync_location_smb",
        "aws_datasync_task",
        "aws_db_event_subscription",
        "aws_db_subnet_group",
        "aws_default_security_group",
        "aws_dms_certificate",
        "aws_dms_event_subscription",
        "aws_dms_replication_subnet_group",
        "aws_dms_replication_task",
        "aws_ec2_transit_gateway_vpc_attachment",
        "aws_ecs_cluster_capacity_providers",
        "aws_ecs_service",
        "aws_ecs_task_definition",
        "aws_eip",
        "aws_flow_log",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_internet_gateway",
        "aws_kms_alias",
        "aws_kms_key",
        "aws_lb",
        "aws_lb_listener",
        "aws_lb_listener_rule",
        "aws_lb_target_group",
        "aws_lb_target_group_attachment",
        "aws_nat_gateway",
        "aws_rds_cluster_parameter_group",
        "aws_route53_resolver_endpoint",
        "aws_route53_resolver_rule",
        "aws_route53_resolver_rule_association",
        "aws_route",
        "aws_route_table",
        "aws_route_table_association",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_versioning",
        "aws_security_group",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
        "aws_subnet",
        "aws_vpc",
        "aws_vpc_endpoint",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpn_connection",
        "aws_vpn_connection_route",
        "aws_vpn_gateway",
        "aws_s3_bucket",
        "aws_wafv2_web_acl",
        "aws_wafv2_web_acl_association",
        "aws_wafv2_web_acl_logging_configuration",
    }
)
"""Resources that hold no data of their own (S3 buckets are checked through their encryption configuration; the load
balancer's access logs land in the SSE-S3 log bucket; task definitions and services keep their data in the cluster's
encrypted Fargate storage)."""

ENCRYPTION_EXCEPTIONS: Mapping[str, str] = {
    "access-logs-encryption": "S3 server access logs can only be delivered to a bucket encrypted with SSE-S3 "
    "(AWS S3 user guide, 'Enabling Amazon S3 server access logging'); the log bucket uses AES256.",
}
"""Construct ids (last path segment) allowed to use non-CMK encryption, each with the reason."""


def _is_kms_reference(value: Any) -> bool:
    return isinstance(value, str) and ("aws_kms_key." in value or value.startswith("arn:aws:kms:"))


def rule_encrypted_with_cmk(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """Data at rest is encrypted with one of our customer-managed keys."""
    if resource_type == "aws_s3_bucket_server_side_encryption_configuration":
        default = config["rule"][0]["apply_server_side_encryption_by_default"]
        if default.get("sse_algorithm") == "aws:kms" and _is_kms_reference(default.get("kms_master_key_id")):
            return OK
        if construct_path(logical_id).endswith(tuple(ENCRYPTION_EXCEPTIONS)):
            return NA
        return bad("bucket encryption does not use a customer-managed key")
    if resource_type == "aws_kms_key":
        return OK if config.get("enable_key_rotation") is True else bad("key rotation is off")
    if resource_type in CMK_ATTRIBUTES:
        missing = [a for a in CMK_ATTRIBUTES[resource_type] if not _is_kms_reference(lookup(config, a))]
        if resource_type == "aws_rds_cluster" and config.get("storage_encrypted") is not True:
            missing.append("storage_encrypted")
        return bad(f"not encrypted with a CMK: {', '.join(missing)}") if missing else OK
    if resource_type in NO_DATA_AT_REST:
        return NA
    return bad(f"unclassified resource type {resource_type}: add it to CMK_ATTRIBUTES or NO_DATA_AT_REST")
