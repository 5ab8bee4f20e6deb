"""The VPC: public, private (app, DMS) and database subnets across the AZs; NAT; an S3 gateway endpoint; flow logs to a
CMK-encrypted log group; and the path to on-prem (site-to-site VPN or an existing Transit Gateway).

Routes to on-prem, by tier (the flow matrix in ``reachability/flows.py`` proves each): the DMS tier reaches every
on-prem network (DMS to the source, the DataSync endpoint's replies to the agent); the app tier none (its tables have
the NAT gateway's default route only: green talks to nothing on-prem); the public tier reaches on-prem because the
load balancer there forwards to blue, the on-prem servers; the database tier only the operator's network, the one
thing outside the VPC that may reach Aurora — no other route leaves it."""

from __future__ import annotations

import dataclasses
import ipaddress
from enum import Enum
from typing import Any

from inventory_migration.config import NatGatewayMode, NetworkConfig, OnPremConnectivity
from inventory_migration.synth.cdk import Construct, Fn, aws
from inventory_migration.synth.iam import (
    FLOW_LOG_DELIVERY_ACTIONS,
    FLOW_LOG_DESCRIBE_ACTIONS,
    policy_json,
    service_assume_role_policy,
    statement,
)
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.tagging import name_tag

SUBNET_SLOTS = 16
"""The VPC range is cut into this many equal subnets (4 tiers x up to 4 AZs)."""


class SubnetTier(Enum):
    """Subnet tiers; the value is the name qualifier. Order fixes each tier's CIDR slots."""

    PUBLIC = "public"
    """NAT gateways (and the ALB later); a route to the internet gateway."""
    APP = "private-app"
    """ECS Fargate tasks; egress through NAT, routes to on-prem."""
    DMS = "private-dms"
    """DMS replication instance; routes to on-prem."""
    DATABASE = "database"
    """Aurora; no route out of the VPC but back to the operator's network on-prem."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkWiring:
    """What :class:`Network` takes from the stack besides its settings (``[network]``, ``NetworkConfig``)."""

    namer: Namer
    """Derives resource names."""
    region: str
    """Region, for the S3 endpoint's service name."""
    flow_log_key_arn: str
    """CMK that encrypts the flow log group."""


def subnet_cidrs(vpc_cidr: str, tier: SubnetTier, az_count: int) -> list[str]:
    """CIDRs of one tier: tier ``t`` owns slots ``4t .. 4t+3`` of the VPC cut into 16."""
    network = ipaddress.IPv4Network(vpc_cidr)
    slots = list(network.subnets(new_prefix=network.prefixlen + 4))
    start = list(SubnetTier).index(tier) * 4
    return [str(s) for s in slots[start : start + az_count]]


class Network(Construct):
    """VPC, subnets, routing, NAT, S3 endpoint, flow logs and the on-prem path."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: NetworkConfig, wiring: NetworkWiring) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.wiring = settings, wiring
        n = wiring.namer
        self.vpc = aws.vpc.Vpc(
            self,
            "vpc",
            cidr_block=settings.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=name_tag(n.name(ResourceType.VPC)),
        )
        # The default security group allows all traffic inside it; strip it of every rule.
        aws.default_security_group.DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id)
        self.azs = aws.data_aws_availability_zones.DataAwsAvailabilityZones(
            self,
            "azs",
            state="available",
            filter=[
                aws.data_aws_availability_zones.DataAwsAvailabilityZonesFilter(
                    name="opt-in-status", values=["opt-in-not-required"]
                )
            ],
        )
        self.availability_zones = [Fn.element(self.azs.names, i) for i in range(settings.az_count)]

        self.subnets: dict[SubnetTier, list[aws.subnet.Subnet]] = {}
        for tier in SubnetTier:
            self.subnets[tier] = [
                aws.subnet.Subnet(
                    self,
                    f"{tier.value}-{i + 1}",
                    vpc_id=self.vpc.id,
                    cidr_block=cidr,
                    availability_zone=self.availability_zones[i],
                    map_public_ip_on_launch=False,
                    tags=name_tag(n.name(ResourceType.SUBNET, f"{tier.value}-{i + 1}"), {"Tier": tier.value}),
                )
                for i, cidr in enumerate(subnet_cidrs(settings.vpc_cidr, tier, settings.az_count))
            ]

        self.igw = aws.internet_gateway.InternetGateway(
            self, "igw", vpc_id=self.vpc.id, tags=name_tag(n.name(ResourceType.INTERNET_GATEWAY))
        )
        self.public_route_table = public_rt = aws.route_table.RouteTable(
            self, "public-rt", vpc_id=self.vpc.id, tags=name_tag(n.name(ResourceType.ROUTE_TABLE, "public"))
        )
        aws.route.Route(
            self, "public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=self.igw.id
        )
        self._associate(public_rt, SubnetTier.PUBLIC, range(settings.az_count))
        azs = range(settings.az_count)

        self.nat_gateways = self._nat_gateways()
        # The DMS tier's tables (private-rt-*) route on to on-prem; the app tier's (app-rt-*) never do: green talks to
        # nothing on-prem, whatever its security group allows (an image pulled from the internet opens 443 widely).
        self.private_route_tables = [self._private_table(f"private-rt-{i + 1}", f"private-{i + 1}", i) for i in azs]
        self.app_route_tables = [self._private_table(f"app-rt-{i + 1}", f"{SubnetTier.APP.value}-{i + 1}", i) for i in azs]
        for i in azs:
            self._associate(self.private_route_tables[i], SubnetTier.DMS, range(i, i + 1))
            self._associate(self.app_route_tables[i], SubnetTier.APP, range(i, i + 1))
        self.database_route_table = aws.route_table.RouteTable(
            self, "database-rt", vpc_id=self.vpc.id, tags=name_tag(n.name(ResourceType.ROUTE_TABLE, "database"))
        )
        self._associate(self.database_route_table, SubnetTier.DATABASE, range(settings.az_count))

        self.s3_endpoint = aws.vpc_endpoint.VpcEndpoint(
            self,
            "s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{wiring.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[
                public_rt.id,
                *(rt.id for rt in self.private_route_tables + self.app_route_tables),
                self.database_route_table.id,
            ],
            tags=name_tag(n.name(ResourceType.VPC_ENDPOINT, "s3")),
        )
        self._flow_logs()
        self._on_prem_path()

    @property
    def app_subnet_ids(self) -> list[str]:
        return [s.id for s in self.subnets[SubnetTier.APP]]

    @property
    def dms_subnet_ids(self) -> list[str]:
        return [s.id for s in self.subnets[SubnetTier.DMS]]

    @property
    def database_subnet_ids(self) -> list[str]:
        return [s.id for s in self.subnets[SubnetTier.DATABASE]]

    def _private_table(self, construct_id: str, qualifier: str, az: int) -> aws.route_table.RouteTable:
        """A private tier's table in one AZ: its default route through that AZ's NAT gateway (when there is one)."""
        rt = aws.route_table.RouteTable(
            self,
            construct_id,
            vpc_id=self.vpc.id,
            tags=name_tag(self.wiring.namer.name(ResourceType.ROUTE_TABLE, qualifier)),
        )
        if self.nat_gateways:
            aws.route.Route(
                self,
                construct_id.replace("-rt-", "-default-"),
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=self.nat_gateways[az % len(self.nat_gateways)].id,
            )
        return rt

    def _associate(self, rt: aws.route_table.RouteTable, tier: SubnetTier, indexes: range) -> None:
        for i in indexes:
            aws.route_table_association.RouteTableAssociation(
                self, f"{tier.value}-{i + 1}-rta", route_table_id=rt.id, subnet_id=self.subnets[tier][i].id
            )

    def _nat_gateways(self) -> list[aws.nat_gateway.NatGateway]:
        count = {NatGatewayMode.NONE: 0, NatGatewayMode.SINGLE: 1, NatGatewayMode.PER_AZ: self.settings.az_count}[
            self.settings.nat_gateways
        ]
        gateways = []
        for i in range(count):
            eip = aws.eip.Eip(
                self,
                f"nat-eip-{i + 1}",
                domain="vpc",
                tags=name_tag(self.wiring.namer.name(ResourceType.ELASTIC_IP, f"nat-{i + 1}")),
            )
            gateways.append(
                aws.nat_gateway.NatGateway(
                    self,
                    f"nat-{i + 1}",
                    allocation_id=eip.id,
                    subnet_id=self.subnets[SubnetTier.PUBLIC][i].id,
                    tags=name_tag(self.wiring.namer.name(ResourceType.NAT_GATEWAY, str(i + 1))),
                    depends_on=[self.igw],
                )
            )
        return gateways

    def _flow_logs(self) -> None:
        s, w, n = self.settings, self.wiring, self.wiring.namer
        self.flow_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "flow-log-group",
            name=n.name(ResourceType.LOG_GROUP, "vpc-flow"),
            kms_key_id=w.flow_log_key_arn,
            retention_in_days=s.flow_log_retention_days,
            tags=name_tag(n.name(ResourceType.LOG_GROUP, "vpc-flow")),
        )
        role = aws.iam_role.IamRole(
            self,
            "flow-log-role",
            name=n.name(ResourceType.IAM_ROLE, "vpc-flow-logs"),
            assume_role_policy=service_assume_role_policy(self, "vpc-flow-logs.amazonaws.com"),
            tags=name_tag(n.name(ResourceType.IAM_ROLE, "vpc-flow-logs")),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "flow-log-delivery",
            name=n.name(ResourceType.IAM_POLICY, "vpc-flow-logs"),
            role=role.id,
            policy=policy_json(
                self,
                statement(
                    "DeliverFlowLogs",
                    FLOW_LOG_DELIVERY_ACTIONS,
                    [self.flow_log_group.arn, f"{self.flow_log_group.arn}:*"],
                ),
                statement("ListLogGroups", FLOW_LOG_DESCRIBE_ACTIONS, "*"),
            ),
        )
        self.flow_log = aws.flow_log.FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=name_tag(n.name(ResourceType.FLOW_LOG)),
        )

    def _on_prem_path(self) -> None:
        s, n = self.settings, self.wiring.namer
        gateway: dict[str, Any] = {}
        if s.connectivity is OnPremConnectivity.VPN:
            cgw = aws.customer_gateway.CustomerGateway(
                self,
                "customer-gateway",
                bgp_asn=str(s.customer_gateway_bgp_asn),
                ip_address=s.customer_gateway_ip,
                type="ipsec.1",
                tags=name_tag(n.name(ResourceType.CUSTOMER_GATEWAY)),
            )
            self.vpn_gateway = aws.vpn_gateway.VpnGateway(
                self, "vpn-gateway", vpc_id=self.vpc.id, tags=name_tag(n.name(ResourceType.VPN_GATEWAY))
            )
            self.vpn_connection = aws.vpn_connection.VpnConnection(
                self,
                "vpn",
                customer_gateway_id=cgw.id,
                vpn_gateway_id=self.vpn_gateway.id,
                type="ipsec.1",
                static_routes_only=True,
                tags=name_tag(n.name(ResourceType.VPN_CONNECTION)),
            )
            for j, cidr in enumerate(s.on_prem_cidrs):
                aws.vpn_connection_route.VpnConnectionRoute(
                    self, f"vpn-route-{j + 1}", destination_cidr_block=cidr, vpn_connection_id=self.vpn_connection.id
                )
            gateway = {"gateway_id": self.vpn_gateway.id}
        else:
            self.tgw_attachment = aws.ec2_transit_gateway_vpc_attachment.Ec2TransitGatewayVpcAttachment(
                self,
                "tgw-attachment",
                transit_gateway_id=s.transit_gateway_id,
                vpc_id=self.vpc.id,
                subnet_ids=self.dms_subnet_ids,
                tags=name_tag(n.name(ResourceType.TRANSIT_GATEWAY_ATTACHMENT)),
            )
            # A route naming the gateway is refused until the VPC's attachment exists ("InvalidTransitGatewayID.NotFound"
            # / no attachment in the VPC): the gateway id is configuration, so only depends_on orders them.
            gateway = {"transit_gateway_id": s.transit_gateway_id, "depends_on": [self.tgw_attachment]}
        for j, cidr in enumerate(s.on_prem_cidrs):
            for i, rt in enumerate(self.private_route_tables):
                aws.route.Route(self, f"on-prem-{j + 1}-rt-{i + 1}", route_table_id=rt.id, destination_cidr_block=cidr, **gateway)
            # The load balancer in the public subnets forwards to blue, the on-prem servers (ip targets).
            aws.route.Route(
                self,
                f"on-prem-{j + 1}-rt-public",
                route_table_id=self.public_route_table.id,
                destination_cidr_block=cidr,
                **gateway,
            )
        for k, cidr in enumerate(s.operator_cidrs):
            # Aurora answers the operator's migrationctl; nothing else on-prem is routed from the database tier.
            aws.route.Route(
                self,
                f"operator-{k + 1}-rt-database",
                route_table_id=self.database_route_table.id,
                destination_cidr_block=cidr,
                **gateway,
            )
