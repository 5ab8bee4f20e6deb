"""Physical names (or the Name tag) follow ``{resource-type}-{environment}-{suffix}``."""

from __future__ import annotations

from collections.abc import Mapping

from inventory_migration.rules.core import NA, OK, Finding, Resource, RuleContext, bad
from inventory_migration.synth.naming import AWS_MANDATED_NAMES

NAME_ATTRIBUTES: Mapping[str, str] = {
    "aws_s3_bucket": "bucket",
    "aws_rds_cluster": "cluster_identifier",
    "aws_rds_cluster_instance": "identifier",
    "aws_dms_replication_instance": "replication_instance_id",
    "aws_dms_replication_subnet_group": "replication_subnet_group_id",
    "aws_dms_endpoint": "endpoint_id",
    "aws_dms_replication_task": "replication_task_id",
    "aws_dms_certificate": "certificate_id",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_cloudwatch_composite_alarm": "alarm_name",
    "aws_ecs_task_definition": "family",
    "aws_cloudwatch_log_resource_policy": "policy_name",
    "aws_cloudwatch_dashboard": "dashboard_name",
    "aws_kms_alias": "name",
}
"""Name attributes that are not called ``name``."""


def rule_named_with_suffix(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """Physical names (or the Name tag) follow ``{type}-{environment}-{suffix}``."""
    attribute = NAME_ATTRIBUTES.get(resource_type, "name")
    name = config.get(attribute)
    if not isinstance(name, str):
        name = (config.get("tags") or {}).get("Name")
    if name is None:
        return NA
    if name in AWS_MANDATED_NAMES:
        return OK
    if name.endswith(ctx.name_tail) or f"{ctx.name_tail}/" in name:
        return OK
    return bad(f"{attribute} {name!r} does not end with {ctx.name_tail!r}")
