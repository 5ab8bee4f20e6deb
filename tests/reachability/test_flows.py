"""The deployed network carries the night: the flow matrix holds on every phase of dev and prod as synthesized; the
optional DNS forwarding; the first deploy's two DataSync passes; the VPN's outputs; docs/network.md is current."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from inventory_migration.contracts.phases import MigrationPhase
from inventory_migration.reachability.flows import FLOWS, Kind, Place, check, failures
from inventory_migration.reachability.from_terraform import network_of
from inventory_migration.reachability.model import Role
from tests.conftest import phase_config, resources_of

ROOT = Path(__file__).resolve().parents[2]
ENV_PHASES = [(env, phase) for env in ("dev", "prod") for phase in MigrationPhase]


@pytest.mark.parametrize(("environment", "phase"), ENV_PHASES, ids=[f"{e}-{p.value}" for e, p in ENV_PHASES])
def test_every_flow_of_the_matrix_holds_on_the_synthesized_stack(
    phase_synth: Any, environment: str, phase: MigrationPhase
) -> None:
    results = check(network_of(phase_synth(environment, phase)), phase_config(environment, phase), phase)
    assert failures(results) == []
    assert any(r.verdict is not None for r in results if r.flow.kind is Kind.FORBIDDEN)


def test_the_matrix_has_the_flows_the_night_needs() -> None:
    pairs = {(f.source, f.destination, f.kind) for f in FLOWS}
    required = {
        (Place.DMS, Place.ON_PREM_DATABASE),
        (Place.DMS, Place.AURORA),
        (Place.APP_TASKS, Place.AURORA),
        (Place.ALB, Place.APP_TASKS),
        (Place.ALB, Place.BLUE),
        (Place.CLIENTS, Place.ALB),
        (Place.OPERATOR, Place.AURORA),
        (Place.DATASYNC_AGENT, Place.DATASYNC_ENDPOINT),
    }
    forbidden = {
        (Place.INTERNET, Place.AURORA),
        (Place.INTERNET, Place.DMS),
        (Place.INTERNET, Place.APP_TASKS),
        (Place.AURORA, Place.INTERNET),
        (Place.APP_TASKS, Place.ON_PREM_DATABASE),
        (Place.ON_PREM_NOT_OPERATOR, Place.AURORA),
    }
    assert {(s, d, Kind.REQUIRED) for s, d in required} <= pairs
    assert {(s, d, Kind.FORBIDDEN) for s, d in forbidden} <= pairs


def _broken(synth: dict[str, Any], resource_type: str, name_part: str) -> dict[str, Any]:
    """The synthesized stack without the resources of a type whose logical id contains ``name_part``."""
    copy = json.loads(json.dumps(synth))
    copy["resource"][resource_type] = {k: v for k, v in copy["resource"][resource_type].items() if name_part not in k}
    return copy


@pytest.mark.parametrize(
    ("resource_type", "name_part", "flow", "hop"),
    [
        ("aws_route", "rt-public", (Place.ALB, Place.BLUE), "not toward on-prem"),
        ("aws_route", "rt-database", (Place.OPERATOR, Place.AURORA), "return route"),
        ("aws_vpc_security_group_ingress_rule", "aurora-from-operator", (Place.OPERATOR, Place.AURORA), "security group ingress"),
        ("aws_vpc_security_group_egress_rule", "dms-to-endpoints", (Place.DMS, Place.SECRETS_MANAGER), "security group egress"),
        ("aws_vpc_security_group_ingress_rule", "endpoints-from-app", (Place.APP_TASKS, Place.ECR), "security group ingress"),
        (
            "aws_vpc_security_group_ingress_rule",
            "endpoint-from-agent-443",
            (Place.DATASYNC_AGENT, Place.DATASYNC_ENDPOINT),
            "security group ingress",
        ),
        ("aws_vpn_connection_route", "vpn-route", (Place.DMS, Place.ON_PREM_DATABASE), "VPN static route"),
    ],
)
def test_taking_a_piece_of_the_stack_away_breaks_its_flow_at_that_hop(
    phase_synth: Any, resource_type: str, name_part: str, flow: tuple[Place, Place], hop: str
) -> None:
    broken = network_of(_broken(phase_synth("dev", MigrationPhase.CDC), resource_type, name_part))
    results = check(broken, phase_config("dev", MigrationPhase.CDC), MigrationPhase.CDC)
    failing = [r for r in results if (r.flow.source, r.flow.destination) == flow and not r.ok]
    assert failing, f"removing {name_part} should break {flow}"
    assert any(hop in reason for r in failing for reason in r.reasons())


def test_a_forbidden_flow_is_reported_when_the_stack_opens_it(phase_synth: Any) -> None:
    synth = json.loads(json.dumps(phase_synth("dev", MigrationPhase.CDC)))
    rule = next(iter(synth["resource"]["aws_vpc_security_group_ingress_rule"].values()))
    aurora_group = next(k for k in synth["resource"]["aws_security_group"] if "aurora" in k)
    synth["resource"]["aws_vpc_security_group_ingress_rule"]["open"] = {
        **rule,
        "security_group_id": f"${{aws_security_group.{aurora_group}.id}}",
        "cidr_ipv4": "192.168.0.0/16",
        "referenced_security_group_id": None,
        "from_port": 5432,
        "to_port": 5432,
    }
    synth["resource"]["aws_route"]["all-on-prem"] = {
        "route_table_id": next(v["route_table_id"] for k, v in synth["resource"]["aws_route"].items() if "rt-database" in k),
        "destination_cidr_block": "192.168.0.0/16",
        "gateway_id": next(v["gateway_id"] for k, v in synth["resource"]["aws_route"].items() if "rt-database" in k),
    }
    results = check(network_of(synth), phase_config("dev", MigrationPhase.CDC), MigrationPhase.CDC)
    (opened,) = [r for r in results if r.flow.source is Place.ON_PREM_NOT_OPERATOR]
    assert opened.status == "EXISTS" and opened.reasons()[0].startswith("gets through:")


# ----------------------------------------------------------------------------- on-prem DNS (optional)


def _dev_with(**sections: Any) -> Any:
    config = phase_config("dev", MigrationPhase.CDC)
    return dataclasses.replace(config, **{k: dataclasses.replace(getattr(config, k), **v) for k, v in sections.items()})


@pytest.fixture(scope="module")
def with_dns() -> tuple[Any, dict[str, Any]]:
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.synth.cdk import Testing

    config = _dev_with(network={"on_prem_dns_servers": ("192.168.0.2",), "on_prem_domains": ("corp.internal", "corp.lan")})
    return config, json.loads(Testing.synth(MigrationStack(Testing.app(), stack_name(config), config=config)))


def test_on_prem_domains_are_forwarded_to_the_on_prem_dns(with_dns: tuple[Any, dict[str, Any]]) -> None:
    _config, synth = with_dns
    (endpoint,) = resources_of(synth, "aws_route53_resolver_endpoint")
    assert endpoint["direction"] == "OUTBOUND" and len(endpoint["ip_address"]) == 2
    rules = resources_of(synth, "aws_route53_resolver_rule")
    assert sorted(r["domain_name"] for r in rules) == ["corp.internal", "corp.lan"]
    assert all(r["rule_type"] == "FORWARD" and r["target_ip"] == [{"ip": "192.168.0.2", "port": 53}] for r in rules)
    assert len(resources_of(synth, "aws_route53_resolver_rule_association")) == 2


def test_the_resolver_flows_hold(with_dns: tuple[Any, dict[str, Any]]) -> None:
    config, synth = with_dns
    network = network_of(synth)
    assert Role.RESOLVER.value in network.placements
    results = check(network, config, MigrationPhase.CDC)
    resolver = [r for r in results if r.flow.source is Place.RESOLVER]
    assert len(resolver) == 2 and all(r.verdict is not None and r.ok for r in resolver), failures(results)


def test_no_resolver_without_on_prem_dns(phase_synth: Any) -> None:
    assert resources_of(phase_synth("dev", MigrationPhase.CDC), "aws_route53_resolver_endpoint") == []


# ----------------------------------------------------------------------------- the first deploy's DataSync passes


def test_first_pass_creates_the_endpoint_and_what_activation_needs(phase_synth: Any) -> None:
    synth = phase_synth("dev", MigrationPhase.FOUNDATION)
    assert "com.amazonaws.us-east-1.datasync" in [
        e["service_name"] for e in resources_of(synth, "aws_vpc_endpoint") if e["vpc_endpoint_type"] == "Interface"
    ]
    for absent in ("aws_datasync_task", "aws_datasync_location_nfs", "aws_datasync_location_s3", "aws_datasync_agent"):
        assert resources_of(synth, absent) == [], absent
    outputs = synth["output"]
    for name in (
        "datasync_endpoint_id",
        "datasync_endpoint_private_ip",
        "datasync_endpoint_subnet_arn",
        "datasync_endpoint_security_group_arn",
    ):
        assert name in outputs and outputs[name]["description"], name
    assert "datasync_task_arn" not in outputs
    assert "network_interface" in synth["data"]["aws_network_interface"][next(iter(synth["data"]["aws_network_interface"]))]["id"]


def _synth(config: Any) -> dict[str, Any]:
    from inventory_migration.stacks.migration import MigrationStack, stack_name
    from inventory_migration.synth.cdk import Testing

    return json.loads(Testing.synth(MigrationStack(Testing.app(), stack_name(config), config=config)))


def test_second_pass_with_the_agents_arn_adds_locations_and_task() -> None:
    arn = "arn:aws:datasync:us-east-1:210987654321:agent/agent-0a1b2c3d4e5f6a7b8"
    synth = _synth(_dev_with(files={"agent_arn": arn}))
    (nfs,) = resources_of(synth, "aws_datasync_location_nfs")
    assert nfs["on_prem_config"]["agent_arns"] == [arn]
    assert len(resources_of(synth, "aws_datasync_task")) == 1 and "datasync_task_arn" in synth["output"]
    assert resources_of(synth, "aws_datasync_agent") == []


def test_second_pass_with_an_activation_key_activates_the_agent_against_the_endpoint() -> None:
    synth = _synth(_dev_with(files={"agent_activation_key": "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY"}))
    (agent,) = resources_of(synth, "aws_datasync_agent")
    assert agent["vpc_endpoint_id"].startswith("${aws_vpc_endpoint.files_endpoint")
    assert agent["private_link_endpoint"].startswith("${data.aws_network_interface.files_endpoint-interface")
    assert agent["subnet_arns"][0].startswith("arn:${data.aws_partition.partition.partition}:ec2:us-east-1:")


# ----------------------------------------------------------------------------- the VPN's outputs


def test_the_vpn_outputs_what_the_on_prem_device_needs(phase_synth: Any) -> None:
    outputs = phase_synth("dev", MigrationPhase.FOUNDATION)["output"]
    assert outputs["vpn_connection_id"]["value"].startswith("${aws_vpn_connection.network_vpn")
    assert len(outputs["vpn_tunnel_addresses"]["value"]) == 2


# ----------------------------------------------------------------------------- docs/network.md


@pytest.mark.wide
def test_docs_network_md_is_the_generated_matrix(phase_synth: Any) -> None:
    from inventory_migration.devtools.network_report import BEGIN, END, report

    text = (ROOT / "docs" / "network.md").read_text(encoding="utf-8")
    current = text[text.index(BEGIN) : text.index(END) + len(END)]
    expected, problems = report(
        {
            env: (phase_config(env, MigrationPhase.FOUNDATION), {p: phase_synth(env, p) for p in MigrationPhase})
            for env in ("dev", "prod")
        }
    )
    assert problems == []
    assert current == expected, "docs/network.md is stale: run `make network` and paste its output"
