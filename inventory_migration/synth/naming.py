"""Physical names: ``{resource-type}-{environment}-{suffix}``, checked against each AWS limit.

Every named resource takes its name from :class:`Namer`; nothing in the constructs types a physical name
by hand. A qualifier (``subnet`` + ``private-app-1``) belongs to the resource-type part, so the
environment and suffix always end the name and a name can be traced to its environment at a glance.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum

_LETTERS_DIGITS_HYPHENS = re.compile(r"^[A-Za-z0-9-]+$")
_LOWER_DNS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_IAM = re.compile(r"^[\w+=,.@-]+$")
_GENERIC = re.compile(r"^[\w .:/=+\-@]+$")


@dataclasses.dataclass(frozen=True)
class NameRule:
    """AWS naming constraints of one resource type."""

    prefix: str
    """The ``{resource-type}`` part."""
    max_length: int
    """Longest name AWS accepts."""
    pattern: re.Pattern[str] = _GENERIC
    """Characters AWS accepts."""
    starts_with_letter: bool = False
    """AWS requires a letter first (RDS, DMS identifiers)."""
    no_double_hyphen: bool = False
    """AWS rejects ``--`` and a trailing hyphen (RDS, DMS identifiers)."""
    forbidden_prefix: str = ""
    """A prefix AWS reserves (security groups may not start with ``sg-``)."""
    planned_qualifiers: tuple[str, ...] = ("",)
    """Qualifiers the stack uses with this type, checked up front by :meth:`Namer.check_planned`."""


class ResourceType(Enum):
    """Every named resource type, with its AWS limit (the value)."""

    VPC = NameRule("vpc", 255)
    SUBNET = NameRule("subnet", 255, planned_qualifiers=("database-4",))
    INTERNET_GATEWAY = NameRule("igw", 255)
    NAT_GATEWAY = NameRule("nat", 255, planned_qualifiers=("4",))
    ELASTIC_IP = NameRule("eip", 255, planned_qualifiers=("nat-4",))
    ROUTE_TABLE = NameRule("rtb", 255, planned_qualifiers=("private-app-4",))
    VPC_ENDPOINT = NameRule("vpce", 255, planned_qualifiers=("s3", "secretsmanager"))
    FLOW_LOG = NameRule("flowlog", 255)
    LOG_GROUP = NameRule("logs", 512, pattern=re.compile(r"^[\w./#-]+$"), planned_qualifiers=("vpc-flow",))
    SECURITY_GROUP = NameRule("secgroup", 255, forbidden_prefix="sg-", planned_qualifiers=("datasync-endpoint",))
    SECURITY_GROUP_RULE = NameRule("sgrule", 255, planned_qualifiers=("endpoint-from-agent-1024-4",))
    CUSTOMER_GATEWAY = NameRule("cgw", 255)
    VPN_GATEWAY = NameRule("vgw", 255)
    VPN_CONNECTION = NameRule("vpn", 255)
    TRANSIT_GATEWAY_ATTACHMENT = NameRule("tgw-attach", 255)
    KMS_KEY = NameRule("kms", 250, pattern=re.compile(r"^[A-Za-z0-9/_-]+$"), planned_qualifiers=("ops",))
    DB_SUBNET_GROUP = NameRule("dbsubnets", 255, pattern=re.compile(r"^[a-z0-9 ._-]+$"))
    AURORA_CLUSTER = NameRule("aurora", 63, pattern=_LETTERS_DIGITS_HYPHENS, starts_with_letter=True, no_double_hyphen=True)
    AURORA_INSTANCE = NameRule(
        "aurora",
        63,
        pattern=_LETTERS_DIGITS_HYPHENS,
        starts_with_letter=True,
        no_double_hyphen=True,
        planned_qualifiers=("16",),
    )
    PARAMETER_GROUP = NameRule(
        "aurora-params", 255, pattern=_LETTERS_DIGITS_HYPHENS, starts_with_letter=True, no_double_hyphen=True
    )
    SECRET = NameRule("secret", 512, pattern=re.compile(r"^[\w/+=.@-]+$"), planned_qualifiers=("dms-reverse-target",))
    IAM_ROLE = NameRule("role", 64, pattern=_IAM, planned_qualifiers=("dms-secrets-access", "ecs-task-execution"))
    IAM_POLICY = NameRule("policy", 128, pattern=_IAM, planned_qualifiers=("dms-secrets-access", "ecs-task-execution"))
    DMS_SUBNET_GROUP = NameRule("dms-subnets", 255, pattern=_LETTERS_DIGITS_HYPHENS)
    DMS_INSTANCE = NameRule("dms-instance", 63, pattern=_LETTERS_DIGITS_HYPHENS, starts_with_letter=True, no_double_hyphen=True)
    DMS_ENDPOINT = NameRule(
        "dms-endpoint",
        255,
        pattern=_LETTERS_DIGITS_HYPHENS,
        starts_with_letter=True,
        no_double_hyphen=True,
        planned_qualifiers=("reverse-source", "reverse-target"),
    )
    DMS_TASK = NameRule(
        "dms-task",
        255,
        pattern=_LETTERS_DIGITS_HYPHENS,
        starts_with_letter=True,
        no_double_hyphen=True,
        planned_qualifiers=("full-load-cdc", "reverse-cdc"),
    )
    DMS_CERTIFICATE = NameRule(
        "dms-cert",
        255,
        pattern=_LETTERS_DIGITS_HYPHENS,
        starts_with_letter=True,
        no_double_hyphen=True,
        planned_qualifiers=("reverse-source",),
    )
    EVENT_SUBSCRIPTION = NameRule(
        "events",
        255,
        pattern=_LETTERS_DIGITS_HYPHENS,
        starts_with_letter=True,
        no_double_hyphen=True,
        planned_qualifiers=("dms-reverse-task",),
    )
    S3_BUCKET = NameRule("s3", 63, pattern=_LOWER_DNS, planned_qualifiers=("access-logs",))
    SNS_TOPIC = NameRule("sns", 256, pattern=re.compile(r"^[\w-]+$"), planned_qualifiers=("alarms",))
    ALARM = NameRule("alarm", 255, planned_qualifiers=("datasync-verification-errors",))
    DASHBOARD = NameRule("dashboard", 255, pattern=re.compile(r"^[\w-]+$"), planned_qualifiers=("migration",))
    COMPOSITE_ALARM = NameRule("alarm", 255, planned_qualifiers=("cutover-blocked",))
    LOAD_BALANCER = NameRule("alb", 32, pattern=_LETTERS_DIGITS_HYPHENS, no_double_hyphen=True, planned_qualifiers=("app",))
    """Application Load Balancer names: 32 characters at most."""
    TARGET_GROUP = NameRule("tg", 32, pattern=_LETTERS_DIGITS_HYPHENS, no_double_hyphen=True, planned_qualifiers=("green",))
    """Target group names: 32 characters at most."""
    LISTENER = NameRule("listener", 255, planned_qualifiers=("https",))
    LISTENER_RULE = NameRule("rule", 255, planned_qualifiers=("green-testers",))
    WEB_ACL = NameRule("waf", 128, pattern=re.compile(r"^[\w-]+$"), planned_qualifiers=("app",))
    WAF_LOG_GROUP = NameRule("aws-waf-logs", 512, pattern=re.compile(r"^[\w./#-]+$"), planned_qualifiers=("app",))
    """WAF only logs to CloudWatch log groups whose name starts with ``aws-waf-logs-``."""
    DATASYNC_TASK = NameRule("datasync-task", 256, pattern=re.compile(r"^[\w .+=:/@-]+$"), planned_qualifiers=("images",))
    DATASYNC_LOCATION = NameRule("datasync-location", 256, planned_qualifiers=("on-prem",))
    DATASYNC_AGENT = NameRule("datasync-agent", 256, pattern=re.compile(r"^[\w .+=:/@-]+$"), planned_qualifiers=("images",))
    EVENT_RULE = NameRule("events-rule", 64, pattern=re.compile(r"^[\.\-_A-Za-z0-9]+$"), planned_qualifiers=("datasync-failed",))
    ECS_CLUSTER = NameRule("ecs", 255, pattern=re.compile(r"^[A-Za-z0-9_-]+$"), planned_qualifiers=("app",))
    ECS_SERVICE = NameRule("ecs-service", 255, pattern=re.compile(r"^[A-Za-z0-9_-]+$"), planned_qualifiers=("app",))
    TASK_DEFINITION = NameRule("taskdef", 255, pattern=re.compile(r"^[A-Za-z0-9_-]+$"), planned_qualifiers=("app",))
    RESOLVER_ENDPOINT = NameRule("resolver", 64, pattern=re.compile(r"^[\w -]+$"), planned_qualifiers=("on-prem",))
    RESOLVER_RULE = NameRule("resolver-rule", 64, pattern=re.compile(r"^[\w -]+$"), planned_qualifiers=("on-prem-1",))


DMS_ACCOUNT_ROLES = {
    "dms-vpc-role": "AmazonDMSVPCManagementRole",
    "dms-cloudwatch-logs-role": "AmazonDMSCloudWatchLogsRole",
}
"""Roles DMS looks up by these exact names, one per account, and the managed policy of each."""
AWS_MANDATED_NAMES = frozenset(DMS_ACCOUNT_ROLES)
"""Names AWS fixes, exempt from the naming convention."""


class NameTooLongError(ValueError):
    """A derived name breaks its AWS limit."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Namer:
    """Derives and checks physical names for one environment."""

    environment: str
    """Environment name, e.g. ``dev``."""
    suffix: str
    """Environment suffix, the last part of every name."""

    @property
    def tail(self) -> str:
        """What ends every name: ``-{environment}-{suffix}``."""
        return f"-{self.environment}-{self.suffix}"

    def compose(self, resource_type: ResourceType, qualifier: str = "") -> str:
        rule = resource_type.value
        head = f"{rule.prefix}-{qualifier}" if qualifier else rule.prefix
        name = f"{head}{self.tail}"
        return name.lower() if rule.pattern in (_LOWER_DNS,) else name

    def problems(self, resource_type: ResourceType, qualifier: str = "") -> list[str]:
        """Why the derived name would be rejected by AWS (empty when it is fine)."""
        rule = resource_type.value
        name = self.compose(resource_type, qualifier)
        checks = [
            (len(name) > rule.max_length, f"is {len(name)} characters; AWS allows {rule.max_length}"),
            (rule.pattern.fullmatch(name) is None, f"has characters AWS rejects (allowed: {rule.pattern.pattern})"),
            (rule.starts_with_letter and not name[:1].isalpha(), "must start with a letter"),
            (rule.no_double_hyphen and ("--" in name or name.endswith("-")), "must not contain '--' or end with '-'"),
            (
                bool(rule.forbidden_prefix) and name.startswith(rule.forbidden_prefix),
                f"must not start with {rule.forbidden_prefix!r}",
            ),
        ]
        return [f"{resource_type.name} name {name!r} {msg}" for bad, msg in checks if bad]

    def name(self, resource_type: ResourceType, qualifier: str = "") -> str:
        """The physical name; raises :class:`NameTooLongError` if AWS would reject it."""
        problems = self.problems(resource_type, qualifier)
        if problems:
            raise NameTooLongError("; ".join(problems))
        return self.compose(resource_type, qualifier)

    def check_planned(self) -> list[str]:
        """Problems of every name the stack plans to derive, so config loading reports them all at once."""
        return [
            problem
            for resource_type in ResourceType
            for qualifier in resource_type.value.planned_qualifiers
            for problem in self.problems(resource_type, qualifier)
        ]
