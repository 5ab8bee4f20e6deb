"""On-prem names from the VPC (optional): a Route 53 Resolver outbound endpoint in the private DMS subnets and one
forwarding rule per on-prem domain, to the on-prem DNS servers, associated with the VPC.

With it, DMS's source and way-back hosts, the app's on-prem dependencies and the DataSync file server can be given
as on-prem names (``pg13.corp.internal``) instead of addresses. Its flows — the endpoint to the DNS servers on 53,
UDP and TCP — are in the flow matrix (``reachability/flows.py``). Created only when ``network.on_prem_dns_servers``
and ``network.on_prem_domains`` are set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.synth.cdk import Construct, aws
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.tagging import name_tag

DNS_PORT = 53


@dataclasses.dataclass(frozen=True, kw_only=True)
class OnPremDnsProps:
    """Props of :class:`OnPremDns`."""

    namer: Namer
    """Derives names."""
    vpc_id: str
    """VPC whose names are resolved."""
    subnet_ids: Sequence[str]
    """Private subnets routed to on-prem, in at least two AZs (the endpoint takes one address in each of two)."""
    dns_servers: tuple[str, ...]
    """On-prem DNS servers (IPv4)."""
    domains: tuple[str, ...]
    """Domains forwarded to them."""

    def __post_init__(self) -> None:
        check_wiring(
            self,
            (len(self.subnet_ids) < 2, "subnet_ids: the endpoint needs subnets in at least 2 AZs"),
            (not self.dns_servers, "dns_servers: at least one"),
            (not self.domains, "domains: at least one"),
        )


class OnPremDns(Construct):
    """Outbound resolver endpoint, its security group, and the forwarding rules."""

    def __init__(self, scope: Construct, construct_id: str, *, props: OnPremDnsProps) -> None:
        super().__init__(scope, construct_id)
        p, n = props, props.namer
        group_name = n.name(ResourceType.SECURITY_GROUP, "resolver")
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "security-group",
            name=group_name,
            description=f"Route 53 Resolver outbound endpoint: only to the on-prem DNS servers ({group_name})",
            vpc_id=p.vpc_id,
            tags=name_tag(group_name),
        )
        for i, server in enumerate(p.dns_servers):
            for protocol in ("udp", "tcp"):
                rule_id = f"resolver-to-dns-{protocol}-{i + 1}"
                aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule(
                    self,
                    rule_id,
                    security_group_id=self.security_group.id,
                    description=f"The resolver forwards on-prem names to the DNS server {server} ({protocol.upper()})",
                    ip_protocol=protocol,
                    from_port=DNS_PORT,
                    to_port=DNS_PORT,
                    cidr_ipv4=f"{server}/32",
                    tags=name_tag(n.name(ResourceType.SECURITY_GROUP_RULE, rule_id)),
                )
        endpoint_name = n.name(ResourceType.RESOLVER_ENDPOINT, "on-prem")
        self.endpoint = aws.route53_resolver_endpoint.Route53ResolverEndpoint(
            self,
            "endpoint",
            name=endpoint_name,
            direction="OUTBOUND",
            security_group_ids=[self.security_group.id],
            ip_address=[
                aws.route53_resolver_endpoint.Route53ResolverEndpointIpAddress(subnet_id=subnet)
                for subnet in list(p.subnet_ids)[:2]
            ],
            tags=name_tag(endpoint_name),
        )
        self.rules = []
        for i, domain in enumerate(p.domains):
            rule_name = n.name(ResourceType.RESOLVER_RULE, f"on-prem-{i + 1}")
            rule = aws.route53_resolver_rule.Route53ResolverRule(
                self,
                f"rule-{i + 1}",
                name=rule_name,
                domain_name=domain,
                rule_type="FORWARD",
                resolver_endpoint_id=self.endpoint.id,
                target_ip=[
                    aws.route53_resolver_rule.Route53ResolverRuleTargetIp(ip=server, port=DNS_PORT) for server in p.dns_servers
                ],
                tags=name_tag(rule_name),
            )
            aws.route53_resolver_rule_association.Route53ResolverRuleAssociation(
                self, f"rule-{i + 1}-association", resolver_rule_id=rule.id, vpc_id=p.vpc_id
            )
            self.rules.append(rule)
