"""The reachability analyzer, hop by hop: for every kind of hop a network that lets the flow through and one that
stops it there — and the stop is named."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from inventory_migration.reachability.analyzer import Endpoint, Verdict, Via, analyze, port_pieces, public_internet, split
from inventory_migration.reachability.model import (
    AclEntry,
    Net,
    Network,
    NetworkAcl,
    Placement,
    Protocol,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Subnet,
    TargetKind,
)

TCP = Protocol.TCP
VPC = Net("10.0.0.0/16")
ON_PREM = Net("192.168.0.0/16")
LOCAL = Route(VPC, TargetKind.LOCAL, "local")


def sg(name: str, *rules: SgRule) -> SecurityGroup:
    return SecurityGroup(name, name, rules)


def out(port: int, *, cidr: str | None = None, group: str | None = None, prefix_list: str | None = None) -> SgRule:
    return SgRule(False, TCP, (port, port), Net(cidr) if cidr else None, group, prefix_list)


def into(port: int, *, cidr: str | None = None, group: str | None = None) -> SgRule:
    return SgRule(True, TCP, (port, port), Net(cidr) if cidr else None, group)


def network(**overrides: Any) -> Network:
    """Two private subnets (app, db) routed to on-prem through a VPN and to the internet through a NAT in a public
    subnet; the app group may reach the db group on 5432 and on-prem on 5432 and 443."""
    base = Network(
        vpc_cidr=VPC,
        subnets={
            "app": Subnet("app", Net("10.0.1.0/24"), "private-rt"),
            "db": Subnet("db", Net("10.0.2.0/24"), "private-rt"),
            "public": Subnet("public", Net("10.0.0.0/24"), "public-rt"),
        },
        route_tables={
            "private-rt": RouteTable(
                "private-rt",
                (
                    LOCAL,
                    Route(ON_PREM, TargetKind.VPN_GATEWAY, "vgw"),
                    Route(Net("0.0.0.0/0"), TargetKind.NAT_GATEWAY, "nat"),
                    Route(None, TargetKind.GATEWAY_ENDPOINT, "vpce-s3", prefix_list="s3"),
                ),
            ),
            "public-rt": RouteTable("public-rt", (LOCAL, Route(Net("0.0.0.0/0"), TargetKind.INTERNET_GATEWAY, "igw"))),
        },
        security_groups={
            "app-sg": sg("app-sg", out(5432, group="db-sg"), out(5432, cidr="192.168.0.0/16"), out(443, cidr="0.0.0.0/0")),
            "db-sg": sg("db-sg", into(5432, group="app-sg"), into(5432, cidr="192.168.100.0/24")),
        },
        network_acls={},
        placements={
            "app": Placement("app", ("app",), ("app-sg",)),
            "db": Placement("db", ("db",), ("db-sg",)),
        },
        vpn_routes=(ON_PREM,),
        nat_subnets={"nat": "public"},
    )
    return dataclasses.replace(base, **overrides)


def app(n: Network) -> Endpoint:
    return Endpoint("app", placement=n.placements["app"])


def db(n: Network) -> Endpoint:
    return Endpoint("db", placement=n.placements["db"])


def on_prem(cidr: str = "192.168.10.0/24") -> Endpoint:
    return Endpoint("on-prem", addresses=(Net(cidr),), via=Via.ON_PREM)


def blocked_at(verdict: Verdict) -> str:
    """Every blocking hop (the flow must be blocked)."""
    assert not verdict.all_pass, verdict.passing
    return "\n".join(verdict.blocked)


# ----------------------------------------------------------------------------- security groups


def test_security_group_egress_lets_a_referenced_group_through() -> None:
    n = network()
    assert analyze(n, app(n), db(n), TCP, (5432, 5432)).all_pass


def test_security_group_egress_without_a_rule_stops_the_flow() -> None:
    n = network(security_groups={**network().security_groups, "app-sg": sg("app-sg")})
    assert "security group egress app-sg: no rule lets tcp 5432 out" in blocked_at(analyze(n, app(n), db(n), TCP, (5432, 5432)))


def test_security_group_ingress_by_group_and_by_cidr() -> None:
    n = network()
    assert analyze(n, on_prem("192.168.100.0/24"), db(n), TCP, (5432, 5432)).all_pass
    assert "security group ingress db-sg: no rule lets tcp 5432 in from 192.168.10.0/24" in blocked_at(
        analyze(n, on_prem(), db(n), TCP, (5432, 5432))
    )


def test_a_rule_on_another_port_does_not_count() -> None:
    n = network()
    assert "no rule lets tcp 5433 out" in blocked_at(analyze(n, app(n), db(n), TCP, (5433, 5433)))


# ----------------------------------------------------------------------------- routes


def test_on_prem_through_the_vpn_needs_a_route_and_the_tunnels_static_route() -> None:
    n = network()
    assert analyze(n, app(n), on_prem(), TCP, (5432, 5432)).all_pass
    no_static = network(vpn_routes=(Net("172.16.0.0/12"),))
    assert "VPN static route vpn: the tunnel carries no route to 192.168.10.0/24" in blocked_at(
        analyze(no_static, app(no_static), on_prem(), TCP, (5432, 5432))
    )


def test_the_longest_prefix_wins() -> None:
    tables = dict(network().route_tables)
    private = tables["private-rt"]
    tables["private-rt"] = RouteTable(
        "private-rt", (*private.routes, Route(Net("192.168.10.0/24"), TargetKind.NAT_GATEWAY, "nat"))
    )
    n = network(route_tables=tables)
    reason = blocked_at(analyze(n, app(n), on_prem(), TCP, (5432, 5432)))
    assert "192.168.10.0/24 -> NAT gateway nat: not toward on-prem" in reason
    assert analyze(n, app(n), on_prem("192.168.20.0/24"), TCP, (5432, 5432)).all_pass  # the /16 still routes the rest


def test_a_transit_gateway_route_reaches_on_prem_where_the_gateway_carries_it_there() -> None:
    tables = {"private-rt": RouteTable("private-rt", (LOCAL, Route(ON_PREM, TargetKind.TRANSIT_GATEWAY, "tgw-1")))}
    n = network(route_tables={**network().route_tables, **tables}, vpn_routes=(), transit_routes=(ON_PREM,))
    assert analyze(n, app(n), on_prem(), TCP, (5432, 5432)).all_pass


@pytest.mark.parametrize("carried", [(), None, (Net("10.200.0.0/16"),)], ids=["nothing", "unknown", "another-network"])
def test_a_transit_gateway_route_does_not_reach_on_prem_where_the_gateway_does_not_carry_it(carried: Any) -> None:
    tables = {"private-rt": RouteTable("private-rt", (LOCAL, Route(ON_PREM, TargetKind.TRANSIT_GATEWAY, "tgw-1")))}
    n = network(route_tables={**network().route_tables, **tables}, vpn_routes=(), transit_routes=carried)
    assert "Transit Gateway route" in blocked_at(analyze(n, app(n), on_prem(), TCP, (5432, 5432)))


def test_no_route_at_all() -> None:
    tables = {"private-rt": RouteTable("private-rt", (LOCAL,))}
    n = network(route_tables={**network().route_tables, **tables})
    assert "no route to 192.168.10.0/24" in blocked_at(analyze(n, app(n), on_prem(), TCP, (5432, 5432)))


def test_the_internet_through_a_nat_whose_subnet_reaches_the_internet_gateway() -> None:
    n = network()
    internet = Endpoint("aws", addresses=public_internet(), via=Via.INTERNET)
    assert analyze(n, app(n), internet, TCP, (443, 443)).all_pass
    no_igw = network(route_tables={**n.route_tables, "public-rt": RouteTable("public-rt", (LOCAL,))})
    assert "the NAT's subnet does not route to the internet gateway" in blocked_at(
        analyze(no_igw, app(no_igw), internet, TCP, (443, 443))
    )


def test_the_internet_gateway_needs_a_public_source() -> None:
    n = network()
    private_in_public = Placement("app", ("public",), ("app-sg",), public=False)
    internet = Endpoint("aws", addresses=(Net("52.0.0.0/8"),), via=Via.INTERNET)
    assert "the source has no public address" in blocked_at(
        analyze(n, Endpoint("app", placement=private_in_public), internet, TCP, (443, 443))
    )
    public = dataclasses.replace(private_in_public, public=True)
    assert analyze(n, Endpoint("app", placement=public), internet, TCP, (443, 443)).all_pass


def test_a_gateway_endpoint_route_carries_its_service() -> None:
    n = network(nat_subnets={})  # no NAT to fall back on: only the endpoint gets S3 through
    s3 = Endpoint("S3", addresses=public_internet(), via=Via.INTERNET, service="s3")
    assert analyze(n, app(n), s3, TCP, (443, 443)).all_pass
    private = n.route_tables["private-rt"]
    without = network(nat_subnets={}, route_tables={**n.route_tables, "private-rt": RouteTable("private-rt", private.routes[:3])})
    assert "NAT gateway nat: its subnet is unknown" in blocked_at(analyze(without, app(without), s3, TCP, (443, 443)))


def test_an_interface_endpoint_takes_its_service_inside_the_vpc() -> None:
    n = network(
        placements={**network().placements, "secrets endpoint": Placement("secrets endpoint", ("db",), ("endpoint-sg",))},
        security_groups={**network().security_groups, "endpoint-sg": sg("endpoint-sg", into(443, group="app-sg"))},
        interface_endpoints={"secretsmanager": "secrets endpoint"},
    )
    secrets = Endpoint("Secrets Manager", addresses=public_internet(), service="secretsmanager")
    n_no_egress = dataclasses.replace(
        n, security_groups={**n.security_groups, "app-sg": sg("app-sg", out(443, group="endpoint-sg"))}
    )
    assert analyze(n_no_egress, app(n_no_egress), secrets, TCP, (443, 443)).all_pass
    closed = dataclasses.replace(n_no_egress, security_groups={**n_no_egress.security_groups, "endpoint-sg": sg("endpoint-sg")})
    assert "security group ingress endpoint-sg" in blocked_at(analyze(closed, app(closed), secrets, TCP, (443, 443)))


# ----------------------------------------------------------------------------- from outside


def test_from_on_prem_the_reply_needs_a_route_back() -> None:
    n = network()
    assert analyze(n, on_prem("192.168.100.0/24"), db(n), TCP, (5432, 5432)).all_pass
    isolated = network(
        subnets={**n.subnets, "db": Subnet("db", Net("10.0.2.0/24"), "isolated-rt")},
        route_tables={**n.route_tables, "isolated-rt": RouteTable("isolated-rt", (LOCAL,))},
    )
    assert "return route isolated-rt of db: no route to 192.168.100.0/24" in blocked_at(
        analyze(isolated, on_prem("192.168.100.0/24"), db(isolated), TCP, (5432, 5432))
    )


def test_from_the_internet_only_a_public_placement_is_reachable() -> None:
    n = network()
    internet = Endpoint("internet", addresses=(Net("52.0.0.0/8"),), via=Via.INTERNET)
    assert "entry from the internet db: it has no public address" in blocked_at(analyze(n, internet, db(n), TCP, (5432, 5432)))


# ----------------------------------------------------------------------------- network ACLs


def acl(*entries: AclEntry) -> dict[str, NetworkAcl]:
    return {"acl-db": NetworkAcl("acl-db", entries)}


def allow(number: int, egress: bool, cidr: str, ports: tuple[int, int] = (0, 65535)) -> AclEntry:
    return AclEntry(number, egress, TCP, ports, Net(cidr), True)


def deny(number: int, egress: bool, cidr: str, ports: tuple[int, int] = (0, 65535)) -> AclEntry:
    return AclEntry(number, egress, TCP, ports, Net(cidr), False)


def with_db_acl(*entries: AclEntry) -> Network:
    n = network(network_acls=acl(*entries))
    return dataclasses.replace(n, subnets={**n.subnets, "db": Subnet("db", Net("10.0.2.0/24"), "private-rt", "acl-db")})


def test_a_network_acl_that_allows_both_ways_lets_the_flow_through() -> None:
    n = with_db_acl(allow(100, False, "10.0.0.0/16", (5432, 5432)), allow(100, True, "10.0.0.0/16", (1024, 65535)))
    assert analyze(n, app(n), db(n), TCP, (5432, 5432)).all_pass


def test_a_network_acl_is_stateless_the_return_needs_its_own_rule() -> None:
    n = with_db_acl(allow(100, False, "10.0.0.0/16", (5432, 5432)))
    assert (
        "network ACL outbound acl-db of db: no rule allows (implicit deny) tcp 1024-65535 (the return) to 10.0.1.0/24"
        in blocked_at(analyze(n, app(n), db(n), TCP, (5432, 5432)))
    )


def test_a_network_acl_decides_by_the_lowest_rule_number() -> None:
    n = with_db_acl(
        deny(90, False, "10.0.1.0/24"),
        allow(100, False, "10.0.0.0/16", (5432, 5432)),
        allow(100, True, "10.0.0.0/16", (1024, 65535)),
    )
    assert "rule 90 denies tcp 5432 from 10.0.1.0/24" in blocked_at(analyze(n, app(n), db(n), TCP, (5432, 5432)))


# ----------------------------------------------------------------------------- pieces and forbidden flows


def test_ranges_are_cut_on_every_bound() -> None:
    pieces = split([Net("192.168.0.0/16")], [Net("192.168.100.0/24")])
    assert Net("192.168.100.0/24") in pieces and sum(p.num_addresses for p in pieces) == 65536
    assert port_pieces((0, 65535), [(5432, 5432)]) == [(0, 5431), (5432, 5432), (5433, 65535)]


def test_a_forbidden_flow_exists_when_any_piece_gets_through() -> None:
    n = network()
    everyone_on_prem = on_prem("192.168.0.0/16")
    verdict = analyze(n, everyone_on_prem, db(n), TCP, (5432, 5432))
    assert verdict.any_pass and not verdict.all_pass
    assert [p for p in verdict.passing if "192.168.100.0/24" in p]


def test_public_internet_leaves_out_private_ranges() -> None:
    public = public_internet()
    assert not any(p.overlaps(Net("10.0.0.0/8")) or p.overlaps(Net("192.168.0.0/16")) for p in public)
    assert any(Net("52.94.0.0/16").subnet_of(p) for p in public)


@pytest.mark.parametrize("protocol", [Protocol.UDP, Protocol.TCP])
def test_a_rule_for_all_protocols_covers_each(protocol: Protocol) -> None:
    everything = SgRule(False, Protocol.ALL, (0, 65535), Net("0.0.0.0/0"))
    assert everything.covers_port(protocol, (53, 53))


def test_a_return_range_allowed_by_two_rules_is_allowed() -> None:
    """Was: the return's 1024-65535 was decided as one piece, so two rules splitting it read as BLOCKED."""
    n = with_db_acl(
        allow(100, False, "10.0.0.0/16", (5432, 5432)),
        allow(110, True, "10.0.0.0/16", (1024, 32767)),
        allow(120, True, "10.0.0.0/16", (32768, 65535)),
    )
    assert analyze(n, app(n), db(n), TCP, (5432, 5432)).all_pass


def test_a_return_range_with_a_hole_is_blocked_at_the_hole() -> None:
    n = with_db_acl(allow(100, False, "10.0.0.0/16", (5432, 5432)), allow(110, True, "10.0.0.0/16", (1024, 32767)))
    assert "no rule allows (implicit deny) tcp 32768-65535 (the return) to 10.0.1.0/24" in blocked_at(
        analyze(n, app(n), db(n), TCP, (5432, 5432))
    )
