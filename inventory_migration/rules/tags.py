"""Every taggable resource carries the required tags and a Name."""

from __future__ import annotations

from inventory_migration.rules.core import NA, OK, Finding, Resource, RuleContext, bad
from inventory_migration.synth.tagging import REQUIRED_TAG_KEYS

UNTAGGABLE = frozenset(
    {
        "aws_cloudwatch_dashboard",
        "aws_cloudwatch_event_target",
        "aws_cloudwatch_log_metric_filter",
        "aws_cloudwatch_log_resource_policy",
        "aws_ecs_cluster_capacity_providers",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_kms_alias",
        "aws_lb_target_group_attachment",
        "aws_route",
        "aws_route53_resolver_rule_association",
        "aws_route_table_association",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
        "aws_vpn_connection_route",
        "aws_wafv2_web_acl_association",
        "aws_wafv2_web_acl_logging_configuration",
    }
)
"""Resource types the AWS provider cannot tag (cross-checked against the provider schema in the tests)."""


def rule_tagged(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """Every taggable resource carries the required tags (provider default tags) and its own Name."""
    if resource_type in UNTAGGABLE:
        return NA
    missing = [k for k in REQUIRED_TAG_KEYS if not ctx.default_tags.get(k)]
    if missing:
        return bad(f"default tags lack {', '.join(missing)}")
    tags = config.get("tags") or {}
    if resource_type == "aws_default_security_group":
        return OK
    return OK if tags.get("Name") else bad("no Name tag")
