"""Security groups for DMS, Aurora, the ECS Fargate app, its load balancer and the VPC's interface endpoints.

Rules are separate resources (``aws_vpc_security_group_*_rule``), each with a description. Least egress: nothing
accepts traffic from 0.0.0.0/0, and nothing talks to it but the load balancer's clients' answers (and the app's image
pull when the image is outside the account's ECR). Aurora accepts only the DMS and app groups and the operator's
network on its port. DMS talks only to the source server's addresses on its port, to Aurora's port, and to the
interface endpoints' group over HTTPS (its endpoints' secrets). The app talks to Aurora, to the endpoints' group and to
S3's prefix list over HTTPS. The load balancer accepts 80/443 from the configured client networks and talks only to
the app group and to the on-prem (blue) servers' port. The endpoints' group admits HTTPS from the DMS and app groups.
``reachability/flows.py`` is the matrix these rules carry, proven on the synthesized and the applied stack.
"""

from __future__ import annotations

import dataclasses
from enum import Enum

from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.synth.cdk import Construct, aws
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.tagging import name_tag

HTTPS_PORT = 443
HTTP_PORT = 80


class Direction(Enum):
    INGRESS = "ingress"
    EGRESS = "egress"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SecurityGroupsWiring:
    """What :class:`SecurityGroups` takes from the stack: references and the values of other sections."""

    namer: Namer
    """Derives group names."""
    vpc_id: str
    """VPC of the groups."""
    source_addresses: tuple[str, ...]
    """The source server's IPv4 addresses (``source.addresses``): all DMS reaches on-prem."""
    source_port: int
    """Source PostgreSQL port."""
    aurora_port: int
    """Aurora port."""
    app_port: int
    """Port the app containers listen on (the green targets: ``app.container_port``)."""
    alb_ingress_cidrs: tuple[str, ...]
    """Client networks allowed to reach the load balancer on 80 and 443 (``app.ingress_cidrs``)."""
    blue_targets: tuple[str, ...]
    """On-prem application servers (IPv4) the load balancer forwards blue traffic to in this phase (none: no blue)."""
    blue_port: int
    """Port of the on-prem application servers (``app.blue_port``)."""
    replication: bool
    """The phase's: create the DMS group and its rules (false once DMS is decommissioned)."""
    operator_cidrs: tuple[str, ...]
    """The on-prem admin networks where ``migrationctl`` runs; Aurora accepts its port from them."""
    s3_prefix_list_id: str
    """The S3 gateway endpoint's prefix list: the app reads and writes the images, and ECR's layers come from S3."""
    external_image_registry: str = ""
    """The registry of an app image outside the account's ECR (``public.ecr.aws``): the app may reach the internet on
    443 to pull it. Default: none, the image is in the account's ECR (pulled through the endpoints)."""

    def __post_init__(self) -> None:
        ports = (
            ("source_port", self.source_port),
            ("aurora_port", self.aurora_port),
            ("app_port", self.app_port),
            ("blue_port", self.blue_port),
        )
        check_wiring(
            self,
            *((not 1 <= value <= 65535, f"{name} = {value!r}: must be 1 to 65535") for name, value in ports),
            *(
                (c.endswith("/0"), f"alb_ingress_cidrs: {c} opens the load balancer to the internet")
                for c in self.alb_ingress_cidrs
            ),
        )


class SecurityGroups(Construct):
    """The DMS, Aurora and app security groups and their rules."""

    def __init__(self, scope: Construct, construct_id: str, *, wiring: SecurityGroupsWiring) -> None:
        super().__init__(scope, construct_id)
        self.wiring = p = wiring
        self.dms = self._group("dms", "AWS DMS replication instance") if p.replication else None
        self.aurora = self._group("aurora", "Aurora PostgreSQL cluster")
        self.app = self._group("app", "ECS Fargate inventory app tasks")
        self.alb = self._group("alb", "Application load balancer of the blue-green cutover")
        self.endpoints = self._group("endpoints", "Interface VPC endpoints of AWS services")
        for client, group in (("dms", self.dms), ("app", self.app)):
            if group is not None:
                self._rule(
                    Direction.INGRESS,
                    f"endpoints-from-{client}",
                    self.endpoints,
                    HTTPS_PORT,
                    f"The interface endpoints accept HTTPS from the {client} security group",
                    peer=group,
                )
        if self.dms is not None:
            self._dms_rules(self.dms)
        self._rule(
            Direction.INGRESS,
            "aurora-from-app",
            self.aurora,
            p.aurora_port,
            "Aurora accepts PostgreSQL connections from the app security group",
            peer=self.app,
        )
        for i, cidr in enumerate(p.operator_cidrs):
            self._rule(
                Direction.INGRESS,
                f"aurora-from-operator-{i + 1}",
                self.aurora,
                p.aurora_port,
                f"Aurora accepts migrationctl from the operator's network {cidr} (through the VPN)",
                cidr=cidr,
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
            "app-to-endpoints",
            self.app,
            HTTPS_PORT,
            "App tasks reach Secrets Manager, CloudWatch Logs and ECR through their interface endpoints",
            peer=self.endpoints,
        )
        self._rule(
            Direction.EGRESS,
            "app-to-s3",
            self.app,
            HTTPS_PORT,
            "App tasks reach S3 (the images, ECR's layers) through the gateway endpoint",
            prefix_list=p.s3_prefix_list_id,
        )
        if p.external_image_registry:
            self._rule(
                Direction.EGRESS,
                "app-to-registry",
                self.app,
                HTTPS_PORT,
                f"App tasks pull their image from {p.external_image_registry}, outside the account's ECR (internet)",
                cidr="0.0.0.0/0",
            )
        self._rule(
            Direction.INGRESS, "app-from-alb", self.app, p.app_port, "App tasks accept the load balancer only", peer=self.alb
        )
        for i, cidr in enumerate(p.alb_ingress_cidrs):
            for name, port in (("https", HTTPS_PORT), ("http", HTTP_PORT)):
                self._rule(
                    Direction.INGRESS,
                    f"alb-from-{name}-{i + 1}",
                    self.alb,
                    port,
                    f"Clients in {cidr} reach the load balancer over {name.upper()}"
                    + (" (redirected to HTTPS)" if port == HTTP_PORT else ""),
                    cidr=cidr,
                )
        self._rule(
            Direction.EGRESS, "alb-to-app", self.alb, p.app_port, "The load balancer forwards to green (ECS)", peer=self.app
        )
        for i, target in enumerate(p.blue_targets):
            self._rule(
                Direction.EGRESS,
                f"alb-to-blue-{i + 1}",
                self.alb,
                p.blue_port,
                f"The load balancer forwards to blue, the on-prem server {target}",
                cidr=f"{target}/32",
            )

    def _dms_rules(self, dms: aws.security_group.SecurityGroup) -> None:
        p = self.wiring
        for i, address in enumerate(p.source_addresses):
            self._rule(
                Direction.EGRESS,
                f"dms-to-source-{i + 1}",
                dms,
                p.source_port,
                f"DMS reads (and, on the way back, writes) the on-prem PostgreSQL server {address}",
                cidr=f"{address}/32",
            )
        self._rule(
            Direction.EGRESS, "dms-to-aurora", dms, p.aurora_port, "DMS writes to (and reads back from) Aurora", peer=self.aurora
        )
        self._rule(
            Direction.EGRESS,
            "dms-to-endpoints",
            dms,
            HTTPS_PORT,
            "DMS reads its endpoints' secrets from Secrets Manager through its interface endpoint",
            peer=self.endpoints,
        )
        self._rule(
            Direction.INGRESS,
            "aurora-from-dms",
            self.aurora,
            p.aurora_port,
            "Aurora accepts PostgreSQL connections from the dms security group",
            peer=dms,
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
        prefix_list: str | None = None,
    ) -> None:
        """One TCP rule on one port, to/from a CIDR, another group or a prefix list; the id is also the Name tag's
        qualifier."""
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
            prefix_list_id=prefix_list,
        )

    def _rule_tags(self, qualifier: str) -> dict[str, str]:
        return name_tag(self.wiring.namer.name(ResourceType.SECURITY_GROUP_RULE, qualifier))

    def _group(self, role: str, purpose: str) -> aws.security_group.SecurityGroup:
        p = self.wiring
        name = p.namer.name(ResourceType.SECURITY_GROUP, role)
        return aws.security_group.SecurityGroup(
            self, role, name=name, description=f"{purpose} ({name})", vpc_id=p.vpc_id, tags=name_tag(name)
        )
