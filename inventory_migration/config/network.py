"""``[network]``: the VPC and its path to on-prem (feeds ``constructs/network.py``)."""

from __future__ import annotations

import dataclasses
import re
from enum import Enum

from inventory_migration.config.base import Check, Problem, Validated, cidr, cidr_checks, ipv4, is_public_ipv4, retention_check


class OnPremConnectivity(Enum):
    """How the VPC reaches the on-prem network."""

    VPN = "vpn"
    """A site-to-site VPN: customer gateway, virtual private gateway, static routes."""
    TRANSIT_GATEWAY = "transit-gateway"
    """Attach the VPC to an existing Transit Gateway that already routes to on-prem."""


class NatGatewayMode(Enum):
    """How many NAT gateways the VPC gets."""

    SINGLE = "single"
    """One NAT gateway in the first AZ (cheap; an AZ outage cuts private egress)."""
    PER_AZ = "per-az"
    """One NAT gateway per AZ (highly available)."""
    NONE = "none"
    """No NAT gateway: private subnets reach AWS only through VPC endpoints."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig(Validated):
    """The VPC and its path to on-prem."""

    vpc_cidr: str = "10.80.0.0/16"
    """VPC IPv4 range, /16 to /22; split into 16 equal subnets. Default: ``10.80.0.0/16``."""
    az_count: int = 3
    """Availability zones used (2 to 4). Default: 3."""
    nat_gateways: NatGatewayMode = NatGatewayMode.SINGLE
    """NAT gateway layout. Default: one NAT gateway (dev); prod sets ``per-az``."""
    on_prem_cidrs: tuple[str, ...] = ("192.168.0.0/16",)
    """On-prem networks reached through the VPN or Transit Gateway. Default: ``192.168.0.0/16``."""
    connectivity: OnPremConnectivity = OnPremConnectivity.VPN
    """Path to on-prem. Default: site-to-site VPN."""
    customer_gateway_ip: str = "198.51.100.10"
    """Public IPv4 of the on-prem VPN device (VPN only). Default: a documentation address to replace."""
    customer_gateway_bgp_asn: int = 65000
    """BGP ASN of the on-prem VPN device (VPN only). Default: 65000."""
    transit_gateway_id: str = ""
    """Existing Transit Gateway id, ``tgw-…`` (Transit Gateway only). Default: none."""
    flow_log_retention_days: int = 365
    """Days VPC flow logs are kept (a CloudWatch Logs retention value). Default: 365."""
    operator_cidrs: tuple[str, ...] = ("192.168.100.0/24",)
    """The on-prem admin network where ``migrationctl`` runs on the migration night (inside ``on_prem_cidrs``): the only
    addresses outside the VPC that reach Aurora, through the VPN (``docs/network.md``). Default: ``192.168.100.0/24``."""
    on_prem_dns_servers: tuple[str, ...] = ()
    """On-prem DNS servers (IPv4) that resolve ``on_prem_domains``; with both set, a Route 53 Resolver outbound
    endpoint forwards those domains to them, so DMS and the app resolve on-prem names. Default: none (no resolver)."""
    on_prem_domains: tuple[str, ...] = ()
    """Domains forwarded to ``on_prem_dns_servers`` (``corp.internal``). Default: none."""

    def _checks(self) -> list[Check]:
        vpc = cidr(self.vpc_cidr)
        checks: list[Check] = [
            (vpc is None, Problem("vpc_cidr", self.vpc_cidr, "must be an IPv4 network in CIDR notation")),
            (
                vpc is not None and not 16 <= vpc.prefixlen <= 22,
                Problem("vpc_cidr", self.vpc_cidr, "prefix length must be between /16 and /22"),
            ),
            (not 2 <= self.az_count <= 4, Problem("az_count", self.az_count, "must be 2, 3 or 4")),
            (not self.on_prem_cidrs, Problem("on_prem_cidrs", self.on_prem_cidrs, "must list at least one network")),
            retention_check("flow_log_retention_days", self.flow_log_retention_days),
        ]
        checks += cidr_checks("on_prem_cidrs", self.on_prem_cidrs)
        for value in self.on_prem_cidrs:
            net = cidr(value)
            checks.append(
                (
                    net is not None and vpc is not None and net.overlaps(vpc),
                    Problem(
                        "on_prem_cidrs", value, f"overlaps vpc_cidr {self.vpc_cidr}; on-prem and VPC ranges must be disjoint"
                    ),
                )
            )
        on_prem = [n for n in (cidr(v) for v in self.on_prem_cidrs) if n is not None]
        checks += cidr_checks("operator_cidrs", self.operator_cidrs)
        for value in self.operator_cidrs:
            net = cidr(value)
            checks.append(
                (
                    net is not None and not any(net.subnet_of(o) for o in on_prem),
                    Problem(
                        "operator_cidrs",
                        value,
                        "must lie inside one of on_prem_cidrs (the operator reaches Aurora through the VPN)",
                    ),
                )
            )
        for value in self.on_prem_dns_servers:
            address = ipv4(value)
            checks.append(
                (
                    address is None or not any(address in o for o in on_prem),
                    Problem("on_prem_dns_servers", value, "must be an IPv4 address inside one of on_prem_cidrs"),
                )
            )
        for value in self.on_prem_domains:
            checks.append(
                (
                    re.fullmatch(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", value)
                    is None,
                    Problem("on_prem_domains", value, "must be a DNS domain name in lower case (corp.internal)"),
                )
            )
        checks.append(
            (
                bool(self.on_prem_dns_servers) != bool(self.on_prem_domains),
                Problem("on_prem_domains", self.on_prem_domains, "set both on_prem_domains and on_prem_dns_servers, or neither"),
            )
        )
        if self.connectivity is OnPremConnectivity.VPN:
            checks.append(
                (
                    not is_public_ipv4(self.customer_gateway_ip),
                    Problem(
                        "customer_gateway_ip",
                        self.customer_gateway_ip,
                        "must be the public IPv4 address of the on-prem VPN device",
                    ),
                )
            )
            checks.append(
                (
                    not 1 <= self.customer_gateway_bgp_asn <= 4294967294,
                    Problem("customer_gateway_bgp_asn", self.customer_gateway_bgp_asn, "must be 1 to 4294967294"),
                )
            )
        else:
            checks.append(
                (
                    re.fullmatch(r"tgw-[0-9a-f]{8,17}", self.transit_gateway_id) is None,
                    Problem(
                        "transit_gateway_id",
                        self.transit_gateway_id,
                        "must be an existing Transit Gateway id like tgw-0123456789abcdef0",
                    ),
                )
            )
        return checks
