"""The network as the analyzer sees it: subnets and their route tables, security groups and their rules, network ACLs,
gateways and endpoints, and where each part of the migration sits (its subnets, its security groups, whether it has a
public address).

Built from the synthesized Terraform JSON (:mod:`.from_terraform`) or from the AWS API of a deployed stack
(:mod:`.from_aws`): the same analysis runs on both, so what was applied is what was proven.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from enum import Enum, StrEnum

Net = ipaddress.IPv4Network

ANYWHERE = Net("0.0.0.0/0")
EPHEMERAL = (1024, 65535)
"""Ports a return packet comes back on (what a stateless network ACL must let through)."""


class Role(StrEnum):
    """The parts of the migration that have network interfaces in the VPC (their placements' names)."""

    ALB = "load balancer"
    APP_TASKS = "app tasks"
    DMS = "DMS replication instance"
    AURORA = "Aurora"
    DATASYNC_ENDPOINT = "DataSync endpoint"
    RESOLVER = "DNS resolver endpoint"


class Protocol(Enum):
    TCP = "tcp"
    UDP = "udp"
    ALL = "-1"
    OTHER = "other"
    """ICMP, ESP, any protocol number but TCP's (6) and UDP's (17): a rule for it lets no TCP or UDP flow through."""

    @classmethod
    def of(cls, value: object) -> Protocol:
        """A rule's protocol as AWS and Terraform write it: a name or an IANA number (``-1``/``all``: every one)."""
        text = str(value).strip().lower()
        return {"-1": cls.ALL, "all": cls.ALL, "tcp": cls.TCP, "6": cls.TCP, "udp": cls.UDP, "17": cls.UDP}.get(text, cls.OTHER)

    def covers(self, other: Protocol) -> bool:
        return self is Protocol.ALL or (self is other and self is not Protocol.OTHER)


class TargetKind(Enum):
    """What a route sends packets to."""

    LOCAL = "local"
    INTERNET_GATEWAY = "internet gateway"
    NAT_GATEWAY = "NAT gateway"
    VPN_GATEWAY = "VPN gateway"
    TRANSIT_GATEWAY = "transit gateway"
    GATEWAY_ENDPOINT = "gateway endpoint"
    OTHER = "other"


@dataclasses.dataclass(frozen=True)
class Route:
    destination: Net | None
    """The CIDR, or ``None`` for a prefix-list route (a gateway endpoint's)."""
    target: TargetKind
    target_id: str
    prefix_list: str = ""
    """The prefix list of a gateway-endpoint route (its service, e.g. ``s3``)."""


@dataclasses.dataclass(frozen=True)
class RouteTable:
    id: str
    routes: tuple[Route, ...]


@dataclasses.dataclass(frozen=True)
class Subnet:
    id: str
    cidr: Net
    route_table: str
    """The route table associated with the subnet (the VPC's main table when none is)."""
    network_acl: str = ""
    """The network ACL; empty: the VPC's default ACL, which allows everything."""


@dataclasses.dataclass(frozen=True)
class SgRule:
    ingress: bool
    protocol: Protocol
    ports: tuple[int, int]
    cidr: Net | None = None
    group: str | None = None
    prefix_list: str | None = None
    description: str = ""

    def covers_port(self, protocol: Protocol, ports: tuple[int, int]) -> bool:
        if self.protocol is Protocol.ALL:
            return True
        return self.protocol is protocol and self.ports[0] <= ports[0] and ports[1] <= self.ports[1]


@dataclasses.dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str
    rules: tuple[SgRule, ...]

    def egress(self) -> list[SgRule]:
        return [r for r in self.rules if not r.ingress]

    def ingress(self) -> list[SgRule]:
        return [r for r in self.rules if r.ingress]


@dataclasses.dataclass(frozen=True)
class AclEntry:
    number: int
    egress: bool
    protocol: Protocol
    ports: tuple[int, int]
    cidr: Net
    allow: bool


@dataclasses.dataclass(frozen=True)
class NetworkAcl:
    id: str
    entries: tuple[AclEntry, ...]

    def decide(self, *, egress: bool, protocol: Protocol, ports: tuple[int, int], peer: Net) -> AclEntry | None:
        """The first entry (lowest number) that matches all of ``peer`` and ``ports``: AWS evaluates in order and stops at
        the first match; ``None`` is the implicit deny."""
        for entry in sorted((e for e in self.entries if e.egress == egress), key=lambda e: e.number):
            matches_peer = peer.subnet_of(entry.cidr) if peer.version == entry.cidr.version else False
            matches_port = entry.protocol is Protocol.ALL or (
                entry.protocol is protocol and entry.ports[0] <= ports[0] and ports[1] <= entry.ports[1]
            )
            if matches_peer and matches_port:
                return entry
            overlaps = peer.overlaps(entry.cidr) and (
                entry.protocol is Protocol.ALL
                or (entry.protocol is protocol and not (entry.ports[1] < ports[0] or ports[1] < entry.ports[0]))
            )
            if overlaps and not entry.allow:
                return entry  # a deny that catches part of the traffic blocks the flow (it must hold for all of it)
        return None


DEFAULT_ACL = "default"
"""The key of the VPC's default network ACL in :attr:`Network.network_acls` when the stack manages it."""
ALLOW_ALL_ACL = NetworkAcl(
    "default",
    (
        AclEntry(100, False, Protocol.ALL, (0, 65535), ANYWHERE, True),
        AclEntry(100, True, Protocol.ALL, (0, 65535), ANYWHERE, True),
    ),
)
"""The VPC's default network ACL as AWS creates it: everything in, everything out."""


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one part of the migration has its network interfaces."""

    name: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    public: bool = False
    """Has a public address (an internet-facing load balancer, a public IP)."""


@dataclasses.dataclass(frozen=True)
class Network:
    vpc_cidr: Net
    subnets: dict[str, Subnet]
    route_tables: dict[str, RouteTable]
    security_groups: dict[str, SecurityGroup]
    network_acls: dict[str, NetworkAcl]
    placements: dict[str, Placement]
    vpn_routes: tuple[Net, ...] = ()
    """Static routes of the site-to-site VPN: the on-prem ranges the tunnel carries."""
    transit_routes: tuple[Net, ...] | None = None
    """The ranges the Transit Gateway routes on to on-prem (to a VPN or Direct Connect attachment, not to another
    VPC). Read from the gateway's route table on an applied stack; ``None`` when unknown (a synthesized stack: the
    gateway is not the stack's), and then the configured ``network.on_prem_cidrs`` stand for them
    (:func:`~.flows.check`), where the configuration says the path to on-prem is a Transit Gateway."""
    dns_support: bool = True
    """The VPC's ``enableDnsSupport``: the Amazon-provided resolver answers (AWS's default: on). Off, no service name
    resolves from inside the VPC."""
    dns_hostnames: bool = True
    """The VPC's ``enableDnsHostnames`` (Terraform's and AWS's default for a new VPC: off). An interface endpoint's
    private DNS takes effect only with both attributes on; otherwise a service's name resolves to its public
    addresses."""
    nat_subnets: dict[str, str] = dataclasses.field(default_factory=dict)
    """NAT gateway id -> the subnet it sits in (its traffic leaves through that subnet's route table)."""
    interface_endpoints: dict[str, str] = dataclasses.field(default_factory=dict)
    """AWS service (``secretsmanager``, ``datasync`` …) -> the placement of its interface endpoint."""

    def acl(self, subnet: Subnet) -> NetworkAcl:
        """The subnet's ACL: its own, else the VPC's default ACL — as the stack manages it when it does
        (``aws_default_network_acl``, under :data:`DEFAULT_ACL`), else as AWS creates it (allow all)."""
        return self.network_acls.get(subnet.network_acl) or self.network_acls.get(DEFAULT_ACL, ALLOW_ALL_ACL)


def service_of(service_name: str) -> str:
    """An endpoint's service as the flows name it: ``com.amazonaws.us-east-1.ecr.dkr`` -> ``ecr.dkr`` (the region is
    the third part; services have dots of their own)."""
    parts = service_name.split(".")
    if len(parts) > 3 and parts[0] == "com" and parts[1] == "amazonaws":
        return ".".join(parts[3:])
    return parts[-1]
