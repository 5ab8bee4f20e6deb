"""The network construct (constructs/network.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from inventory_migration.config import NatGatewayMode, OnPremConnectivity
from tests.conftest import one, resources_of, synth_of
from tests.constructs.build import KEY, NAMER, policy, settings_and_wiring


def network(stack: Any, **overrides: Any) -> Any:
    from inventory_migration.config import NetworkConfig
    from inventory_migration.constructs.network import Network, NetworkWiring

    props = dict(
        namer=NAMER,
        region="us-east-1",
        vpc_cidr="10.80.0.0/16",
        on_prem_cidrs=("192.168.0.0/16",),
        flow_log_key_arn=KEY,
        customer_gateway_ip="198.51.100.10",
        operator_cidrs=(),
    )
    props.update(overrides)
    return Network(stack, "network", **settings_and_wiring(NetworkConfig, NetworkWiring, props))


def test_network_tiers_across_three_azs(construct_stack: Any) -> None:
    net = network(construct_stack)
    synth = synth_of(construct_stack)
    subnets = resources_of(synth, "aws_subnet")
    assert len(subnets) == 12
    assert sorted({s["tags"]["Tier"] for s in subnets}) == ["database", "private-app", "private-dms", "public"]
    assert not any(s["map_public_ip_on_launch"] for s in subnets)
    assert {s["cidr_block"] for s in subnets if s["tags"]["Tier"] == "database"} == {
        "10.80.192.0/20",
        "10.80.208.0/20",
        "10.80.224.0/20",
    }
    assert len(resources_of(synth, "aws_nat_gateway")) == 1
    endpoint = one(synth, "aws_vpc_endpoint")
    assert endpoint["service_name"] == "com.amazonaws.us-east-1.s3" and endpoint["vpc_endpoint_type"] == "Gateway"
    assert len(endpoint["route_table_ids"]) == 8  # public, DMS x3, app x3, database
    assert one(synth, "aws_default_security_group").get("ingress") is None
    assert len(net.availability_zones) == 3


def test_database_subnets_have_no_route_out(construct_stack: Any) -> None:
    net = network(construct_stack)
    synth = synth_of(construct_stack)
    db_rt = f"${{aws_route_table.{construct_stack.get_logical_id(net.database_route_table)}.id}}"
    assert not [r for r in resources_of(synth, "aws_route") if r["route_table_id"] == db_rt]


def test_flow_logs_go_to_an_encrypted_log_group(construct_stack: Any) -> None:
    net = network(construct_stack)
    synth = synth_of(construct_stack)
    group = one(synth, "aws_cloudwatch_log_group")
    assert group["kms_key_id"] == KEY and group["retention_in_days"] == 365
    flow = one(synth, "aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    assert flow["log_destination"] == f"${{aws_cloudwatch_log_group.{construct_stack.get_logical_id(net.flow_log_group)}.arn}}"
    role = one(synth, "aws_iam_role")
    assert policy(role, "assume_role_policy")["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}


def test_vpn_path_routes_on_prem_from_private_and_public_tables(construct_stack: Any) -> None:
    net = network(construct_stack, on_prem_cidrs=("192.168.0.0/16", "172.20.0.0/16"))
    synth = synth_of(construct_stack)
    assert one(synth, "aws_customer_gateway")["ip_address"] == "198.51.100.10"
    assert one(synth, "aws_vpn_connection")["static_routes_only"] is True
    assert len(resources_of(synth, "aws_vpn_connection_route")) == 2
    on_prem = [r for r in resources_of(synth, "aws_route") if r["destination_cidr_block"] != "0.0.0.0/0"]
    # The DMS tier's 3 tables and the public one (the load balancer there forwards to blue on-prem), per network.
    assert len(on_prem) == 8 and all("aws_vpn_gateway" in r["gateway_id"] for r in on_prem)
    public = f"${{aws_route_table.{construct_stack.get_logical_id(net.public_route_table)}.id}}"
    assert sorted(r["destination_cidr_block"] for r in on_prem if r["route_table_id"] == public) == [
        "172.20.0.0/16",
        "192.168.0.0/16",
    ]


def test_the_app_tier_has_no_route_to_on_prem(construct_stack: Any) -> None:
    net = network(construct_stack, on_prem_cidrs=("192.168.0.0/16", "172.20.0.0/16"))
    synth = synth_of(construct_stack)
    app_tables = {f"${{aws_route_table.{construct_stack.get_logical_id(t)}.id}}" for t in net.app_route_tables}
    routes = [r for r in resources_of(synth, "aws_route") if r["route_table_id"] in app_tables]
    assert len(routes) == 3 and all(r["destination_cidr_block"] == "0.0.0.0/0" and r.get("nat_gateway_id") for r in routes)
    associated = {a["route_table_id"] for a in resources_of(synth, "aws_route_table_association")}
    assert app_tables <= associated


def test_the_database_tier_routes_only_the_operators_network(construct_stack: Any) -> None:
    net = network(construct_stack, operator_cidrs=("192.168.100.0/24",))
    synth = synth_of(construct_stack)
    database = f"${{aws_route_table.{construct_stack.get_logical_id(net.database_route_table)}.id}}"
    routes = [r for r in resources_of(synth, "aws_route") if r["route_table_id"] == database]
    assert [(r["destination_cidr_block"], "aws_vpn_gateway" in r["gateway_id"]) for r in routes] == [("192.168.100.0/24", True)]


def test_transit_gateway_path(construct_stack: Any) -> None:
    network(
        construct_stack,
        connectivity=OnPremConnectivity.TRANSIT_GATEWAY,
        transit_gateway_id="tgw-0123456789abcdef0",
        nat_gateways=NatGatewayMode.PER_AZ,
    )
    synth = synth_of(construct_stack)
    assert one(synth, "aws_ec2_transit_gateway_vpc_attachment")["transit_gateway_id"] == "tgw-0123456789abcdef0"
    assert "aws_vpn_gateway" not in synth["resource"]
    assert len(resources_of(synth, "aws_nat_gateway")) == 3
    tgw_routes = [r for r in resources_of(synth, "aws_route") if r.get("transit_gateway_id")]
    assert len(tgw_routes) == 4  # the three private tables and the public one


def test_routes_through_the_transit_gateway_wait_for_the_vpcs_attachment(construct_stack: Any) -> None:
    network(construct_stack, connectivity=OnPremConnectivity.TRANSIT_GATEWAY, transit_gateway_id="tgw-0123456789abcdef0")
    synth = synth_of(construct_stack)
    (attachment,) = synth["resource"]["aws_ec2_transit_gateway_vpc_attachment"]
    tgw_routes = [r for r in resources_of(synth, "aws_route") if r.get("transit_gateway_id")]
    assert tgw_routes and all(
        f"aws_ec2_transit_gateway_vpc_attachment.{attachment}" in r.get("depends_on", []) for r in tgw_routes
    )


def test_no_nat(construct_stack: Any) -> None:
    network(construct_stack, nat_gateways=NatGatewayMode.NONE)
    synth = synth_of(construct_stack)
    assert "aws_nat_gateway" not in synth["resource"]
    assert all(
        r["destination_cidr_block"] != "0.0.0.0/0" or "aws_internet_gateway" in r.get("gateway_id", "")
        for r in resources_of(synth, "aws_route")
    )


def test_network_settings_validation() -> None:
    from inventory_migration.config import ConfigError, NetworkConfig

    with pytest.raises(ConfigError) as info:
        NetworkConfig(vpc_cidr="10.0.0.0/16", az_count=1, customer_gateway_ip="")
    assert "az_count = 1" in str(info.value) and "customer_gateway_ip" in str(info.value)
    with pytest.raises(ConfigError, match="transit_gateway_id"):
        NetworkConfig(vpc_cidr="10.0.0.0/16", connectivity=OnPremConnectivity.TRANSIT_GATEWAY)
