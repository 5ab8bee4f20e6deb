"""Is a flow possible, hop by hop — the semantics AWS VPC Reachability Analyzer documents, on our own model.

A path needs, in order: the source's security groups to allow it out (egress), a route in the source subnet's route
table (longest prefix first; a prefix-list route of a gateway endpoint wins for its service) to a target that can
carry it (``local`` inside the VPC; the VPN or Transit Gateway to on-prem; the internet gateway for a source with a
public address, else a NAT gateway whose own subnet routes to the internet gateway), the network ACLs of every subnet
crossed in both directions (stateless: the return comes back on ephemeral ports), the destination's security groups to
allow it in (stateful: the return needs no rule), and — for a packet coming from outside — a route back to the source
through the same kind of gateway it came in by.

Address ranges are cut into pieces on every CIDR the model mentions, and port ranges on every rule's bounds, so each
piece is decided by the same rules throughout: a *required* flow holds when every piece passes, a *forbidden* flow
exists when any piece passes. Every failure names the hop that blocks it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from collections.abc import Iterable, Iterator
from enum import Enum

from inventory_migration.reachability.model import (
    ANYWHERE,
    EPHEMERAL,
    Net,
    Network,
    Placement,
    Protocol,
    Route,
    SecurityGroup,
    Subnet,
    TargetKind,
)

NOT_PUBLIC = tuple(
    Net(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
"""Addresses that are not on the public internet."""


def public_internet() -> tuple[Net, ...]:
    """Every public IPv4 address, as CIDRs."""
    pieces = [ANYWHERE]
    for hole in NOT_PUBLIC:
        pieces = [p for piece in pieces for p in ([piece] if not piece.overlaps(hole) else piece.address_exclude(hole))]
    return tuple(sorted(pieces))


class Via(Enum):
    """How an address outside the VPC is reached."""

    ON_PREM = "on-prem"
    """Through the site-to-site VPN or the Transit Gateway."""
    INTERNET = "internet"
    """Through the internet gateway (directly, or from a private subnet through a NAT gateway)."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One end of a flow: a placement inside the VPC, an AWS service, or addresses outside."""

    name: str
    placement: Placement | None = None
    addresses: tuple[Net, ...] = ()
    via: Via = Via.INTERNET
    service: str = ""
    """An AWS service (``secretsmanager``, ``s3`` …): its interface endpoint when the VPC has one, its gateway
    endpoint for S3, else its public addresses through the internet."""


@dataclasses.dataclass(frozen=True)
class Hop:
    what: str
    where: str
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.what} {self.where}: {self.detail}" if self.detail else f"{self.what} {self.where}"


@dataclasses.dataclass
class Verdict:
    """The outcome for a flow: the pieces that get through, and the others grouped by the hop that stops them."""

    passing: list[str] = dataclasses.field(default_factory=list)
    """Pieces that get through (``source -> destination port``)."""
    blocked: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    """Blocking hop -> the pieces it stops."""

    @property
    def all_pass(self) -> bool:
        return bool(self.passing) and not self.blocked

    @property
    def any_pass(self) -> bool:
        return bool(self.passing)

    def merge(self, other: Verdict) -> None:
        self.passing += other.passing
        for hop, pieces in other.blocked.items():
            self.blocked.setdefault(hop, []).extend(pieces)

    def blocked_lines(self) -> list[str]:
        """One line per blocking hop: the hop, how many pieces it stops, one of them."""
        total = len(self.passing) + sum(len(v) for v in self.blocked.values())
        return [f"blocked at {hop} ({len(pieces)} of {total} pieces, e.g. {pieces[0]})" for hop, pieces in self.blocked.items()]


# --------------------------------------------------------------------------------------------- pieces


def split(ranges: Iterable[Net], bounds: Iterable[Net]) -> list[Net]:
    """``ranges`` cut so that every piece is, for each bound, inside it or apart from it."""
    bounds = set(bounds)
    out: list[Net] = []

    def cut(n: Net) -> None:
        if any(b != n and b.subnet_of(n) for b in bounds if b.version == n.version):
            for half in n.subnets(prefixlen_diff=1):
                cut(half)
        else:
            out.append(n)

    for r in ranges:
        cut(r)
    return out


def port_pieces(ports: tuple[int, int], bounds: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ports`` cut at every rule's bounds."""
    cuts = {ports[0], ports[1] + 1}
    for low, high in bounds:
        cuts |= {p for p in (low, high + 1) if ports[0] < p <= ports[1]}
    edges = sorted(cuts)
    return [(a, b - 1) for a, b in itertools.pairwise(edges)]


# --------------------------------------------------------------------------------------------- hops


def _groups(network: Network, ids: Iterable[str]) -> list[SecurityGroup]:
    return [network.security_groups[i] for i in ids if i in network.security_groups]


def _sg_out(
    network: Network,
    src: Placement,
    *,
    dst_cidr: Net | None,
    dst_groups: tuple[str, ...],
    prefix_list: str,
    protocol: Protocol,
    ports: tuple[int, int],
) -> Hop:
    for group in _groups(network, src.security_groups):
        for rule in group.egress():
            if not rule.covers_port(protocol, ports):
                continue
            if rule.group is not None and rule.group in dst_groups:
                return Hop("security group egress", group.name, True, rule.description)
            if rule.cidr is not None and dst_cidr is not None and dst_cidr.subnet_of(rule.cidr):
                return Hop("security group egress", group.name, True, rule.description)
            if prefix_list and rule.prefix_list == prefix_list:
                return Hop("security group egress", group.name, True, rule.description)
    names = ", ".join(g.name for g in _groups(network, src.security_groups)) or "none"
    return Hop("security group egress", names, False, f"no rule lets {protocol.value} {_ports(ports)} out to it")


def _sg_in(
    network: Network, dst: Placement, *, src_cidr: Net, src_groups: tuple[str, ...], protocol: Protocol, ports: tuple[int, int]
) -> Hop:
    for group in _groups(network, dst.security_groups):
        for rule in group.ingress():
            if not rule.covers_port(protocol, ports):
                continue
            if rule.group is not None and rule.group in src_groups:
                return Hop("security group ingress", group.name, True, rule.description)
            if rule.cidr is not None and src_cidr.subnet_of(rule.cidr):
                return Hop("security group ingress", group.name, True, rule.description)
    names = ", ".join(g.name for g in _groups(network, dst.security_groups)) or "none"
    return Hop("security group ingress", names, False, f"no rule lets {protocol.value} {_ports(ports)} in from {src_cidr}")


def _acl(
    network: Network, subnet: Subnet, *, egress: bool, peer: Net, protocol: Protocol, ports: tuple[int, int], why: str
) -> Hop:
    acl = network.acl(subnet)
    direction = "outbound" if egress else "inbound"
    # The range is cut at this ACL's own rule bounds and each piece decided: a return range allowed by two rules
    # (1024-32767 and 32768-65535) is allowed, all of it.
    bounds = [e.ports for e in acl.entries if e.egress == egress]
    for piece in port_pieces(ports, bounds):
        entry = acl.decide(egress=egress, protocol=protocol, ports=piece, peer=peer)
        if entry is None or not entry.allow:
            rule = f"rule {entry.number} denies" if entry is not None else "no rule allows (implicit deny)"
            return Hop(
                f"network ACL {direction}",
                f"{acl.id} of {subnet.id}",
                False,
                f"{rule} {protocol.value} {_ports(piece)} {why} {peer}",
            )
    return Hop(f"network ACL {direction}", f"{acl.id} of {subnet.id}", True, why)


def lookup(network: Network, subnet: Subnet, destination: Net, *, prefix_list: str = "") -> Route | None:
    """The route a packet to ``destination`` takes from ``subnet``: a prefix-list route for the service first (AWS
    prefers it), else the longest prefix containing all of ``destination``."""
    table = network.route_tables.get(subnet.route_table)
    if table is None:
        return None
    if prefix_list:
        for route in table.routes:
            if route.prefix_list == prefix_list:
                return route
    containing = [r for r in table.routes if r.destination is not None and destination.subnet_of(r.destination)]
    return max(containing, key=lambda r: r.destination.prefixlen) if containing else None  # type: ignore[union-attr]


def _route_out(network: Network, subnet: Subnet, dst: Net, via: Via | None, public: bool, prefix_list: str) -> list[Hop]:
    """Hops from ``subnet`` to ``dst`` outside the VPC (``via`` None: inside the VPC, a ``local`` route)."""
    route = lookup(network, subnet, dst, prefix_list=prefix_list)
    where = f"{subnet.route_table} of {subnet.id}"
    if route is None:
        return [Hop("route", where, False, f"no route to {dst}")]
    target = f"{route.target.value} {route.target_id}".strip()
    if via is None:
        ok = route.target is TargetKind.LOCAL
        return [Hop("route", where, ok, f"{dst} -> {target}" + ("" if ok else ": leaves the VPC instead of staying local"))]
    if prefix_list and route.prefix_list == prefix_list:
        return [Hop("route", where, True, f"{prefix_list} -> {target}")]
    if via is Via.ON_PREM:
        if route.target is TargetKind.TRANSIT_GATEWAY:
            carried = any(dst.subnet_of(r) for r in network.transit_routes or ())
            hop = Hop("route", where, True, f"{dst} -> {target}")
            detail = "" if carried else f"it routes {dst} to no VPN or Direct Connect attachment (not known as on-prem)"
            return [hop, Hop("Transit Gateway route", route.target_id, carried, detail)]
        if route.target is TargetKind.VPN_GATEWAY:
            carried = any(dst.subnet_of(r) for r in network.vpn_routes)
            hop = Hop("route", where, True, f"{dst} -> {target}")
            return [hop, Hop("VPN static route", "vpn", carried, "" if carried else f"the tunnel carries no route to {dst}")]
        return [Hop("route", where, False, f"{dst} -> {target}: not toward on-prem (needs the VPN or Transit Gateway)")]
    if route.target is TargetKind.INTERNET_GATEWAY:
        return [Hop("route", where, public, f"{dst} -> {target}" + ("" if public else ": the source has no public address"))]
    if route.target is TargetKind.NAT_GATEWAY:
        nat_subnet = network.subnets.get(network.nat_subnets.get(route.target_id, ""))
        hops = [Hop("route", where, True, f"{dst} -> {target}")]
        if nat_subnet is None:
            return [*hops, Hop("NAT gateway", route.target_id, False, "its subnet is unknown")]
        onward = lookup(network, nat_subnet, dst)
        ok = onward is not None and onward.target is TargetKind.INTERNET_GATEWAY
        detail = f"{dst} -> {onward.target.value if onward else 'nothing'}" + (
            "" if ok else ": the NAT's subnet does not route to the internet gateway"
        )
        return [*hops, Hop("route", f"{nat_subnet.route_table} of NAT subnet {nat_subnet.id}", ok, detail)]
    return [Hop("route", where, False, f"{dst} -> {target}: does not reach the internet")]


def _ports(ports: tuple[int, int]) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


def _first_failure(hops: list[Hop]) -> Hop | None:
    return next((h for h in hops if not h.ok), None)


# --------------------------------------------------------------------------------------------- paths


def _inside_to_inside(
    network: Network, src: Placement, s: Subnet, dst: Placement, d: Subnet, protocol: Protocol, ports: tuple[int, int]
) -> list[Hop]:
    hops = [
        _sg_out(network, src, dst_cidr=d.cidr, dst_groups=dst.security_groups, prefix_list="", protocol=protocol, ports=ports)
    ]
    hops += _route_out(network, s, d.cidr, None, src.public, "")
    if s.id != d.id:
        hops += [
            _acl(network, s, egress=True, peer=d.cidr, protocol=protocol, ports=ports, why="to"),
            _acl(network, d, egress=False, peer=s.cidr, protocol=protocol, ports=ports, why="from"),
            _acl(network, d, egress=True, peer=s.cidr, protocol=protocol, ports=EPHEMERAL, why="(the return) to"),
            _acl(network, s, egress=False, peer=d.cidr, protocol=protocol, ports=EPHEMERAL, why="(the return) from"),
        ]
    hops.append(_sg_in(network, dst, src_cidr=s.cidr, src_groups=src.security_groups, protocol=protocol, ports=ports))
    return hops


def _inside_to_outside(
    network: Network, src: Placement, s: Subnet, dst: Net, via: Via, protocol: Protocol, ports: tuple[int, int], prefix_list: str
) -> list[Hop]:
    hops = [_sg_out(network, src, dst_cidr=dst, dst_groups=(), prefix_list=prefix_list, protocol=protocol, ports=ports)]
    hops += _route_out(network, s, dst, via, src.public, prefix_list)
    hops += _nat_acls(network, s, dst, prefix_list, protocol, ports)
    hops += [
        _acl(network, s, egress=True, peer=dst, protocol=protocol, ports=ports, why="to"),
        _acl(network, s, egress=False, peer=dst, protocol=protocol, ports=EPHEMERAL, why="(the return) from"),
    ]
    return hops


def _nat_acls(network: Network, s: Subnet, dst: Net, prefix_list: str, protocol: Protocol, ports: tuple[int, int]) -> list[Hop]:
    """Through a NAT gateway the packet also crosses its subnet's network ACL, four times: in from the source subnet,
    out to the destination (from the NAT's own ephemeral port), the return in on that port, and out to the source."""
    route = lookup(network, s, dst, prefix_list=prefix_list)
    if route is None or route.target is not TargetKind.NAT_GATEWAY or (prefix_list and route.prefix_list == prefix_list):
        return []
    nat = network.subnets.get(network.nat_subnets.get(route.target_id, ""))
    if nat is None:
        return []
    return [
        _acl(network, nat, egress=False, peer=s.cidr, protocol=protocol, ports=ports, why="(into the NAT) from"),
        _acl(network, nat, egress=True, peer=dst, protocol=protocol, ports=ports, why="(out of the NAT) to"),
        _acl(network, nat, egress=False, peer=dst, protocol=protocol, ports=EPHEMERAL, why="(the return, into the NAT) from"),
        _acl(network, nat, egress=True, peer=s.cidr, protocol=protocol, ports=EPHEMERAL, why="(the return, out of the NAT) to"),
    ]


def _outside_to_inside(
    network: Network, src: Net, via: Via, dst: Placement, d: Subnet, protocol: Protocol, ports: tuple[int, int]
) -> list[Hop]:
    if via is Via.INTERNET:
        hops = [Hop("entry from the internet", dst.name, dst.public, "" if dst.public else "it has no public address")]
    else:
        has_path = any(src.subnet_of(r) for r in (*network.vpn_routes, *(network.transit_routes or ())))
        hops = [
            Hop(
                "entry from on-prem",
                "VPN / Transit Gateway",
                has_path,
                "" if has_path else f"neither the VPN nor a Transit Gateway carries {src} to the VPC",
            )
        ]
    hops += [
        _acl(network, d, egress=False, peer=src, protocol=protocol, ports=ports, why="from"),
        _sg_in(network, dst, src_cidr=src, src_groups=(), protocol=protocol, ports=ports),
    ]
    back = _route_out(network, d, src, via, dst.public, "")
    hops += [Hop(f"return {h.what}", h.where, h.ok, h.detail) for h in back]
    hops.append(_acl(network, d, egress=True, peer=src, protocol=protocol, ports=EPHEMERAL, why="(the return) to"))
    return hops


def _boundaries(network: Network) -> tuple[list[Net], list[tuple[int, int]]]:
    cidrs: set[Net] = {network.vpc_cidr, *network.vpn_routes}
    ports: set[tuple[int, int]] = set()
    for subnet in network.subnets.values():
        cidrs.add(subnet.cidr)
    for table in network.route_tables.values():
        cidrs |= {r.destination for r in table.routes if r.destination is not None}
    for group in network.security_groups.values():
        for rule in group.rules:
            if rule.cidr is not None:
                cidrs.add(rule.cidr)
            ports.add(rule.ports)
    for acl in network.network_acls.values():
        for entry in acl.entries:
            cidrs.add(entry.cidr)
            ports.add(entry.ports)
    return sorted(cidrs), sorted(ports)


def _subnets(network: Network, placement: Placement) -> list[Subnet]:
    return [network.subnets[s] for s in placement.subnets if s in network.subnets]


def paths(
    network: Network, source: Endpoint, destination: Endpoint, protocol: Protocol, ports: tuple[int, int]
) -> Iterator[tuple[str, list[Hop]]]:
    """Every piece of the flow, with its hops."""
    if destination.service and not network.dns_support:
        yield (
            f"{source.name} -> {destination.name}",
            [Hop("DNS", "the VPC", False, "DNS resolution is off (enableDnsSupport): no service name resolves")],
        )
        return
    cidr_bounds, port_bounds = _boundaries(network)
    port_list = port_pieces(ports, port_bounds)
    service_placement = None
    private_dns = network.dns_support and network.dns_hostnames
    if destination.service and private_dns and destination.service in network.interface_endpoints:
        service_placement = network.placements.get(network.interface_endpoints[destination.service])
    prefix_list = destination.service if destination.service == "s3" else ""
    dst_placement = destination.placement or service_placement
    for p in port_list:
        if source.placement is not None:
            for s in _subnets(network, source.placement):
                if dst_placement is not None:
                    for d in _subnets(network, dst_placement):
                        yield (
                            f"{source.name} ({s.id}) -> {destination.name} ({d.id}) {_ports(p)}",
                            _inside_to_inside(network, source.placement, s, dst_placement, d, protocol, p),
                        )
                else:
                    for a in split(destination.addresses, cidr_bounds):
                        yield (
                            f"{source.name} ({s.id}) -> {destination.name} {a} {_ports(p)}",
                            _inside_to_outside(network, source.placement, s, a, destination.via, protocol, p, prefix_list),
                        )
        elif dst_placement is not None:
            for a in split(source.addresses, cidr_bounds):
                for d in _subnets(network, dst_placement):
                    yield (
                        f"{source.name} {a} -> {destination.name} ({d.id}) {_ports(p)}",
                        _outside_to_inside(network, a, source.via, dst_placement, d, protocol, p),
                    )


def analyze(network: Network, source: Endpoint, destination: Endpoint, protocol: Protocol, ports: tuple[int, int]) -> Verdict:
    """Every piece of a flow, decided."""
    verdict = Verdict()
    for label, hops in paths(network, source, destination, protocol, ports):
        failure = _first_failure(hops)
        if failure is None:
            verdict.passing.append(label)
        else:
            verdict.blocked.setdefault(str(failure), []).append(label)
    return verdict


def ipv4(text: str) -> Net:
    return ipaddress.IPv4Network(text, strict=False)
