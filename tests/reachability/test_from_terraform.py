"""The model read from synthesized Terraform JSON (inventory_migration/reachability/from_terraform.py): regression
cases, each an edit of the synthesized dev stack that the reader used to misread."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.reachability.flows import Place, check
from inventory_migration.reachability.from_terraform import network_of
from inventory_migration.reachability.model import Protocol, service_of
from tests.conftest import phase_config


@pytest.fixture
def synth(phase_synth: Any) -> dict[str, Any]:
    """A copy of dev's `cdc` stack, to edit."""
    return json.loads(json.dumps(phase_synth("dev", MigrationPhase.CDC)))


def _first(synth: dict[str, Any], kind: str, part: str = "") -> str:
    return next(f"${{{kind}.{k}.id}}" for k in synth["resource"][kind] if part in k)


def _interface_endpoint(synth: dict[str, Any], service: str, *, private_dns: bool) -> None:
    synth["resource"].setdefault("aws_vpc_endpoint", {})["edited"] = {
        "service_name": f"com.amazonaws.us-east-1.{service}",
        "vpc_endpoint_type": "Interface",
        "vpc_id": _first(synth, "aws_vpc"),
        "subnet_ids": [_first(synth, "aws_subnet", "private")],
        "security_group_ids": [_first(synth, "aws_security_group", "app")],
        "private_dns_enabled": private_dns,
    }


@pytest.mark.parametrize(
    ("name", "service"),
    [
        ("com.amazonaws.us-east-1.ecr.dkr", "ecr.dkr"),
        ("com.amazonaws.us-east-1.s3", "s3"),
        ("com.amazonaws.eu-west-1.ecr.api", "ecr.api"),
    ],
)
def test_a_service_name_keeps_the_dots_of_its_service(name: str, service: str) -> None:
    assert service_of(name) == service


def test_an_interface_endpoint_with_private_dns_carries_its_whole_service(synth: dict[str, Any]) -> None:
    """Was: 'ecr.dkr' read as 'dkr', so an ECR endpoint never counted and ECR showed reachable through the NAT."""
    _interface_endpoint(synth, "ecr.dkr", private_dns=True)
    assert "ecr.dkr" in network_of(synth).interface_endpoints


def test_an_interface_endpoint_without_private_dns_is_not_where_its_service_resolves(synth: dict[str, Any]) -> None:
    """Was: any interface endpoint counted, though clients resolve the service's public name without private DNS."""
    _interface_endpoint(synth, "sts", private_dns=False)
    network = network_of(synth)
    assert "sts" not in network.interface_endpoints and "sts endpoint" in network.placements


@pytest.mark.parametrize(
    ("written", "read"), [("6", Protocol.TCP), ("17", Protocol.UDP), ("icmp", Protocol.OTHER), ("50", Protocol.OTHER)]
)
def test_a_rules_protocol_number_or_name_is_read_and_others_cover_no_tcp_flow(
    synth: dict[str, Any], written: str, read: Protocol
) -> None:
    """Was: a protocol by number or an unknown one failed to read, or counted as all protocols."""
    rule = {
        "security_group_id": _first(synth, "aws_security_group", "dms"),
        "ip_protocol": written,
        "cidr_ipv4": "0.0.0.0/0",
        "description": "edited",
    }
    synth["resource"]["aws_vpc_security_group_egress_rule"]["edited"] = rule
    network = network_of(synth)
    group = network.security_groups[_first(synth, "aws_security_group", "dms")[2:-4]]
    (edited,) = [r for r in group.egress() if r.description == "edited"]
    assert edited.protocol is read
    assert edited.covers_port(Protocol.TCP, (443, 443)) is (read is Protocol.TCP)


def test_a_network_acl_association_gives_the_subnet_that_acl(synth: dict[str, Any]) -> None:
    """Was: aws_network_acl_association was not read: the subnet kept the allow-all default."""
    subnet = _first(synth, "aws_subnet", "database")
    synth["resource"].setdefault("aws_network_acl", {})["deny-all"] = {"vpc_id": _first(synth, "aws_vpc")}
    synth["resource"]["aws_network_acl_association"] = {
        "edited": {"subnet_id": subnet, "network_acl_id": "${aws_network_acl.deny-all.id}"}
    }
    network = network_of(synth)
    assert network.subnets[subnet[2:-4]].network_acl == "aws_network_acl.deny-all"
    failing = [r for r in check(network, phase_config("dev", MigrationPhase.CDC), MigrationPhase.CDC) if not r.ok]
    assert any(r.flow.destination is Place.AURORA for r in failing), "a deny-all ACL on Aurora's subnet must break its flows"


def test_a_default_network_acl_the_stack_manages_applies_to_subnets_without_their_own(synth: dict[str, Any]) -> None:
    """Was: aws_default_network_acl was not read: subnets without an ACL of their own counted as allow-all."""
    synth["resource"]["aws_default_network_acl"] = {"edited": {"default_network_acl_id": "acl-0"}}  # no rules: deny all
    network = network_of(synth)
    failing = [r for r in check(network, phase_config("dev", MigrationPhase.CDC), MigrationPhase.CDC) if not r.ok]
    assert failing and all("network ACL" in " ".join(r.reasons()) for r in failing), [r.reasons() for r in failing[:3]]


@pytest.mark.parametrize(
    ("prefix_list_id", "service"),
    [("pl-63a5400a", ""), ("${data.aws_prefix_list.dynamo.id}", "dynamodb"), ("${aws_vpc_endpoint.edited.prefix_list_id}", "s3")],
)
def test_a_prefix_list_rule_is_the_service_of_its_list(synth: dict[str, Any], prefix_list_id: str, service: str) -> None:
    """Was: any prefix list counted as S3's."""
    synth.setdefault("data", {})["aws_prefix_list"] = {"dynamo": {"name": "com.amazonaws.us-east-1.dynamodb"}}
    synth["resource"]["aws_vpc_endpoint"]["edited"] = {
        "service_name": "com.amazonaws.us-east-1.s3",
        "vpc_endpoint_type": "Gateway",
    }
    group = _first(synth, "aws_security_group", "app")
    rule = {"security_group_id": group, "ip_protocol": "tcp", "from_port": 443, "to_port": 443}
    synth["resource"]["aws_vpc_security_group_egress_rule"]["edited"] = rule | {
        "prefix_list_id": prefix_list_id,
        "description": "edited",
    }
    (edited,) = [r for r in network_of(synth).security_groups[group[2:-4]].egress() if r.description == "edited"]
    assert edited.prefix_list == service


def _failing(synth: dict[str, Any], config: Any = None) -> dict[tuple[Place, Place], str]:
    """Flows not as the matrix says in the edited stack (dev, cdc): (source, destination) -> their reasons."""
    config = config or phase_config("dev", MigrationPhase.CDC)
    results = check(network_of(synth), config, MigrationPhase.CDC)
    return {(r.flow.source, r.flow.destination): " ".join(r.reasons()) for r in results if not r.ok}


def _routes_to_a_transit_gateway(synth: dict[str, Any]) -> None:
    for route in synth["resource"]["aws_route"].values():
        if "aws_vpn_gateway" in str(route.get("gateway_id", "")):
            del route["gateway_id"]
            route["transit_gateway_id"] = "tgw-0a1b2c3d4e5f60718"


def test_a_route_to_a_transit_gateway_not_known_to_lead_on_prem_does_not_reach_on_prem(synth: dict[str, Any]) -> None:
    """Was: any Transit Gateway route counted as a path to on-prem. Edited: the on-prem routes name a Transit Gateway
    while the configuration says the path is the VPN: nothing says that gateway carries on to on-prem."""
    _routes_to_a_transit_gateway(synth)
    failing = _failing(synth)
    assert "Transit Gateway route" in failing[(Place.DMS, Place.ON_PREM_DATABASE)]


def test_a_transit_gateway_the_configuration_names_carries_the_on_prem_ranges(synth: dict[str, Any]) -> None:
    import dataclasses

    from inventory_migration.config import OnPremConnectivity

    _routes_to_a_transit_gateway(synth)
    config = phase_config("dev", MigrationPhase.CDC)
    network = dataclasses.replace(
        config.network, connectivity=OnPremConnectivity.TRANSIT_GATEWAY, transit_gateway_id="tgw-0a1b2c3d4e5f60718"
    )
    assert _failing(synth, dataclasses.replace(config, network=network)) == {}


def test_traffic_through_the_nat_gateway_crosses_its_subnets_network_acl(synth: dict[str, Any]) -> None:
    """Was: the NAT subnet's ACL was not read. Edited: a deny-all ACL on the public subnets, where the NAT sits; the
    app's image pull from outside ECR goes through it (and the load balancer's flows break too)."""
    public = [f"${{aws_subnet.{k}.id}}" for k in synth["resource"]["aws_subnet"] if "public" in k]
    synth["resource"].setdefault("aws_network_acl", {})["deny-all"] = {"vpc_id": _first(synth, "aws_vpc"), "subnet_ids": public}
    failing = _failing(synth)
    assert "into the NAT" in failing[(Place.APP_TASKS, Place.IMAGE_REGISTRY)]


def test_without_dns_resolution_no_service_name_resolves(synth: dict[str, Any]) -> None:
    """Was: DNS was not modelled. Edited: enable_dns_support = false."""
    (vpc,) = synth["resource"]["aws_vpc"].values()
    vpc["enable_dns_support"] = False
    failing = _failing(synth)
    assert "DNS resolution is off" in failing[(Place.DMS, Place.SECRETS_MANAGER)]
    assert (Place.DMS, Place.AURORA) not in failing


def test_without_dns_host_names_private_dns_does_not_take_and_a_service_resolves_to_its_public_addresses(
    synth: dict[str, Any],
) -> None:
    """Was: an endpoint's private DNS counted whatever the VPC's DNS attributes. Edited: enable_dns_hostnames = false:
    Secrets Manager's name resolves to its public addresses, which DMS's security group does not let it reach."""
    (vpc,) = synth["resource"]["aws_vpc"].values()
    vpc["enable_dns_hostnames"] = False
    assert "security group egress" in _failing(synth)[(Place.DMS, Place.SECRETS_MANAGER)]
