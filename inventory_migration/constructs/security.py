"""Security groups for DMS, Aurora and the ECS Fargate app.

Rules are separate resources (``aws_vpc_security_group_*_rule``), each with a description. Nothing
accepts traffic from 0.0.0.0/0: Aurora only from the DMS and app groups on its port; DMS talks only to
the source database port on-prem and to Aurora's port.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

from inventory_migration.cdk import Construct, aws
from inventory_migration.naming import Namer, ResourceType
from inventory_migration.tagging import name_tag

HTTPS_PORT = 443


class Direction(Enum):
    INGRESS = "ingress"
    EGRESS = "egress"


DEFAULT_APP_PORT = 8080


@dataclasses.dataclass(frozen=True, kw_only=True)
class SecurityGroupsProps:
    """Props of :class:`SecurityGroups`."""

    namer: Namer
    """Derives group names."""
    vpc_id: str
    """VPC of the groups."""
    on_prem_cidrs: tuple[str, ...]
    """On-prem networks where the source database lives."""
    source_port: int
    """Source PostgreSQL port."""
    aurora_port: int
    """Aurora port."""
    app_port: int = DEFAULT_APP_PORT
    """Port the app containers listen on (for the load balancer of the cutover). Default: 8080."""

    def __post_init__(self) -> None:
        bad = [
            f"{name} = {value!r}: must be 1 to 65535"
            for name, value in (("source_port", self.source_port), ("aurora_port", self.aurora_port), ("app_port", self.app_port))
            if not 1 <= value <= 65535
        ]
        if bad:
            raise ValueError("; ".join(bad))


class SecurityGroups(Construct):
    """The DMS, Aurora and app security groups and their rules."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecurityGroupsProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self.dms = self._group("dms", "AWS DMS replication instance")
        self.aurora = self._group("aurora", "Aurora PostgreSQL cluster")
        self.app = self._group("app", "ECS Fargate inventory app tasks")
        p = props
        for i, cidr in enumerate(p.on_prem_cidrs):
            self._rule(
                Direction.EGRESS,
                f"dms-to-source-{i + 1}",
                self.dms,
                p.source_port,
                f"DMS reads the on-prem PostgreSQL source in {cidr}",
                cidr=cidr,
            )
        self._rule(
            Direction.EGRESS, "dms-to-aurora", self.dms, p.aurora_port, "DMS writes to the Aurora cluster", peer=self.aurora
        )
        for source, group in (("dms", self.dms), ("app", self.app)):
            self._rule(
                Direction.INGRESS,
                f"aurora-from-{source}",
                self.aurora,
                p.aurora_port,
                f"Aurora accepts PostgreSQL connections from the {source} security group",
                peer=group,
            )
        self._rule(
            Direction.EGRESS,
            "app-to-aurora",
            self.app,
            p.aurora_port,
            "App tasks connect to the Aurora cluster",
            peer=self.aurora,
        )
        self._rule(
            Direction.EGRESS,
            "app-to-https",
            self.app,
            HTTPS_PORT,
            "App tasks reach AWS APIs and the image registry over HTTPS",
            cidr="0.0.0.0/0",
        )

    def _rule(
        self,
        direction: Direction,
        rule_id: str,
        group: aws.security_group.SecurityGroup,
        port: int,
        description: str,
        *,
        cidr: str | None = None,
        peer: aws.security_group.SecurityGroup | None = None,
    ) -> None:
        """One TCP rule on one port, to/from a CIDR or another group; the id is also the Name tag's qualifier."""
        rule_type = (
            aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule
            if direction is Direction.INGRESS
            else aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule
        )
        rule_type(
            self,
            rule_id,
            security_group_id=group.id,
            description=description,
            tags=self._rule_tags(rule_id),
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=peer.id if peer is not None else None,
        )

    def _rule_tags(self, qualifier: str) -> dict[str, str]:
        return name_tag(self._props.namer.name(ResourceType.SECURITY_GROUP_RULE, qualifier))

    def _group(self, role: str, purpose: str) -> aws.security_group.SecurityGroup:
        p = self._props
        name = p.namer.name(ResourceType.SECURITY_GROUP, role)
        return aws.security_group.SecurityGroup(
            self, role, name=name, description=f"{purpose} ({name})", vpc_id=p.vpc_id, tags=name_tag(name)
        )
