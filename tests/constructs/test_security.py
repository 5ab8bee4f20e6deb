"""The security groups construct (constructs/security.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import resources_of, synth_of
from tests.constructs.build import NAMER

PREFIX_LIST = "pl-s3"


def wiring(**overrides: Any) -> Any:
    from inventory_migration.constructs.security import SecurityGroupsWiring

    values: dict[str, Any] = dict(
        namer=NAMER,
        vpc_id="vpc-1",
        source_addresses=("192.168.20.10",),
        source_port=5433,
        aurora_port=5432,
        app_port=8080,
        alb_ingress_cidrs=("203.0.113.0/24",),
        blue_targets=("192.168.10.11",),
        blue_port=8081,
        replication=True,
        operator_cidrs=("192.168.100.0/24",),
        s3_prefix_list_id=PREFIX_LIST,
    )
    values.update(overrides)
    return SecurityGroupsWiring(**values)


@pytest.fixture
def built(construct_stack: Any) -> Any:
    """The groups with the default wiring, and a function listing one group's rules as (port, peer)."""
    from inventory_migration.constructs.security import SecurityGroups

    sgs = SecurityGroups(construct_stack, "sg", wiring=wiring())
    return sgs, _rules_of(construct_stack, synth_of(construct_stack))


def _ref(stack: Any, group: Any) -> str:
    return f"${{aws_security_group.{stack.get_logical_id(group)}.id}}"


def _rules_of(stack: Any, synth: Any) -> Any:
    def rules(kind: str, group: Any) -> list[tuple[int, str]]:
        found = resources_of(synth, f"aws_vpc_security_group_{kind}_rule")
        return sorted(
            (r["from_port"], r.get("cidr_ipv4") or r.get("referenced_security_group_id") or r["prefix_list_id"])
            for r in found
            if r["security_group_id"] == _ref(stack, group)
        )

    rules.ref = lambda group: _ref(stack, group)  # type: ignore[attr-defined]
    return rules


def test_the_groups_are_named_for_their_parts(construct_stack: Any) -> None:
    from inventory_migration.constructs.security import SecurityGroups

    SecurityGroups(construct_stack, "sg", wiring=wiring())
    names = sorted(g["name"] for g in resources_of(synth_of(construct_stack), "aws_security_group"))
    assert names == [f"secgroup-{part}-dev-t1" for part in ("alb", "app", "aurora", "dms", "endpoints")]


def test_aurora_accepts_the_app_dms_and_the_operators_network_only(built: Any) -> None:
    sgs, rules = built
    assert rules("ingress", sgs.aurora) == sorted(
        [(5432, rules.ref(sgs.app)), (5432, rules.ref(sgs.dms)), (5432, "192.168.100.0/24")]
    )


def test_dms_talks_to_the_source_server_aurora_and_the_endpoints_only(built: Any) -> None:
    sgs, rules = built
    assert rules("egress", sgs.dms) == sorted(
        [(443, rules.ref(sgs.endpoints)), (5432, rules.ref(sgs.aurora)), (5433, "192.168.20.10/32")]
    )


def test_the_load_balancer_accepts_the_clients_and_forwards_to_green_and_blue(built: Any) -> None:
    sgs, rules = built
    assert rules("ingress", sgs.alb) == [(80, "203.0.113.0/24"), (443, "203.0.113.0/24")]
    assert rules("egress", sgs.alb) == sorted([(8080, rules.ref(sgs.app)), (8081, "192.168.10.11/32")])


def test_the_app_talks_to_aurora_the_endpoints_and_s3_only(built: Any) -> None:
    sgs, rules = built
    assert rules("ingress", sgs.app) == [(8080, rules.ref(sgs.alb))]
    assert rules("egress", sgs.app) == sorted(
        [(443, PREFIX_LIST), (443, rules.ref(sgs.endpoints)), (5432, rules.ref(sgs.aurora))]
    )


def test_the_endpoints_accept_https_from_dms_and_the_app_only(built: Any) -> None:
    sgs, rules = built
    assert rules("ingress", sgs.endpoints) == sorted([(443, rules.ref(sgs.app)), (443, rules.ref(sgs.dms))])
    assert rules("egress", sgs.endpoints) == []


def test_an_image_outside_ecr_opens_https_to_the_internet_for_the_app_only(construct_stack: Any) -> None:
    from inventory_migration.constructs.security import SecurityGroups

    sgs = SecurityGroups(construct_stack, "sg", wiring=wiring(external_image_registry="public.ecr.aws"))
    rules = _rules_of(construct_stack, synth_of(construct_stack))
    assert (443, "0.0.0.0/0") in rules("egress", sgs.app)
    assert all(peer != "0.0.0.0/0" for g in (sgs.dms, sgs.alb, sgs.aurora) for _, peer in rules("egress", g))


def test_security_groups_without_replication_drop_the_dms_group(construct_stack: Any) -> None:
    from inventory_migration.constructs.security import SecurityGroups

    sgs = SecurityGroups(construct_stack, "sg", wiring=wiring(replication=False))
    synth = synth_of(construct_stack)
    assert sgs.dms is None
    assert "secgroup-dms-dev-t1" not in {g["name"] for g in resources_of(synth, "aws_security_group")}
    assert not [r for r in resources_of(synth, "aws_vpc_security_group_egress_rule") if r["from_port"] == 5433]
    rules = _rules_of(construct_stack, synth)
    assert rules("ingress", sgs.endpoints) == [(443, rules.ref(sgs.app))]


def test_security_group_wiring_validation() -> None:
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError) as info:
        wiring(source_port=0, alb_ingress_cidrs=("0.0.0.0/0",))
    assert "source_port = 0" in str(info.value) and "opens the load balancer to the internet" in str(info.value)
