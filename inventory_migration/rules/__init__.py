"""Policy rules over synthesized Terraform JSON, in the style of cdk-nag.

Each rule is a small pure function ``(resource_type, resource_config, context) -> Finding`` returning
compliant, non-compliant (with a reason) or not applicable. :func:`evaluate` walks *every* resource of a
synthesized stack, so a new resource cannot slip past a rule: where a rule must know a resource type
(encryption, tags), an unknown type is non-compliant until it is classified here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any

from inventory_migration.naming import AWS_MANDATED_NAMES
from inventory_migration.tagging import REQUIRED_TAG_KEYS


class Compliance(Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not-applicable"


@dataclasses.dataclass(frozen=True)
class Finding:
    compliance: Compliance
    reason: str = ""


OK = Finding(Compliance.COMPLIANT)
NA = Finding(Compliance.NOT_APPLICABLE)


def bad(reason: str) -> Finding:
    return Finding(Compliance.NON_COMPLIANT, reason)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuleContext:
    """What rules know about the stack besides one resource."""

    name_tail: str
    """``-{environment}-{suffix}``, which every derived name ends with (or contains, for AWS paths)."""
    default_tags: Mapping[str, str]
    """The provider's ``default_tags``."""
    destroyable: bool = True
    """Whether the environment must be destroyable (dev). Default: true."""


Resource = Mapping[str, Any]
Rule = Callable[[str, str, Resource, RuleContext], Finding]
"""(resource type, logical id, resource config, context) -> finding."""

# ----------------------------------------------------------------------------- encryption at rest

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


def construct_path(logical_id: str) -> str:
    """The construct path part of a cdktf logical id (``storage_access-logs-encryption_DFC39B18``)."""
    return logical_id.rsplit("_", 1)[0]


def lookup(config: Resource, dotted: str) -> Any:
    """A (possibly nested) attribute: ``a.b.c`` descends into the first element of each block list."""
    value: Any = config
    for part in dotted.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


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


# ----------------------------------------------------------------------------- destroyability


def rule_destroyable(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """In a destroyable environment nothing blocks ``terraform destroy`` or keeps data behind."""
    if not ctx.destroyable:
        return NA
    if config.get("lifecycle", {}).get("prevent_destroy"):
        return bad("lifecycle.prevent_destroy is set")
    checks = {
        "aws_rds_cluster": [
            (config.get("deletion_protection") is True, "deletion_protection is on"),
            (config.get("skip_final_snapshot") is not True, "a final snapshot would be kept"),
        ],
        "aws_s3_bucket": [(config.get("force_destroy") is not True, "force_destroy is off")],
        "aws_secretsmanager_secret": [(config.get("recovery_window_in_days") != 0, "recovery window keeps the secret")],
        "aws_kms_key": [(config.get("deletion_window_in_days", 30) > 7, "deletion window longer than 7 days")],
        "aws_lb": [(config.get("enable_deletion_protection") is True, "deletion protection is on")],
    }.get(resource_type, [])
    problems = [msg for broken, msg in checks if broken]
    return bad("; ".join(problems)) if problems else OK


# ----------------------------------------------------------------------------- network exposure

OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def rule_no_open_ingress(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """No security group accepts traffic from the whole internet."""
    if resource_type == "aws_vpc_security_group_ingress_rule":
        cidr = config.get("cidr_ipv4") or config.get("cidr_ipv6")
        if cidr and ipaddress.ip_network(cidr).prefixlen == 0:
            return bad(f"ingress from {cidr}")
        return OK
    if resource_type in ("aws_security_group", "aws_default_security_group"):
        for rule in config.get("ingress", []) or []:
            cidrs = [*(rule.get("cidr_blocks") or []), *(rule.get("ipv6_cidr_blocks") or [])]
            if any(c in OPEN_CIDRS for c in cidrs):
                return bad("inline ingress from the internet")
        return OK
    return NA


def rule_rules_described(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """Every security group rule says why it exists."""
    if resource_type in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        return OK if str(config.get("description", "")).strip() else bad("rule without description")
    return NA


# ----------------------------------------------------------------------------- tags

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


# ----------------------------------------------------------------------------- names

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


# ----------------------------------------------------------------------------- least privilege


def rule_no_wildcard_actions(resource_type: str, logical_id: str, config: Resource, ctx: RuleContext) -> Finding:
    """Role policies allow named actions only: no ``*`` in an Allow statement's actions."""
    if resource_type != "aws_iam_role_policy":
        return NA
    try:
        document = json.loads(config["policy"])
    except (KeyError, TypeError, ValueError):
        return bad("policy is not a JSON document")
    for stmt in document.get("Statement", []):
        actions = stmt.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        wild = [a for a in actions if "*" in a]
        if stmt.get("Effect") == "Allow" and wild:
            return bad(f"statement {stmt.get('Sid', '?')} allows wildcard actions {', '.join(wild)}")
    return OK


RULES: Mapping[str, Rule] = {
    "encrypted-with-cmk": rule_encrypted_with_cmk,
    "destroyable": rule_destroyable,
    "no-open-ingress": rule_no_open_ingress,
    "rules-described": rule_rules_described,
    "tagged": rule_tagged,
    "named-with-suffix": rule_named_with_suffix,
    "no-wildcard-actions": rule_no_wildcard_actions,
}


def resources(synth: Mapping[str, Any]) -> Iterator[tuple[str, str, Resource]]:
    """Every (type, logical id, config) of a synthesized stack."""
    for resource_type, by_id in synth.get("resource", {}).items():
        for logical_id, config in by_id.items():
            yield resource_type, logical_id, config


def evaluate(synth: Mapping[str, Any], ctx: RuleContext) -> list[str]:
    """Every rule over every resource; returns the violations as readable lines."""
    return [
        f"{rule_id}: {resource_type}.{logical_id}: {finding.reason}"
        for resource_type, logical_id, config in resources(synth)
        for rule_id, rule in RULES.items()
        if (finding := rule(resource_type, logical_id, config, ctx)).compliance is Compliance.NON_COMPLIANT
    ]
