"""The security groups construct (constructs/security.py) in a fresh stack."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import resources_of, synth_of
from tests.constructs.build import NAMER


def wiring(**overrides: Any) -> Any:
    from inventory_migration.constructs.security import SecurityGroupsWiring

    values: dict[str, Any] = dict(
        namer=NAMER,
        vpc_id="vpc-1",
        on_prem_cidrs=("192.168.0.0/16",),
        source_port=5433,
        aurora_port=5432,
        app_port=8080,
        alb_ingress_cidrs=(),
        blue_targets=(),
        blue_port=8080,
        replication=True,
        operator_cidrs=(),
    )
    values.update(overrides)
    return SecurityGroupsWiring(**values)


def test_security_groups(construct_stack: Any) -> None:
    from inventory_migration.constructs.security import SecurityGroups

    sgs = SecurityGroups(
        construct_stack,
        "sg",
        wiring=wiring(
            alb_ingress_cidrs=("203.0.113.0/24",),
            blue_targets=("192.168.10.11",),
            blue_port=8081,
            operator_cidrs=("192.168.100.0/24",),
        ),
    )
    synth = synth_of(construct_stack)
    names = sorted(g["name"] for g in resources_of(synth, "aws_security_group"))
    assert names == ["secgroup-alb-dev-t1", "secgroup-app-dev-t1", "secgroup-aurora-dev-t1", "secgroup-dms-dev-t1"]

    def ref(group: Any) -> str:
        return f"${{aws_security_group.{construct_stack.get_logical_id(group)}.id}}"

    def rules(kind: str, group: Any) -> list[tuple[int, str]]:
        found = resources_of(synth, f"aws_vpc_security_group_{kind}_rule")
        return sorted(
            (r["from_port"], r.get("cidr_ipv4") or r["referenced_security_group_id"])
            for r in found
            if r["security_group_id"] == ref(group)
        )

    # Aurora: the app, DMS and the operator's network on-prem (migrationctl), nothing else.
    assert rules("ingress", sgs.aurora) == sorted([(5432, ref(sgs.app)), (5432, ref(sgs.dms)), (5432, "192.168.100.0/24")])
    # DMS: the source on-prem, Aurora, and HTTPS for its endpoints' secrets.
    assert rules("egress", sgs.dms) == sorted([(443, "0.0.0.0/0"), (5432, ref(sgs.aurora)), (5433, "192.168.0.0/16")])
    # The load balancer: 80/443 from the clients only; out only to green (app) and the blue server's port.
    assert rules("ingress", sgs.alb) == [(80, "203.0.113.0/24"), (443, "203.0.113.0/24")]
    assert rules("egress", sgs.alb) == sorted([(8080, ref(sgs.app)), (8081, "192.168.10.11/32")])
    # The app: in only from the load balancer; out to Aurora and HTTPS (AWS APIs, the image registry).
    assert rules("ingress", sgs.app) == [(8080, ref(sgs.alb))]
    assert rules("egress", sgs.app) == sorted([(443, "0.0.0.0/0"), (5432, ref(sgs.aurora))])


def test_security_groups_without_replication_drop_the_dms_group(construct_stack: Any) -> None:
    from inventory_migration.constructs.security import SecurityGroups

    sgs = SecurityGroups(construct_stack, "sg", wiring=wiring(replication=False))
    synth = synth_of(construct_stack)
    assert sgs.dms is None
    assert "secgroup-dms-dev-t1" not in {g["name"] for g in resources_of(synth, "aws_security_group")}
    assert not [r for r in resources_of(synth, "aws_vpc_security_group_egress_rule") if r["from_port"] == 5433]


def test_security_group_wiring_validation() -> None:
    from inventory_migration.constructs.wiring import WiringError

    with pytest.raises(WiringError) as info:
        wiring(on_prem_cidrs=(), source_port=0, alb_ingress_cidrs=("0.0.0.0/0",))
    assert "source_port = 0" in str(info.value) and "opens the load balancer to the internet" in str(info.value)
