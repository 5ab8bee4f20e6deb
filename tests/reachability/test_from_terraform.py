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
    _interface_endpoint(synth, "secretsmanager", private_dns=False)
    network = network_of(synth)
    assert "secretsmanager" not in network.interface_endpoints and "secretsmanager endpoint" in network.placements


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
